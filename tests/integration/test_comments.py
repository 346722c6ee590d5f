"""Public comments (issue 17) through the webhook, the processor, the API and the sender on moto: a comment thread is
a conversation of kind comment with its post; replies are public or private (once, within 7 days); agents hide,
unhide and delete comments; nothing automated is posted; erasure takes it all."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.integration.test_meta_messaging import PAGE, from_customer, messages, now_ms, post

POST_ID = f"{PAGE}_777"


def comment(comment_id: str, text: str = "Do you ship to Norway?", user: str = "FBUSER1", verb: str = "add",
            parent: str | None = None, created: int | None = None) -> dict[str, Any]:
    return {"id": PAGE, "time": now_ms(), "changes": [{"field": "feed", "value": {
        "from": {"id": user, "name": "Ann Example"}, "post_id": POST_ID, "comment_id": comment_id,
        "parent_id": parent or POST_ID, "item": "comment", "verb": verb, "message": text,
        "created_time": created or int(time.time())}}]}


def comment_conversations(stack) -> list[dict]:
    return [c for c in stack.http("GET", "/api/conversations", role="agent").json()["items"] if c["kind"] == "comment"]


def detail(stack, conv_id: str) -> dict:
    return stack.http("GET", f"/api/conversations/{conv_id}", role="agent").json()


def reply(stack, conv_id: str, **body: Any):
    return stack.http("POST", f"/api/conversations/{conv_id}/messages", {"text": "We do!", **body}, role="agent")


def test_a_page_comment_thread_is_one_comment_conversation_with_its_post(stack):
    c1 = f"{POST_ID}_{uuid.uuid4().hex[:6]}"
    # Given a customer comments under a post, the webhook is redelivered, another customer answers under it, and
    # the Page's own comment comes along
    post(stack, "messenger", comment(c1))
    post(stack, "messenger", comment(c1))
    post(stack, "messenger", comment(f"{c1}_r", "Me too!", user="FBUSER2", parent=c1, created=int(time.time()) + 1))
    post(stack, "messenger", comment(f"{c1}_p", "Yes we do", user=PAGE, parent=c1))
    # Then one comment conversation holds the thread, the post shown with its picture copied into our bucket
    (conv,) = comment_conversations(stack)
    shown = detail(stack, conv["id"])
    assert shown["kind"] == "comment" and shown["post"]["id"] == POST_ID
    assert shown["post"]["permalink"].startswith("https://www.facebook.com/")
    assert "spring collection" in shown["post"]["text"]
    assert "X-Amz-Signature" in (shown["post"]["thumbnail"] or "")
    thread = messages(stack, conv["id"])
    assert [(m["type"], m["text"], m["comment_id"]) for m in thread] == [
        ("comment", "Do you ship to Norway?", c1), ("comment", "Me too!", f"{c1}_r")]
    # Message conversations say they are messages
    post(stack, "messenger", {"id": PAGE, "time": now_ms(), "messaging": [
        from_customer("PSIDMSG1", message={"mid": f"m_{uuid.uuid4().hex}", "text": "hello"})]})
    kinds = {c["kind"] for c in stack.http("GET", "/api/conversations", role="agent").json()["items"]}
    assert kinds == {"comment", "message"}
    # When the customer edits, then removes their comment
    post(stack, "messenger", comment(c1, "Do you ship to Sweden?", verb="edited", created=int(time.time()) + 5))
    assert next(m for m in messages(stack, conv["id"]) if m["comment_id"] == c1)["text"] == "Do you ship to Sweden?"
    post(stack, "messenger", comment(c1, "", verb="remove"))
    first = next(m for m in messages(stack, conv["id"]) if m["comment_id"] == c1)
    assert first["deleted"] and first["text"] == ""


def test_public_then_one_private_reply_and_the_answer_continues_in_messenger(stack):
    c1 = f"{POST_ID}_{uuid.uuid4().hex[:6]}"
    post(stack, "messenger", comment(c1, user="FBUSER3"))
    (conv,) = comment_conversations(stack)
    # A reply must say where it goes; a message conversation cannot be answered publicly
    assert reply(stack, conv["id"]).status == 400
    # Public: on the thread
    assert reply(stack, conv["id"], visibility="public").status == 202
    assert stack.drain("SenderFunction") == 1
    sent = stack.sandbox.outbox[-1]
    assert sent["url"].endswith(f"/{c1}/comments") and sent["body"] == {"message": "We do!"}
    # A duplicate job (an SQS redelivery) never posts it twice
    from switchboard import queue
    from switchboard.models import OutboundJob

    public = next(m for m in messages(stack, conv["id"]) if m["direction"] == "outbound")
    queue.send_outbound(OutboundJob(conversation_id=conv["id"], message_id=public["id"],
                                    created_at=public["created_at"]))
    stack.drain("SenderFunction")
    assert len(stack.sandbox.outbox) == 1
    # Private: one message to the commenter, addressed to the comment
    r = reply(stack, conv["id"], visibility="private", text="Let's sort out the shipping here")
    assert r.status == 202 and r.json()["visibility"] == "private"
    stack.drain("SenderFunction")
    sent = stack.sandbox.outbox[-1]
    assert sent["url"].endswith(f"/{PAGE}/messages") and sent["body"]["recipient"] == {"comment_id": c1}
    assert [m["status"] for m in messages(stack, conv["id"]) if m["direction"] == "outbound"] == ["sent", "sent"]
    # A second private reply to the same comment is refused before anything is queued
    again = reply(stack, conv["id"], visibility="private")
    assert again.status == 409 and again.json()["error"]["code"] == "private_reply_sent"
    assert len(stack.sandbox.outbox) == 2
    # The customer answers in Messenger (from the PSID the private reply reached): the same contact
    post(stack, "messenger", {"id": PAGE, "time": now_ms(), "messaging": [
        from_customer(f"PSID-{c1}", message={"mid": f"m_{uuid.uuid4().hex}", "text": "Thanks, my order is 1234"})]})
    dm = next(c for c in stack.http("GET", "/api/conversations", role="agent").json()["items"]
              if c["kind"] == "message")
    assert dm["contact"]["id"] == conv["contact"]["id"] and dm["channel"] == "messenger"


def test_a_private_reply_the_provider_refuses_gives_the_comment_its_private_reply_back(stack):
    from infra.local.sandbox import Fault

    c1 = f"{POST_ID}_{uuid.uuid4().hex[:6]}"
    post(stack, "messenger", comment(c1, user="FBUSERF"))
    (conv,) = comment_conversations(stack)

    def outbound() -> list[dict]:
        return [m for m in messages(stack, conv["id"]) if m["direction"] == "outbound"]

    # Given Graph refuses the first private reply after it was queued (a 4xx: nothing was delivered)
    stack.sandbox.add_fault("messenger", Fault(status=400, count=1, body={"error": {
        "code": 10900, "message": "Activity already replied to", "type": "OAuthException"}}))
    assert reply(stack, conv["id"], visibility="private", text="First try").status == 202
    stack.drain("SenderFunction")
    (refused,) = outbound()
    assert refused["status"] == "failed" and "10900" in refused["failure_reason"]
    # Then the comment's one private reply is free again: the agent writes another, and it goes out
    assert reply(stack, conv["id"], visibility="private", text="Second try").status == 202
    stack.drain("SenderFunction")
    assert [m["status"] for m in outbound()] == ["failed", "sent"]
    # And the one that went out keeps it: neither a new private reply nor a retry of the refused one is queued
    again = reply(stack, conv["id"], visibility="private")
    assert again.status == 409 and again.json()["error"]["code"] == "private_reply_sent"
    retried = stack.http("POST", f"/api/conversations/{conv['id']}/messages/{refused['id']}/retry", role="agent")
    assert retried.status == 409 and retried.json()["error"]["code"] == "private_reply_sent"
    assert [o["answered"] for o in stack.sandbox.outbox if o["url"].endswith("/messages")] == [400, 200]


def test_a_refused_private_reply_can_be_retried_and_an_unknown_outcome_keeps_the_claim(stack):
    from infra.local.sandbox import Fault

    c1 = f"{POST_ID}_{uuid.uuid4().hex[:6]}"
    post(stack, "messenger", comment(c1, user="FBUSERG"))
    (conv,) = comment_conversations(stack)
    stack.sandbox.add_fault("messenger", Fault(status=400, count=1, body={"error": {"code": 100, "message": "nope"}}))
    assert reply(stack, conv["id"], visibility="private").status == 202
    stack.drain("SenderFunction")
    (refused,) = [m for m in messages(stack, conv["id"]) if m["direction"] == "outbound"]
    assert refused["status"] == "failed"
    # Retry takes the claim again; this time Graph accepts without saying what it sent (the outcome is unknown)
    stack.sandbox.add_fault("messenger", Fault(status=200, count=1, body={"accepted": True}))
    retried = stack.http("POST", f"/api/conversations/{conv['id']}/messages/{refused['id']}/retry", role="agent")
    assert retried.status == 202, retried
    stack.drain("SenderFunction")
    (unknown,) = [m for m in messages(stack, conv["id"]) if m["direction"] == "outbound"]
    assert unknown["status"] == "failed" and "delivery unknown" in unknown["failure_reason"]
    # It may have arrived: the claim stays, so no second private reply goes to that comment
    again = reply(stack, conv["id"], visibility="private")
    assert again.status == 409 and again.json()["error"]["code"] == "private_reply_sent"


def test_a_private_reply_to_another_commenter_in_the_thread_links_that_commenter(stack):
    c1 = f"{POST_ID}_{uuid.uuid4().hex[:6]}"
    post(stack, "messenger", comment(c1, user="FBUSERA"))
    post(stack, "messenger", comment(f"{c1}_b", "Same question", user="FBUSERB", parent=c1))
    (conv,) = comment_conversations(stack)
    second = next(m for m in messages(stack, conv["id"]) if m["comment_id"] == f"{c1}_b")
    assert reply(stack, conv["id"], visibility="private", reply_to=second["id"]).status == 202
    stack.drain("SenderFunction")
    assert stack.sandbox.outbox[-1]["body"]["recipient"] == {"comment_id": f"{c1}_b"}
    post(stack, "messenger", {"id": PAGE, "time": now_ms(), "messaging": [
        from_customer(f"PSID-{c1}_b", message={"mid": f"m_{uuid.uuid4().hex}", "text": "thanks"})]})
    dm = next(c for c in stack.http("GET", "/api/conversations", role="agent").json()["items"]
              if c["kind"] == "message")
    assert dm["contact"]["id"] != conv["contact"]["id"]  # commenter B's contact, not the thread's first commenter
    assert dm["contact"]["display"] == "Ann Example"


def test_a_private_reply_after_seven_days_is_refused(stack):
    c1 = f"{POST_ID}_{uuid.uuid4().hex[:6]}"
    post(stack, "messenger", comment(c1, created=int(time.time()) - 8 * 24 * 3600))
    (conv,) = comment_conversations(stack)
    r = reply(stack, conv["id"], visibility="private")
    assert r.status == 409 and r.json()["error"]["code"] == "private_reply_window_closed"
    assert reply(stack, conv["id"], visibility="public").status == 202  # the thread is answered at any time


def test_message_conversations_take_no_public_visibility(stack):
    post(stack, "messenger", {"id": PAGE, "time": now_ms(), "messaging": [
        from_customer("PSIDVIS", message={"mid": f"m_{uuid.uuid4().hex}", "text": "hi"})]})
    (conv,) = stack.http("GET", "/api/conversations", role="agent").json()["items"]
    r = reply(stack, conv["id"], visibility="public")
    assert r.status == 400 and r.json()["error"]["code"] == "not_a_comment"
    assert reply(stack, conv["id"], visibility="private").status == 202


def test_agents_hide_unhide_and_delete_comments_audited(stack):
    c1 = f"{POST_ID}_{uuid.uuid4().hex[:6]}"
    post(stack, "messenger", comment(c1, "BUY CHEAP WATCHES"))
    (conv,) = comment_conversations(stack)
    (msg,) = messages(stack, conv["id"])
    url = f"/api/conversations/{conv['id']}/messages/{msg['id']}/moderate"
    hidden = stack.http("POST", url, {"action": "hide"}, role="agent")
    assert hidden.status == 200 and hidden.json()["hidden"] is True
    assert stack.sandbox.outbox[-1]["url"].endswith(f"/{c1}") and stack.sandbox.outbox[-1]["body"] == {"is_hidden": True}
    assert stack.http("POST", url, {"action": "unhide"}, role="agent").json()["hidden"] is False
    deleted = stack.http("POST", url, {"action": "delete"}, role="agent").json()
    assert deleted["deleted"] and deleted["moderation"]["action"] == "delete"
    assert stack.sandbox.outbox[-1]["method"] == "DELETE"
    assert stack.http("POST", url, {"action": "bogus"}, role="agent").status in (400, 422)
    audit = stack.http("GET", "/api/audit", role="admin").json()["items"]
    assert sum(1 for a in audit if a["action"] == "message.moderate") == 3
    # A message conversation's message is not a comment
    post(stack, "messenger", {"id": PAGE, "time": now_ms(), "messaging": [
        from_customer("PSIDMOD", message={"mid": f"m_{uuid.uuid4().hex}", "text": "hi"})]})
    dm = next(c for c in stack.http("GET", "/api/conversations", role="agent").json()["items"]
              if c["kind"] == "message")
    (plain,) = messages(stack, dm["id"])
    r = stack.http("POST", f"/api/conversations/{dm['id']}/messages/{plain['id']}/moderate", {"action": "hide"},
                   role="agent")
    assert r.status == 400 and r.json()["error"]["code"] == "not_a_comment"


def test_moderation_the_provider_cannot_do_now_is_a_502_and_a_refusal_a_409(stack, monkeypatch):
    from infra.local.sandbox import Fault
    from tests.conftest import reset_caches

    c1 = f"{POST_ID}_{uuid.uuid4().hex[:6]}"
    post(stack, "messenger", comment(c1, "BUY CHEAP WATCHES"))
    (conv,) = comment_conversations(stack)
    (msg,) = messages(stack, conv["id"])
    url = f"/api/conversations/{conv['id']}/messages/{msg['id']}/moderate"
    # Graph fails (5xx, with a Retry-After): 502, the client tries again; nothing recorded
    stack.sandbox.add_fault("messenger", Fault(status=500, count=1, retry_after=7))
    failed = stack.http("POST", url, {"action": "hide"}, role="agent")
    assert failed.status == 502 and failed.json()["error"]["code"] == "provider_unavailable"
    assert failed.headers.get("Retry-After") == "7"
    assert messages(stack, conv["id"])[0]["hidden"] is False
    # Graph refuses (4xx): a 409 that says so
    stack.sandbox.add_fault("messenger", Fault(status=400, count=1, body={"error": {
        "code": 100, "message": "Unsupported post request", "type": "GraphMethodException"}}))
    refused = stack.http("POST", url, {"action": "hide"}, role="agent")
    assert refused.status == 409 and refused.json()["error"]["code"] == "moderation_failed"
    assert "Unsupported post request" in refused.json()["error"]["message"]
    # Graph out of reach (nothing listens where it should be): 502 again
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setenv("MESSENGER_API_BASE_URL", f"http://127.0.0.1:{closed}/v21.0")
    monkeypatch.setenv("HTTP_MAX_RETRIES", "0")
    reset_caches()
    unreachable = stack.http("POST", url, {"action": "hide"}, role="agent")
    assert unreachable.status == 502 and unreachable.json()["error"]["code"] == "provider_unavailable"
    # Back in reach, the client's retry hides it
    monkeypatch.setenv("MESSENGER_API_BASE_URL", stack.sandbox.channel_base("messenger") + "/v21.0")
    reset_caches()
    hidden = stack.http("POST", url, {"action": "hide"}, role="agent")
    assert hidden.status == 200 and hidden.json()["hidden"] is True
    assert [o["answered"] for o in stack.sandbox.outbox if o["method"] == "POST"] == [500, 400, 200]


def test_no_greeting_or_away_message_is_posted_on_a_comment_thread(stack):
    settings = {"greeting": {"enabled": True, "text": "Hi, welcome"},
                "away": {"enabled": True, "text": "We are away"}}
    assert stack.http("PUT", "/api/settings", settings, role="admin").status == 200
    post(stack, "messenger", comment(f"{POST_ID}_{uuid.uuid4().hex[:6]}", user="FBUSERG"))
    stack.drain("SenderFunction")
    (conv,) = comment_conversations(stack)
    assert [m for m in messages(stack, conv["id"]) if m["direction"] == "outbound"] == []
    assert stack.sandbox.outbox == []


def test_instagram_comments_and_mentions(stack):
    def ig(field: str, value: dict) -> dict:
        return {"id": PAGE, "time": now_ms(), "changes": [{"field": field, "value": value}]}

    post(stack, "instagram", ig("comments", {"from": {"id": "IGSIDC1", "username": "ann.ex"}, "id": "IGC1",
                                             "text": "Love it", "media": {"id": "MEDIA1"}}))
    post(stack, "instagram", ig("mentions", {"comment_id": "IGC9", "media_id": "MEDIA9"}))
    convs = {c["contact"]["display"]: c for c in comment_conversations(stack)}
    assert set(convs) == {"@ann.ex", "@mia.mention"}
    mention = detail(stack, convs["@mia.mention"]["id"])
    assert mention["mention"] and mention["post"]["permalink"].startswith("https://www.instagram.com/")
    assert messages(stack, mention["id"])[0]["text"].startswith("Look what I got")
    assert reply(stack, convs["@ann.ex"]["id"], visibility="public").status == 202
    assert reply(stack, mention["id"], visibility="public").status == 202
    stack.drain("SenderFunction")
    urls = sorted(o["url"].rsplit("/", 2)[-2] + "/" + o["url"].rsplit("/", 1)[-1] for o in stack.sandbox.outbox)
    assert urls == sorted([f"{PAGE}/mentions", "IGC1/replies"])


def test_erasure_takes_comment_conversations_and_their_post_picture(stack):
    c1 = f"{POST_ID}_{uuid.uuid4().hex[:6]}"
    post(stack, "messenger", comment(c1, "My address is 1 Secret Lane", user="FBUSERE"))
    (conv,) = comment_conversations(stack)
    assert reply(stack, conv["id"], visibility="private").status == 202
    stack.drain("SenderFunction")
    exported = stack.http("GET", f"/api/contacts/{conv['contact']['id']}/export", role="admin").json()
    assert "1 Secret Lane" in str(exported)
    assert stack.http("DELETE", f"/api/contacts/{conv['contact']['id']}", role="admin").status == 200
    assert not [i for i in stack.items("") if "Secret Lane" in str(i)]
    assert not stack.items("COMMENTTHREAD#") and not stack.items("PRIVATEREPLY#")
    bucket = stack.resolver.refs["MediaBucket"]
    assert not [o["Key"] for o in stack.clients["s3"].list_objects_v2(Bucket=bucket).get("Contents", [])
                if conv["id"] in o["Key"]]


def test_retention_deletes_a_comment_thread_and_its_post_picture(stack):
    from switchboard import clock
    from tests.integration.test_automation import run, settings

    settings(stack, {"retention": {"default_days": 30, "channels": {"messenger": 30}}})
    c1 = f"{POST_ID}_{uuid.uuid4().hex[:6]}"
    post(stack, "messenger", comment(c1, user="FBUSERR"))
    (conv,) = comment_conversations(stack)
    bucket = stack.resolver.refs["MediaBucket"]
    assert stack.clients["s3"].list_objects_v2(Bucket=bucket, Prefix=f"media/{conv['id']}/").get("KeyCount") == 1
    clock.advance(31 * 86400)
    assert run(stack, "RetentionFunction")["conversations"] == 1
    assert comment_conversations(stack) == []
    assert stack.clients["s3"].list_objects_v2(Bucket=bucket, Prefix=f"media/{conv['id']}/").get("KeyCount") == 0
    assert not stack.items("COMMENTTHREAD#")
    # A new comment on the thread after that starts a new conversation (the pointer went with the old one)
    post(stack, "messenger", comment(f"{c1}_later", "Still there?", user="FBUSERR", parent=c1,
                                     created=int(clock.now().timestamp())))
    (again,) = comment_conversations(stack)
    assert again["id"] != conv["id"]


def test_a_commenter_who_wrote_to_the_page_before_is_one_contact_after_the_private_reply(stack):
    c1 = f"{POST_ID}_{uuid.uuid4().hex[:6]}"
    # Given a customer wrote to the Page in Messenger before (their PSID is a contact already)
    post(stack, "messenger", {"id": PAGE, "time": now_ms(), "messaging": [
        from_customer(f"PSID-{c1}", message={"mid": f"m_{uuid.uuid4().hex}", "text": "hello"})]})
    (dm,) = [c for c in stack.http("GET", "/api/conversations", role="agent").json()["items"] if c["kind"] == "message"]
    # and then comments under a post, under the id Facebook gives commenters: a contact of its own
    post(stack, "messenger", comment(c1, user="FBUSERC"))
    (conv,) = comment_conversations(stack)
    assert conv["contact"]["id"] != dm["contact"]["id"]
    # When the agent answers privately and Meta says the reply reached that PSID
    assert reply(stack, conv["id"], visibility="private").status == 202
    stack.drain("SenderFunction")
    # Then the two are one contact: the Messenger one, which the comment thread now belongs to, found by both ids
    assert detail(stack, conv["id"])["contact"]["id"] == dm["contact"]["id"]
    assert stack.http("GET", f"/api/contacts/{conv['contact']['id']}", role="agent").status == 404
    # and a rerun of the send step (an SQS redelivery) merges nothing twice and fails nothing
    from switchboard.services import comments
    from switchboard.store import conversations, rich_replies
    from switchboard.store.table import Table

    table = Table()
    moved = conversations.require(table, conv["id"])
    sent = next(m for m in messages(stack, conv["id"]) if m["direction"] == "outbound")
    message = rich_replies.find_message(table, conv["id"], sent["id"])
    assert message is not None
    comments.after_private_reply(table, moved, message, f"PSID-{c1}")
    assert detail(stack, conv["id"])["contact"]["id"] == dm["contact"]["id"]
    post(stack, "messenger", comment(f"{c1}_2", "and another", user="FBUSERC", parent=c1))
    assert detail(stack, conv["id"])["contact"]["id"] == dm["contact"]["id"]
