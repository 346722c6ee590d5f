"""Comment threads (issue 17), services/comments.py on the template's table in moto: a thread's conversation is
found or started from one read of its pointer; moderation failures answered as the client should act on them."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard import clock
from switchboard.errors import PermanentSendError, RetryableSendError, SwitchboardError
from switchboard.models import CommentRef, Contact, InboundMessage, Post
from switchboard.services import comments
from switchboard.store import keys
from switchboard.store.table import Table
from tests.support.dynamodb import template_table

PAGE, THREAD = "PAGE1", "PAGE1_777_c1"


@pytest.fixture
def table(settings_env):
    settings_env(POWERTOOLS_METRICS_NAMESPACE="Switchboard/test")  # as in Lambda: counts have a namespace
    with template_table():
        yield Table()


def event(comment_id: str = THREAD) -> InboundMessage:
    # The post complete (permalink, text, picture): nothing is read from the Graph API
    post = Post(id="PAGE1_777", permalink="https://www.facebook.com/PAGE1_777", text="Spring",
                thumbnail_url="https://x/p.png")
    return InboundMessage(channel="messenger", provider_message_id=comment_id, inbox_id=PAGE, sender_id="FBUSER1",
                          identity="messenger:FBUSER1", type="comment", text="Do you ship?",
                          timestamp=clock.now().timestamp(),
                          comment=CommentRef(id=comment_id, thread_id=THREAD, post=post))


def contact() -> Contact:
    return Contact(id="ct_1", created_at=clock.iso(clock.now()))


def pointer_reads(table: Table, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every read of the thread's pointer item, as it happens."""
    pointer = keys.comment_thread("messenger", PAGE, THREAD)
    reads: list[dict[str, Any]] = []
    original = Table.get

    def get(self: Table, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if key == pointer:
            reads.append(key)
        return original(self, key, *args, **kwargs)

    monkeypatch.setattr(Table, "get", get)
    return reads


def test_a_new_thread_reads_its_pointer_once_and_a_later_comment_finds_its_conversation(table, monkeypatch):
    # Given a thread nobody has commented on yet
    reads = pointer_reads(table, monkeypatch)
    # When its first comment arrives
    conv = comments.thread(table, event(), contact(), None)
    # Then its conversation is started (kind comment, with the post) from one read of the pointer
    assert (conv.kind, conv.comment_thread, conv.post.id if conv.post else None) == ("comment", THREAD, "PAGE1_777")
    assert len(reads) == 1
    # And a reply in the thread finds the same conversation, again with one read
    again = comments.thread(table, event(f"{THREAD}_r"), contact(), None)
    assert again.id == conv.id and len(reads) == 2


@pytest.mark.parametrize(("raised", "status", "code", "retry_after"), [
    (RetryableSendError("messenger HTTP 503", retry_after=3.5), 502, "provider_unavailable", 3.5),
    (PermanentSendError("delivery outcome unknown", outcome_unknown=True), 502, "provider_unavailable", None),
    (PermanentSendError("messenger error 100: Unsupported post request"), 409, "moderation_failed", None),
])
def test_moderation_failures_are_a_502_to_retry_or_a_409_refusal(monkeypatch, settings_env, raised, status, code,
                                                                 retry_after):
    # A hide the provider could not do now (out of reach, 5xx, no answer in time: safe to repeat) is a 502; a
    # refusal is a 409 with the provider's reason
    settings_env(POWERTOOLS_METRICS_NAMESPACE="Switchboard/test")

    def moderate(channel: Any, comment_id: str, action: str) -> None:
        raise raised

    monkeypatch.setattr(comments.channel_comments, "moderate", moderate)
    with pytest.raises(SwitchboardError) as failed:
        comments._moderate_at_provider("messenger", "C1", "hide")
    assert (failed.value.status, failed.value.code) == (status, code)
    assert getattr(failed.value, "retry_after", None) == retry_after
