"""Public comments (issue 17): Facebook `feed` comment changes and Instagram `comments` / `mentions` parsed into
comment events; replies, private replies and moderation as Graph calls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchboard.channels.instagram import InstagramChannel
from switchboard.channels.messenger import MessengerChannel
from switchboard.errors import PermanentSendError
from switchboard.models import IgnoredEvent, InboundMessage, SendRequest, dedupe_id
from tests.unit.channels import test_messenger
from tests.unit.channels.test_messenger import PAGE, FakeResponse, webhook

calls = test_messenger.calls  # the HTTP session replaced (a fixture)

IG_ID = "17841400000000001"
POST_ID = f"{PAGE}_555"


def feed(**value: Any) -> dict[str, Any]:
    base = {"from": {"id": "USER1", "name": "Ann Example"}, "post_id": POST_ID, "comment_id": f"{POST_ID}_c1",
            "parent_id": POST_ID, "item": "comment", "verb": "add", "created_time": 1760000000,
            "message": "Do you ship to Norway?", "post": {"id": POST_ID, "permalink_url": "https://fb.example/p"}}
    return {"field": "feed", "value": {**base, **value}}


def parse_page(*changes: dict[str, Any]) -> list[Any]:
    body = json.dumps({"object": "page", "entry": [{"id": PAGE, "time": 1760000000123, "changes": list(changes)}]})
    return MessengerChannel().parse(webhook(body))


def parse_ig(*changes: dict[str, Any]) -> list[Any]:
    body = json.dumps({"object": "instagram", "entry": [{"id": IG_ID, "time": 1760000000123,
                                                         "changes": list(changes)}]})
    return InstagramChannel().parse(webhook(body))


def test_a_page_comment_becomes_a_comment_event_of_its_thread():
    (event,) = parse_page(feed())
    assert isinstance(event, InboundMessage)
    assert (event.channel, event.inbox_id, event.sender_id, event.identity) == ("messenger", PAGE, "USER1",
                                                                                "messenger:USER1")
    assert (event.type, event.text, event.sender_name, event.provider_message_id) == (
        "comment", "Do you ship to Norway?", "Ann Example", f"{POST_ID}_c1")
    assert event.comment is not None
    assert (event.comment.id, event.comment.thread_id) == (f"{POST_ID}_c1", f"{POST_ID}_c1")
    assert (event.comment.post.id, event.comment.post.permalink) == (POST_ID, "https://fb.example/p")
    assert event.timestamp == 1760000000
    assert dedupe_id(event) == f"{POST_ID}_c1"  # dedupe on the comment id


def test_a_reply_under_a_comment_joins_that_comment_s_thread():
    (event,) = parse_page(feed(comment_id=f"{POST_ID}_c2", parent_id=f"{POST_ID}_c1", message="me too"))
    assert event.comment.thread_id == f"{POST_ID}_c1"


def test_an_edit_and_a_remove_apply_to_the_stored_comment():
    edit, remove = parse_page(feed(verb="edited", message="Do you ship to Sweden?", created_time=1760000100),
                              feed(verb="remove", message=None))
    assert (edit.edited, edit.text, edit.provider_message_id) == (True, "Do you ship to Sweden?", f"{POST_ID}_c1")
    assert dedupe_id(edit) != dedupe_id(parse_page(feed())[0])  # an edit is an event of its own
    assert (remove.deleted, remove.provider_message_id) == (True, f"{POST_ID}_c1")


def test_the_page_s_own_comments_and_other_feed_changes_are_not_customer_messages():
    events = parse_page(feed(**{"from": {"id": PAGE, "name": "Our Page"}}),
                        {"field": "feed", "value": {"item": "reaction", "verb": "add", "post_id": POST_ID}},
                        {"field": "feed", "value": {"item": "status", "verb": "add", "post_id": POST_ID}},
                        feed(verb="hide"))
    assert all(isinstance(e, IgnoredEvent) for e in events)
    assert [e.reason for e in events] == ["own_comment", "feed_not_comment", "feed_not_comment", "comment_hide"]


def test_instagram_comments_become_comment_events():
    (top, reply) = parse_ig(
        {"field": "comments", "value": {"from": {"id": "IGSID1", "username": "ann.ex"}, "id": "C1", "text": "Love it",
                                        "media": {"id": "MEDIA1", "media_product_type": "FEED"}}},
        {"field": "comments", "value": {"from": {"id": "IGSID2", "username": "bo"}, "id": "C2", "parent_id": "C1",
                                        "text": "+1", "media": {"id": "MEDIA1"}}})
    assert (top.channel, top.inbox_id, top.identity, top.sender_name) == ("instagram", IG_ID, "instagram:IGSID1",
                                                                          "@ann.ex")
    assert (top.comment.id, top.comment.thread_id, top.comment.post.id) == ("C1", "C1", "MEDIA1")
    assert (reply.comment.thread_id, reply.text) == ("C1", "+1")


def test_the_instagram_account_s_own_comment_is_ignored():
    (event,) = parse_ig({"field": "comments", "value": {"from": {"id": IG_ID, "username": "shop"}, "id": "C3",
                                                        "text": "Thanks!", "media": {"id": "MEDIA1"}}})
    assert isinstance(event, IgnoredEvent) and event.reason == "own_comment"


def test_an_instagram_mention_is_a_comment_event_looked_up_later():
    (event,) = parse_ig({"field": "mentions", "value": {"comment_id": "C9", "media_id": "MEDIA9"}})
    assert event.comment.mention and (event.comment.id, event.comment.post.id) == ("C9", "MEDIA9")
    assert event.summary == "Mentioned you in a comment" and event.sender_id == "mention-C9"


def test_messaging_events_beside_comments_are_still_read():
    body = json.dumps({"object": "page", "entry": [{"id": PAGE, "time": 1760000000123, "changes": [feed()],
                                                    "messaging": [{"sender": {"id": "PSID1"}, "recipient": {"id": PAGE},
                                                                   "timestamp": 1760000000123,
                                                                   "message": {"mid": "m_1", "text": "hi"}}]}]})
    events = MessengerChannel().parse(webhook(body))
    assert sorted(e.type for e in events) == ["comment", "text"]


# -- out --------------------------------------------------------------------------------------------------------
def comment_reply(channel: str = "messenger", **extra: Any) -> SendRequest:
    return SendRequest(channel=channel, inbox_id=PAGE if channel == "messenger" else IG_ID, recipient="USER1",
                       text="We do!", comment_id="C1", **extra)


def test_a_public_reply_posts_on_the_thread(calls):
    calls.answer = FakeResponse(200, {"id": "C1_r1"})
    assert MessengerChannel().send(comment_reply(visibility="public")).provider_message_id == "C1_r1"
    assert calls[-1]["url"].endswith("/C1/comments") and calls[-1]["json"] == {"message": "We do!"}
    InstagramChannel().send(comment_reply("instagram", visibility="public"))
    assert calls[-1]["url"].endswith("/C1/replies")


def test_an_instagram_mention_is_answered_on_the_mentions_edge(calls):
    calls.answer = FakeResponse(200, {"id": "M1"})
    InstagramChannel().send(comment_reply("instagram", visibility="public", mention=True, post_id="MEDIA9"))
    assert calls[-1]["url"].endswith(f"/{IG_ID}/mentions")
    assert calls[-1]["json"] == {"comment_id": "C1", "media_id": "MEDIA9", "message": "We do!"}


def test_a_private_reply_is_addressed_to_the_comment(calls):
    calls.answer = FakeResponse(200, {"recipient_id": "PSID9", "message_id": "m_p1"})
    result = MessengerChannel().send(comment_reply(visibility="private"))
    assert (result.provider_message_id, result.recipient_id) == ("m_p1", "PSID9")
    assert calls[-1]["url"].endswith(f"/{PAGE}/messages")
    assert calls[-1]["json"] == {"recipient": {"comment_id": "C1"}, "message": {"text": "We do!"}}


def test_a_reply_accepted_without_an_id_is_not_retried(calls):
    calls.answer = FakeResponse(200, {})
    with pytest.raises(PermanentSendError):
        MessengerChannel().send(comment_reply(visibility="public"))


@pytest.mark.parametrize(("channel", "flag"), [(MessengerChannel, "is_hidden"), (InstagramChannel, "hide")])
def test_hide_unhide_and_delete_are_graph_calls(calls, channel, flag):
    from switchboard.channels import comments

    calls.answer = FakeResponse(200, {"success": True})
    comments.moderate(channel(), "C1", "hide")
    assert (calls[-1]["method"], calls[-1]["json"]) == ("POST", {flag: True})
    comments.moderate(channel(), "C1", "unhide")
    assert calls[-1]["json"] == {flag: False}
    comments.moderate(channel(), "C1", "delete")
    assert calls[-1]["method"] == "DELETE" and calls[-1]["url"].endswith("/C1")


@pytest.mark.parametrize("changes", [True, "x", [1, None, {"field": "feed"}, {"field": "feed", "value": []}],
                                     [{"field": "comments", "value": {"id": 5, "from": "x", "media": []}}]])
def test_comment_changes_of_the_wrong_shape_are_skipped(changes):
    body = json.dumps({"object": "page", "entry": [{"id": PAGE, "changes": changes}]})
    assert MessengerChannel().parse(webhook(body)) == []
    body = json.dumps({"object": "instagram", "entry": [{"id": IG_ID, "changes": changes}]})
    assert InstagramChannel().parse(webhook(body)) == []
