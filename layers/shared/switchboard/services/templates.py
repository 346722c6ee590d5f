"""WhatsApp message templates: synced from the Graph API (approved ones only), offered to agents, and a chosen one
checked against the stored template and turned into the Graph `components` of a template message.

A business may write to a WhatsApp customer outside the 24-hour window (and reach one first) only with a template
Meta approved. The sync keeps the store equal to what the WhatsApp Business Account has approved, so that a
template the agent picks is checked here (unknown template, wrong number of values: 400) before anything is
queued, instead of failing at Meta a moment later."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from switchboard import clock, observability
from switchboard.errors import BadRequest, Conflict, PermanentSendError, RetryableSendError, ServiceUnavailable
from switchboard.settings import get_settings
from switchboard.store import templates as store
from switchboard.store.table import Table

CHANNEL = "whatsapp"
PAGE_SIZE = 100
MAX_PAGES = 50  # 5,000 templates: far more than a WABA holds (250 by default)
MAX_VALUE = 1024  # characters of one text parameter
MAX_URL = 2000
POSITIONAL = re.compile(r"\{\{\s*(\d{1,3})\s*\}\}")
NAMED = re.compile(r"\{\{\s*([a-z_][a-z0-9_]{0,63})\s*\}\}")
MEDIA_FORMATS = ("image", "video", "document")
WABA_ID = re.compile(r"[0-9]{1,32}")
SANDBOX_WABA_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


# -- from Graph ------------------------------------------------------------------------------------
def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _variables(text: str, named: bool) -> list[str]:
    """The variables of a text in order: {{1}}, {{2}}... (by number) or {{name}} (by first appearance)."""
    if named:
        return list(dict.fromkeys(m.group(1) for m in NAMED.finditer(text)))
    return sorted(dict.fromkeys(m.group(1) for m in POSITIONAL.finditer(text)), key=int)


def _examples(example: Any, key: str, named_key: str) -> dict[str, str]:
    """Graph's example values of a component, by variable name."""
    example = example if isinstance(example, dict) else {}
    found: dict[str, str] = {}
    named = example.get(named_key)
    if isinstance(named, list):
        for entry in named:
            if isinstance(entry, dict) and _s(entry.get("param_name")):
                found[_s(entry.get("param_name"))] = _s(entry.get("example"))
    values = example.get(key)
    if isinstance(values, list) and values and isinstance(values[0], list):
        values = values[0]  # body_text is a list of lists
    if isinstance(values, list):
        for index, value in enumerate(values, start=1):
            found.setdefault(str(index), _s(value))
    return found


def parse_template(raw: dict[str, Any]) -> dict[str, Any] | None:
    """One Graph template as stored and listed (None for one without a name or language). No None values: the
    stored item compares equal to a re-parse, so an unchanged template is not written again."""
    name, language = _s(raw.get("name")), _s(raw.get("language"))
    if not name or not language:
        return None
    named = _s(raw.get("parameter_format")).upper() == "NAMED"
    template: dict[str, Any] = {"name": name, "language": language, "category": _s(raw.get("category")).lower(),
                                "status": _s(raw.get("status")).upper(), "body": "",
                                "parameter_format": "named" if named else "positional", "buttons": []}
    parameters: dict[str, Any] = {"body": [], "buttons": []}
    for component in raw.get("components") or []:
        if not isinstance(component, dict):
            continue
        kind = _s(component.get("type")).upper()
        if kind == "BODY":
            template["body"] = _s(component.get("text"))
            examples = _examples(component.get("example"), "body_text", "body_text_named_params")
            parameters["body"] = [{"name": v, "example": examples.get(v, "")}
                                  for v in _variables(template["body"], named)]
        elif kind == "HEADER":
            fmt = _s(component.get("format")).lower() or "text"
            header: dict[str, Any] = {"format": fmt}
            if fmt == "text":
                header["text"] = _s(component.get("text"))
                examples = _examples(component.get("example"), "header_text", "header_text_named_params")
                variables = _variables(header["text"], named)
                if variables:
                    parameters["header"] = {"format": "text", "name": variables[0],
                                            "example": examples.get(variables[0], "")}
            else:
                raw_example = component.get("example")
                handles = raw_example.get("header_handle") if isinstance(raw_example, dict) else None
                example = _s(handles[0]) if isinstance(handles, list) and handles else ""
                parameters["header"] = {"format": fmt, "example": example}
            template["header"] = header
        elif kind == "FOOTER":
            template["footer"] = _s(component.get("text"))
        elif kind == "BUTTONS":
            for index, button in enumerate(component.get("buttons") or []):
                if not isinstance(button, dict):
                    continue
                entry = {"type": _s(button.get("type")).lower(), "text": _s(button.get("text"))}
                for key in ("url", "phone_number"):
                    if _s(button.get(key)):
                        entry[key] = _s(button.get(key))
                template["buttons"].append(entry)
                variables = _variables(entry.get("url", ""), named=False) or _variables(entry.get("url", ""), True)
                if entry["type"] == "url" and variables:
                    samples = button.get("example")
                    parameters["buttons"].append({"index": index, "name": variables[0],
                                                  "example": _s(samples[0]) if isinstance(samples, list) and samples
                                                  else ""})
    template["parameters"] = parameters
    return template


def configured() -> bool:
    return bool(get_settings().whatsapp_business_account_id.strip())


def _waba_id() -> str:
    settings = get_settings()
    waba = settings.whatsapp_business_account_id.strip()
    if not waba:
        raise Conflict("no WhatsApp Business Account id is configured (WHATSAPP_BUSINESS_ACCOUNT_ID)",
                       code="not_configured")
    on_graph = urlsplit(settings.whatsapp_api_base_url).hostname in ("graph.facebook.com",)
    if not (WABA_ID if on_graph else SANDBOX_WABA_ID).fullmatch(waba):
        raise Conflict("WHATSAPP_BUSINESS_ACCOUNT_ID is not a WhatsApp Business Account id", code="not_configured")
    return waba


def fetch_approved() -> list[dict[str, Any]]:
    """Every APPROVED template of the configured WABA, following Graph's `after` cursors (never the `next` URL as
    given: the access token goes only to the configured Graph base URL). Raises ServiceUnavailable when Graph fails
    (the caller, or tomorrow's run, tries again)."""
    from switchboard.channels import http
    from switchboard.channels.whatsapp import WhatsAppChannel, graph_url

    channel = WhatsAppChannel()
    url = graph_url(_waba_id(), "message_templates")
    after: str | None = None
    found: list[dict[str, Any]] = []
    try:
        headers = channel._auth()
        for _ in range(MAX_PAGES):
            params = {"limit": str(PAGE_SIZE),
                      "fields": "name,language,status,category,components,parameter_format"}
            if after:
                params["after"] = after
            response = http.request("GET", url, params=params, headers=headers)
            if response.status_code >= 400:
                channel.graph_error(response)
            page = response.json()
            data = page.get("data") if isinstance(page, dict) else None
            for raw in data if isinstance(data, list) else []:
                if isinstance(raw, dict) and _s(raw.get("status")).upper() == "APPROVED":
                    parsed = parse_template(raw)
                    if parsed:
                        found.append(parsed)
            paging = page.get("paging") if isinstance(page, dict) else None
            cursors = paging.get("cursors") if isinstance(paging, dict) else None
            after = _s(cursors.get("after")) if isinstance(cursors, dict) else ""
            if not (isinstance(paging, dict) and paging.get("next") and after):
                break
    except (PermanentSendError, RetryableSendError, ValueError) as exc:
        reason = exc.message if isinstance(exc, PermanentSendError | RetryableSendError) else "not JSON"
        raise ServiceUnavailable(f"the template list could not be read from WhatsApp: {reason}",
                                 code="provider_error") from exc
    return found


def sync(table: Table | None = None) -> dict[str, Any]:
    """Pull the approved templates into the store (the admins' button and the daily schedule). Idempotent: a rerun
    writes nothing that has not changed."""
    table = table or Table()
    found = fetch_approved()
    synced_at = clock.iso(clock.now())
    counts = store.replace_all(table, CHANNEL, found, synced_at)
    observability.count("TemplatesSynced", counts["templates"])
    return {**counts, "synced_at": synced_at}


def list_templates(table: Table, channel: str) -> list[dict[str, Any]]:
    if channel != CHANNEL:
        return []  # templates are WhatsApp's: other channels have none to offer
    return sorted(store.list_all(table, channel), key=lambda t: (t["name"], t["language"]))


def last_synced(table: Table, channel: str) -> str | None:
    sync_item = store.last_sync(table, channel) if channel == CHANNEL else None
    return sync_item.get("synced_at") if sync_item else None


# -- to Graph --------------------------------------------------------------------------------------
def _text_value(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{what} needs a value", code="template_parameters")
    if len(value) > MAX_VALUE:
        raise BadRequest(f"{what} is longer than {MAX_VALUE} characters", code="template_parameters")
    from switchboard.channels.whatsapp import template_text

    return template_text(value)


def _media_link(value: Any, fmt: str) -> str:
    link = value.get("link") if isinstance(value, dict) else value
    if not isinstance(link, str) or not link.isascii() or len(link) > MAX_URL or any(c.isspace() for c in link):
        raise BadRequest(f"the template's {fmt} header needs an https link to the {fmt}", code="template_parameters")
    parts = urlsplit(link)
    if parts.scheme != "https" or not parts.hostname or "@" in parts.netloc:
        raise BadRequest(f"the template's {fmt} header needs an https link to the {fmt}", code="template_parameters")
    return link


def _fill(text: str, values: dict[str, str], named: bool) -> str:
    pattern = NAMED if named else POSITIONAL
    return pattern.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def prepare(table: Table, channel: str, chosen: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Check a chosen template against the stored one and build what the sender sends: ({'name', 'language',
    'components'}, the rendered text agents see). BadRequest (400) for an unknown template or wrong parameters."""
    if channel != CHANNEL:
        raise BadRequest("templates are sent on WhatsApp only", code="template_not_supported")
    name, language = chosen.get("name"), chosen.get("language")
    stored = store.get(table, channel, str(name), str(language)) if name and language else None
    if stored is None or stored.get("status") != "APPROVED":
        raise BadRequest(f"no approved template {name!r} in {language!r}: sync the templates, or pick another",
                         code="unknown_template")
    given = chosen.get("parameters") or {}
    wanted = stored.get("parameters") or {}
    named = stored.get("parameter_format") == "named"
    components: list[dict[str, Any]] = []
    header_text = ""
    header_wanted = wanted.get("header")
    header_given = given.get("header")
    if header_wanted:
        fmt = header_wanted.get("format")
        if header_given is None:
            raise BadRequest(f"the template's header needs a {'value' if fmt == 'text' else fmt}",
                             code="template_parameters")
        if fmt == "text":
            value = _text_value(header_given, "the header")
            parameter: dict[str, Any] = {"type": "text", "text": value}
            if named:
                parameter["parameter_name"] = header_wanted["name"]
            header_text = _fill((stored.get("header") or {}).get("text", ""), {header_wanted["name"]: value}, named)
        elif fmt in MEDIA_FORMATS:
            parameter = {"type": fmt, fmt: {"link": _media_link(header_given, fmt)}}
        else:
            raise BadRequest(f"templates with a {fmt} header cannot be sent from here", code="template_not_supported")
        components.append({"type": "header", "parameters": [parameter]})
    elif header_given not in (None, "", {}):
        raise BadRequest("the template has no header to fill", code="template_parameters")
    elif (stored.get("header") or {}).get("format") == "text":
        header_text = stored["header"].get("text", "")
    body_wanted = wanted.get("body") or []
    body_given = given.get("body") or []
    if not isinstance(body_given, list) or len(body_given) != len(body_wanted):
        raise BadRequest(f"the template's body takes {len(body_wanted)} value(s), {len(body_given)} given"
                         if isinstance(body_given, list) else "parameters.body must be a list",
                         code="template_parameters")
    values: dict[str, str] = {}
    if body_wanted:
        body_parameters = []
        for index, (spec, value) in enumerate(zip(body_wanted, body_given, strict=True), start=1):
            text = _text_value(value, f"body value {index}")
            values[spec["name"]] = text
            parameter = {"type": "text", "text": text}
            if named:
                parameter["parameter_name"] = spec["name"]
            body_parameters.append(parameter)
        components.append({"type": "body", "parameters": body_parameters})
    buttons_wanted = wanted.get("buttons") or []
    buttons_given = given.get("buttons") or []
    if not isinstance(buttons_given, list) or len(buttons_given) != len(buttons_wanted):
        raise BadRequest(f"the template's buttons take {len(buttons_wanted)} value(s)", code="template_parameters")
    for spec, value in zip(buttons_wanted, buttons_given, strict=True):
        components.append({"type": "button", "sub_type": "url", "index": str(spec["index"]),
                           "parameters": [{"type": "text", "text": _text_value(value, "the button's link")}]})
    rendered = _fill(stored.get("body") or "", values, named)
    text = "\n\n".join(part for part in (header_text, rendered, stored.get("footer") or "") if part)
    return {"name": stored["name"], "language": stored["language"], "components": components}, text


def survey_template(table: Table, setting: str, payloads: list[str]) -> tuple[dict[str, Any], str] | None:
    """The configured survey template (`name:language`, survey.whatsapp_template) with each quick-reply button
    answering with its rating's payload: ({'name', 'language', 'components'}, its text), or None when it is not
    usable (not synced, not approved, a body that takes values, fewer quick-reply buttons than ratings)."""
    name, _, language = setting.partition(":")
    stored = store.get(table, CHANNEL, name, language) if name and language else None
    if stored is None or stored.get("status") != "APPROVED" or (stored.get("parameters") or {}).get("body") \
            or (stored.get("parameters") or {}).get("header"):
        return None
    quick = [i for i, b in enumerate(stored.get("buttons") or []) if b.get("type") == "quick_reply"]
    if len(quick) < len(payloads):
        return None
    components = [{"type": "button", "sub_type": "quick_reply", "index": str(index),
                   "parameters": [{"type": "payload", "payload": payload}]}
                  for index, payload in zip(quick, payloads, strict=False)]
    text = "\n\n".join(part for part in ((stored.get("header") or {}).get("text", ""), stored.get("body") or "",
                                          stored.get("footer") or "") if part)
    return {"name": stored["name"], "language": stored["language"], "components": components}, text
