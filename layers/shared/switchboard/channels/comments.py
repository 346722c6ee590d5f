"""Public comments (issue 17): Facebook Page `feed` comment changes and Instagram `comments` / `mentions` webhook
fields in; Graph replies on the thread, one private reply, hide/unhide/delete out. Shared by Messenger and Instagram
(same app, same signature, same endpoints)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from switchboard import clock
from switchboard.channels import http
from switchboard.channels.fields import as_dict as _dict
from switchboard.channels.fields import as_list as _list
from switchboard.channels.fields import as_str as _str
from switchboard.channels.fields import meta_seconds as _seconds
from switchboard.channels.meta import graph_segment
from switchboard.errors import PermanentSendError
from switchboard.models import Attachment, CommentRef, IgnoredEvent, InboundMessage, Post, SendRequest, SendResult

if TYPE_CHECKING:
    from switchboard.channels.messenger import MessengerChannel

# The webhook fields that carry comments, per channel.
FIELDS = {"messenger": frozenset({"feed"}), "instagram": frozenset({"comments", "mentions"})}
PRIVATE_REPLY_SECONDS = 7 * 24 * 3600  # Meta: one private reply per comment, within 7 days of it
MODERATIONS = ("hide", "unhide", "delete")


def parse_entry(channel: MessengerChannel, entry: dict[str, Any]) -> list[InboundMessage | IgnoredEvent]:
    """The comment events of one webhook entry (other `changes` are not comments: left to the caller)."""
    fields = FIELDS.get(channel.name, frozenset())
    owner = _str(entry.get("id"))
    when = _seconds(entry.get("time"))
    events: list[InboundMessage | IgnoredEvent] = []
    for change in _list(entry.get("changes")):
        change = _dict(change)
        field = _str(change.get("field"))
        value = _dict(change.get("value"))
        if field not in fields or not value or not owner:
            continue
        if field == "feed":
            event = _facebook(channel.name, owner, value, when)
        elif field == "comments":
            event = _instagram(channel.name, owner, value, when)
        else:
            event = _mention(channel.name, owner, value, when)
        if event is not None:
            events.append(event)
    return events


def _ignored(channel: str, reason: str) -> IgnoredEvent:
    return IgnoredEvent(channel=channel, reason=reason)


def _facebook(channel: str, page: str, value: dict[str, Any], when: float | None) -> InboundMessage | IgnoredEvent | None:
    """A Page feed change: only comments are ours (posts, reactions, shares are counted and left)."""
    if _str(value.get("item")) != "comment":
        return _ignored(channel, "feed_not_comment")
    comment_id, post_id = _str(value.get("comment_id")), _str(value.get("post_id"))
    sender = _dict(value.get("from"))
    sender_id = _str(sender.get("id"))
    if not comment_id or not post_id or not sender_id:
        return None
    if sender_id == page:  # the Page's own comment (an answer written on Facebook, or ours): not the customer
        return _ignored(channel, "own_comment")
    verb = _str(value.get("verb")) or "add"
    if verb not in ("add", "edited", "remove"):  # hide / unhide by the Page: our own moderation's echo
        return _ignored(channel, f"comment_{verb}" if verb in ("hide", "unhide") else "comment_verb")
    parent = _str(value.get("parent_id"))
    thread = parent if parent and parent != post_id else comment_id  # Facebook threads are two levels deep
    post_info = _dict(value.get("post"))
    post = Post(id=post_id, permalink=_str(post_info.get("permalink_url")), text=_str(post_info.get("message")))
    ts = _seconds(value.get("created_time")) or when or clock.now().timestamp()
    photo = _str(value.get("photo"))
    return _message(channel, page, comment_id, sender_id, _str(sender.get("name")), _str(value.get("message")) or "",
                    ts, CommentRef(id=comment_id, thread_id=thread, post=post), verb=verb,
                    attachments=[Attachment(kind="image", url=photo)] if photo and photo.startswith("https://") else [])


def _instagram(channel: str, account: str, value: dict[str, Any],
               when: float | None) -> InboundMessage | IgnoredEvent | None:
    comment_id = _str(value.get("id"))
    sender = _dict(value.get("from"))
    sender_id = _str(sender.get("id"))
    media = _dict(value.get("media"))
    media_id = _str(media.get("id"))
    if not comment_id or not sender_id or not media_id:
        return None
    if sender_id == account:  # the business's own comment
        return _ignored(channel, "own_comment")
    handle = _str(sender.get("username"))
    ts = _seconds(value.get("timestamp")) or when or clock.now().timestamp()
    ref = CommentRef(id=comment_id, thread_id=_str(value.get("parent_id")) or comment_id,
                     post=Post(id=media_id, permalink=_str(media.get("permalink")), text=_str(media.get("caption"))))
    return _message(channel, account, comment_id, sender_id, f"@{handle}" if handle else None,
                    _str(value.get("text")) or "", ts, ref)


def _mention(channel: str, account: str, value: dict[str, Any], when: float | None) -> InboundMessage | None:
    """The business was @mentioned in a comment on someone else's post: Instagram sends the ids only; who wrote it
    and what is looked up when it is processed (services/comments.enrich)."""
    comment_id, media_id = _str(value.get("comment_id")), _str(value.get("media_id"))
    if not comment_id or not media_id:
        return None
    ts = when or clock.now().timestamp()
    ref = CommentRef(id=comment_id, thread_id=comment_id, post=Post(id=media_id), mention=True)
    sender = _str(_dict(value.get("from")).get("id")) or f"mention-{comment_id}"
    return _message(channel, account, comment_id, sender, None, _str(value.get("text")) or "", ts, ref,
                    summary=None if _str(value.get("text")) else "Mentioned you in a comment")


def _message(channel: str, inbox: str, comment_id: str, sender: str, name: str | None, text: str, ts: float,
             ref: CommentRef, verb: str = "add", attachments: list[Attachment] | None = None,
             summary: str | None = None) -> InboundMessage:
    fields: dict[str, Any] = {}
    if verb == "edited":
        fields = {"edited": True, "event_id": f"{comment_id}#edit#{ts}"}
    elif verb == "remove":
        fields = {"deleted": True}
    return InboundMessage(channel=channel, provider_message_id=comment_id, inbox_id=inbox, sender_id=sender,
                          identity=f"{channel}:{sender}", sender_name=name, type="comment", text=text,
                          timestamp=ts, comment=ref, attachments=attachments or [],
                          summary=summary if not text else None, **fields)


# -- out: Graph calls --------------------------------------------------------------------------------------------
def _segment(value: str, what: str) -> str:
    try:
        return graph_segment(value)
    except ValueError:
        raise PermanentSendError(f"{what} is not a Graph id") from None


def send(channel: MessengerChannel, request: SendRequest) -> SendResult:
    """A reply to a comment: on its thread (public), or one private message to the commenter (private)."""
    channel._check_text(request.text)
    base = channel._api_base_url()
    comment = _segment(request.comment_id or "", "the comment id")
    if request.visibility == "private":  # Meta's private reply: the Send API, addressed to the comment
        url = f"{base}/{_segment(request.inbox_id, 'the inbox id')}/messages"
        body: dict[str, Any] = {"recipient": {"comment_id": request.comment_id}, "message": {"text": request.text}}
        key = "message_id"
    elif channel.name == "instagram" and request.mention:  # answering a mention on someone else's post
        url = f"{base}/{_segment(request.inbox_id, 'the inbox id')}/mentions"
        body = {"comment_id": request.comment_id, "media_id": request.post_id, "message": request.text}
        key = "id"
    else:
        url = f"{base}/{comment}/{'replies' if channel.name == 'instagram' else 'comments'}"
        body, key = {"message": request.text}, "id"
    response = http.request("POST", url, json=body, headers=channel._auth())
    if response.status_code >= 400:
        channel.graph_error(response)
    try:
        data = _dict(response.json())
    except ValueError:
        data = {}
    provider_id = _str(data.get(key))
    if not provider_id:  # accepted (2xx) without an id: a retry could post it twice
        raise PermanentSendError("the Graph API accepted the reply without an id: delivery unknown",
                                 outcome_unknown=True)
    recipient = _str(data.get("recipient_id"))
    return SendResult(provider_message_id=provider_id, recipient_id=recipient)


def moderate(channel: MessengerChannel, comment_id: str, action: str) -> None:
    """Hide, unhide (Graph POST /{comment-id}: Facebook `is_hidden`, Instagram `hide`) or delete (DELETE)."""
    url = f"{channel._api_base_url()}/{_segment(comment_id, 'the comment id')}"
    if action == "delete":
        response = http.request("DELETE", url, headers=channel._auth())
    else:
        flag = "hide" if channel.name == "instagram" else "is_hidden"
        response = http.request("POST", url, json={flag: action == "hide"}, headers=channel._auth())
    if response.status_code >= 400:
        channel.graph_error(response)


POST_FIELDS = {"messenger": "permalink_url,message,full_picture",
               "instagram": "permalink,caption,media_url,thumbnail_url,media_type"}


def fetch_post(channel: MessengerChannel, post_id: str) -> Post | None:
    """The post's permalink, text and picture (Graph GET). None when it cannot be read: the thread shows the id."""
    found = _get(channel, post_id, POST_FIELDS.get(channel.name, "permalink"))
    if found is None:
        return None
    if channel.name == "instagram":
        return Post(id=post_id, permalink=_str(found.get("permalink")), text=_str(found.get("caption")),
                    thumbnail_url=_str(found.get("thumbnail_url")) or _str(found.get("media_url")))
    return Post(id=post_id, permalink=_str(found.get("permalink_url")), text=_str(found.get("message")),
                thumbnail_url=_str(found.get("full_picture")))


def fetch_comment(channel: MessengerChannel, comment_id: str) -> dict[str, Any] | None:
    """A mentioned comment's author and text (Instagram sends only its id)."""
    return _get(channel, comment_id, "text,username,timestamp,from")


def _get(channel: MessengerChannel, graph_id: str, fields: str) -> dict[str, Any] | None:
    import requests

    from switchboard.errors import RetryableSendError, SwitchboardError

    try:
        url = f"{channel._api_base_url()}/{_segment(graph_id, 'the id')}"
        response = http.request("GET", url, params={"fields": fields}, headers=channel._auth(), timeout=(2.0, 3.0))
    except (RetryableSendError, SwitchboardError, requests.RequestException):
        return None
    if response.status_code >= 400:
        return None
    try:
        return _dict(response.json()) or None
    except ValueError:
        return None
