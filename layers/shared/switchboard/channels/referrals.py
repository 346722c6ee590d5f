"""Where a customer came from, as the channels tell it: an entry link's reference (in a WhatsApp pre-filled text, a
Messenger or Instagram `referral.ref`, a Telegram `/start` payload), a Click-to-WhatsApp or Click-to-Messenger ad, or
the web page the chat widget ran on. Parsers fill `InboundMessage.referral` with these; the reference never stays in
the customer's text."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from switchboard.channels.fields import as_dict, as_str

if TYPE_CHECKING:
    from switchboard.models import Referral

# Our references: "sb_" and 8 lower-case letters or digits. Fit for a t.me start payload (A-Z a-z 0-9 _ -), an m.me
# or ig.me ref, and a WhatsApp pre-filled text, where they read "(ref sb_k7qf2mxa)".
REF_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no l, o, 0, 1: a reference may be read out or typed
REF = re.compile(r"sb_[a-z0-9]{8}")
# In a customer's text: the reference with the "(ref ...)" around it that the link put there, if still there.
_IN_TEXT = re.compile(r"\s*[(\[]?\s*(?:ref[:\s]\s*)?\b(sb_[a-z0-9]{8})\b\s*[)\]]?", re.IGNORECASE)
MAX_REF = 64  # Telegram's start payload limit; other channels' refs are cut to it
MAX_FIELD = 500


def new_ref() -> str:
    return "sb_" + "".join(secrets.choice(REF_ALPHABET) for _ in range(8))


def text_with_ref(text: str, ref: str) -> str:
    """A WhatsApp pre-filled text carrying the reference, unobtrusively at the end."""
    return f"{text.rstrip()} (ref {ref})" if text.strip() else f"(ref {ref})"


def strip_ref(text: str) -> tuple[str, str | None]:
    """(the text without our reference, the reference) for a customer's message; the text as is when none."""
    match = _IN_TEXT.search(text or "")
    if not match:
        return text, None
    before, after = text[:match.start()].rstrip(), text[match.end():].lstrip()
    return (f"{before} {after}" if before and after else before or after).strip(), match.group(1).lower()


def _short(value: Any, limit: int = MAX_FIELD) -> str | None:
    text = as_str(value)
    return " ".join(text.split())[:limit] or None if text else None


def page_url(value: Any) -> str | None:
    """A web page's address as a source: http(s), scheme, host and path only. A query or fragment can hold a
    visitor's personal data (an email in a sign-up link), so it is never kept."""
    url = as_str(value)
    if not url or len(url) > 2048:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))[:MAX_FIELD]


def referral(ref: Any = None, ad: dict[str, Any] | None = None, page: Any = None) -> Referral | None:
    from switchboard.models import AdReferral, Referral

    ref_text = as_str(ref)
    cleaned = ref_text.strip()[:MAX_REF] if ref_text else None
    ad_model = AdReferral(**ad) if ad and any(ad.get(k) for k in ("id", "headline", "source_url")) else None
    page_value = page_url(page)
    if not cleaned and not ad_model and not page_value:
        return None
    return Referral(ref=cleaned or None, ad=ad_model, page_url=page_value)


def whatsapp_ad(raw_referral: Any) -> dict[str, Any] | None:
    """A Click-to-WhatsApp ad (or post) from a message's `referral` object."""
    data = as_dict(raw_referral)
    if not data:
        return None
    kind = as_str(data.get("source_type")) or "ad"
    return {"id": _short(data.get("source_id"), 100), "headline": _short(data.get("headline"), 200),
            "source_url": _short(data.get("source_url")), "kind": "post" if kind == "post" else "ad"}


def meta_referral(raw_referral: Any) -> Referral | None:
    """Messenger's and Instagram's `referral` (in a message, a postback or a standalone referral event): an m.me or
    ig.me link's `ref`, and an ad (`ad_id`, `ads_context_data.ad_title`), with the page that sent them when told."""
    data = as_dict(raw_referral)
    if not data:
        return None
    ads = as_dict(data.get("ads_context_data"))
    ad = None
    if ads or as_str(data.get("ad_id")) or (as_str(data.get("source")) or "").upper() == "ADS":
        ad = {"id": _short(data.get("ad_id"), 100), "headline": _short(ads.get("ad_title"), 200),
              "source_url": _short(data.get("referer_uri")) or _short(ads.get("photo_url")), "kind": "ad"}
    return referral(data.get("ref"), ad, None if ad else data.get("referer_uri"))


_START = re.compile(r"^/start(?:@[A-Za-z0-9_]+)?\s+([A-Za-z0-9_-]{1,64})\s*$")


def telegram_start(text: str) -> str | None:
    """The payload of a deep link's "/start <payload>" (t.me/<bot>?start=<payload>)."""
    match = _START.match(text or "")
    return match.group(1) if match else None
