"""Entry links and attribution: admins create named links per channel (wa.me, m.me, t.me, ig.me, the chat widget's
data-source) with a QR code and an HTML snippet; a conversation's first inbound message is matched to its link, an
ad, or the web page the widget ran on, and becomes the conversation's `source`."""

from __future__ import annotations

import html
import io
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from switchboard import clock
from switchboard.channels import referrals
from switchboard.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from switchboard.settings import get_settings
from switchboard.store import conversations, links, metrics, reports
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import Conversation, Referral, Source

LINK_CHANNELS = ("whatsapp", "messenger", "telegram", "instagram", "webchat")
TARGET_SETTING = {"whatsapp": "WhatsAppBusinessNumber", "messenger": "MessengerPageName",
                  "telegram": "TelegramBotUsername", "instagram": "InstagramAccount", "webchat": "WebchatPageUrl"}
CHANNEL_NAMES = {"whatsapp": "WhatsApp", "messenger": "Messenger", "telegram": "Telegram", "instagram": "Instagram",
                 "webchat": "our website"}
DEFAULT_TEXT = "Hello!"


def link_id_of(ref: str) -> str:
    """A link's id follows from its reference (sb_xxxxxxxx -> lk_xxxxxxxx): attribution needs no look-up table."""
    return "lk_" + ref.removeprefix("sb_")


def link_url(channel: str, ref: str, text: str | None) -> str:
    target = get_settings().link_target(channel).strip()
    if not target:
        raise Conflict(f"{channel} links need the {TARGET_SETTING[channel]} parameter set", code="not_configured")
    if channel == "whatsapp":
        number = "".join(c for c in target if c.isdigit())
        query = urlencode({"text": referrals.text_with_ref(text or DEFAULT_TEXT, ref)}, quote_via=quote)
        return f"https://wa.me/{number}?{query}"
    if channel == "messenger":
        return f"https://m.me/{quote(target, safe='.')}?ref={ref}"
    if channel == "telegram":
        return f"https://t.me/{quote(target.lstrip('@'), safe='')}?start={ref}"
    if channel == "instagram":
        return f"https://ig.me/m/{quote(target.lstrip('@'), safe='.')}?ref={ref}"
    return f"{target}{'&' if urlsplit(target).query else '?'}sb_ref={ref}"


def snippet(link: dict[str, Any]) -> str:
    """HTML to paste into a website's header or an email signature."""
    url = html.escape(link["url"], quote=True)
    label = html.escape(f"Chat with us on {CHANNEL_NAMES.get(link['channel'], link['channel'])}")
    anchor = f'<a href="{url}" target="_blank" rel="noopener">{label}</a>'
    if link["channel"] != "webchat":
        return anchor
    settings = get_settings()
    api = html.escape(settings.public_base_url.rstrip("/"), quote=True)
    app = html.escape(settings.frontend_origin.rstrip("/"), quote=True) if settings.stage != "local" else api
    ref = html.escape(link["ref"], quote=True)
    return (f'<script src="{app or api}/widget.js" data-api="{api}" data-source="{ref}" defer></script>\n'
            f"<!-- or, in an email signature: -->\n{anchor}")


def view(link: dict[str, Any]) -> dict[str, Any]:
    return {**link, "snippet": snippet(link)}


def create(table: Table, name: str, channel: str, text: str | None, by: str) -> dict[str, Any]:
    if channel not in LINK_CHANNELS:
        raise BadRequest(f"channel must be one of {', '.join(LINK_CHANNELS)}", code="invalid_channel")
    for _attempt in range(5):
        ref = referrals.new_ref()
        link = {"id": link_id_of(ref), "ref": ref, "name": name, "channel": channel, "text": text or None,
                "url": link_url(channel, ref, text), "created_at": clock.iso(clock.now()), "created_by": by}
        if links.put(table, link):
            return view({k: v for k, v in link.items() if v is not None})
    raise ServiceUnavailable("no free link reference: try again")


def get(table: Table, link_id: str) -> dict[str, Any]:
    link = links.get(table, link_id)
    if link is None:
        raise NotFound(f"link {link_id} not found")
    return view(link)


def list_all(table: Table) -> list[dict[str, Any]]:
    return [view(link) for link in links.list_all(table)]


def delete(table: Table, link_id: str) -> None:
    """Conversations keep the source they came with; new ones through the link are no longer matched to it."""
    if not links.delete(table, link_id):
        raise NotFound(f"link {link_id} not found")


def qr_code(url: str, kind: str) -> tuple[bytes, str]:
    """The link's QR code as SVG (screens) or PNG (print). segno is imported here, not with the API."""
    import segno

    code = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    if kind == "svg":
        code.save(out, kind="svg", scale=8, border=4, xmldecl=False, title="QR code")
        return out.getvalue(), "image/svg+xml"
    code.save(out, kind="png", scale=12, border=4)
    return out.getvalue(), "image/png"


# -- attribution ----------------------------------------------------------------------------------------------------
def source_for(table: Table, referral: Referral) -> Source:
    """What a referral says, matched to one of our links when its reference is one."""
    from switchboard.models import Source

    link = None
    if referral.ref and referrals.REF.fullmatch(referral.ref):
        link = links.get(table, link_id_of(referral.ref))
    if link:
        label = link.get("name")
    elif referral.ad:
        label = "Ad: " + (referral.ad.headline or referral.ad.id or "unnamed") if referral.ad.kind == "ad" \
            else "Post: " + (referral.ad.headline or referral.ad.id or "unnamed")
    elif referral.page_url:
        parts = urlsplit(referral.page_url)
        label = f"{parts.hostname}{parts.path if parts.path != '/' else ''}"
    else:
        label = f"ref {referral.ref}"
    return Source(**referral.model_dump(), link_id=link["id"] if link else None, label=(label or "")[:120] or None)


def metric_name(source: Source) -> str:
    """The daily aggregate's counter for a source. Bounded by what admins and Meta create (links, ads): a page or a
    reference nobody made is counted under one name, so nobody can grow the day's item at will."""
    if source.link_id:
        return f"source_link:{source.link_id}"
    if source.ad and source.ad.id:
        return f"source_ad:{source.ad.id[:100]}"
    if source.page_url:
        return "source_page"
    return "source_other"


def attribute(table: Table, conv: Conversation, referral: Referral | None) -> Source | None:
    """A new conversation's first inbound message: its source, set once (a redelivery changes nothing, and a later
    message never replaces it), listed under its link and counted on the day the conversation opened."""
    if referral is None or conv.source is not None:
        return None
    source = source_for(table, referral)
    if not links.set_source(table, conv.id, source.model_dump(mode="json", exclude_none=True)):
        return None
    if source.link_id:
        links.add_conversation(table, source.link_id, conv.created_at, conv.id)
    metrics.record(table, conv.created_at[:10], {metric_name(source): 1})
    reports.attributed(table, conv, source)  # reports: by source
    return source


def conversations_from(table: Table, link_id: str, limit: int, cursor: str | None
                       ) -> tuple[list[Conversation], str | None]:
    """The inbox filtered by source: the link's conversations, newest first (one Query, one BatchGetItem)."""
    ids, next_cursor = links.conversation_ids(table, link_id, limit, cursor)
    found = {c.id: c for c in conversations.many(table, ids) if conversations.live(c.model_dump())}
    return [found[i] for i in ids if i in found], next_cursor
