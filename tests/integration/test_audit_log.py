"""The audit log on moto: every action that changes or reveals data is recorded once (who, what, when, the target's
id; no text, no personal data), refused requests leave nothing, admins alone read it with filters and pages, and the
retention job deletes what is older than the setting."""

from __future__ import annotations

import json
from datetime import timedelta

from switchboard import clock
from switchboard.api import app as api_app
from switchboard.api import audit as api_audit
from tests.integration.test_whatsapp_flow import conversations, post, wa_message, wa_payload


def call(stack, method, path, body=None, role="admin", query=""):
    return stack.http(method, path, body, role=role, query=query)


def audit(stack, query="") -> list[dict]:
    r = call(stack, "GET", "/api/audit", query=query)
    assert r.status == 200, r
    return r.json()["items"]


def test_every_action_is_recorded_once_with_who_what_and_the_target(stack):
    post(stack, wa_payload(wa_message("w.au1", text="My card number is 4111 1111"), name="Eve Customer"))
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    cid, contact = conv["id"], conv["contact"]["id"]
    agent = "agent"
    assert call(stack, "POST", f"/api/conversations/{cid}/assign", {"agent": "bob@example.com"}, agent).status == 200
    assert call(stack, "POST", f"/api/conversations/{cid}/messages", {"text": "Please never send it"}, agent).status == 202
    assert call(stack, "POST", f"/api/conversations/{cid}/labels", {"labels": ["billing"]}, agent).status == 200
    assert call(stack, "POST", f"/api/conversations/{cid}/resolve", role=agent).status == 200
    assert call(stack, "POST", f"/api/conversations/{cid}/read", role=agent).status == 200  # exempt
    canned = call(stack, "POST", "/api/canned-responses", {"shortcut": "thanks", "text": "Thank you!"}, agent).json()
    assert call(stack, "DELETE", f"/api/canned-responses/{canned['id']}", role=agent).status == 204
    assert call(stack, "PATCH", f"/api/contacts/{contact}", {"name": "Eve C."}, agent).status == 200
    assert call(stack, "PUT", "/api/settings", {"greeting": {"enabled": False}}).status == 200
    link = call(stack, "POST", "/api/links", {"name": "Header", "channel": "whatsapp"}).json()
    assert call(stack, "GET", f"/api/contacts/{contact}/export").status == 200
    hook = call(stack, "POST", "/api/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["*"]}).json()
    assert call(stack, "DELETE", f"/api/webhooks/{hook['id']}").status == 204
    assert call(stack, "DELETE", f"/api/contacts/{contact}").status == 200
    # refused requests changed nothing and leave nothing
    assert call(stack, "POST", "/api/conversations/cv_missing/resolve", role=agent).status == 404
    assert call(stack, "PUT", "/api/settings", {"greeting": {"enabled": False}}, role=agent).status == 403
    items = audit(stack, "limit=200")
    got = [(i["actor"], i["action"], i["target"]) for i in reversed(items) if i["actor"] != "system"]
    assert got == [
        ("agent@example.com", "conversation.assign", cid),
        ("agent@example.com", "message.send", cid),
        ("agent@example.com", "conversation.labels", cid),
        ("agent@example.com", "conversation.resolve", cid),
        ("agent@example.com", "canned.create", canned["id"]),
        ("agent@example.com", "canned.delete", canned["id"]),
        ("agent@example.com", "contact.update", contact),
        ("admin@example.com", "settings.update", None),
        ("admin@example.com", "link.create", link["id"]),
        ("admin@example.com", "contact.export", contact),
        ("admin@example.com", "webhook.create", hook["id"]),
        ("admin@example.com", "webhook.delete", hook["id"]),
        ("admin@example.com", "contact.erase", contact),
    ]
    assert all(i["outcome"] == "done" and i["status"] < 400 for i in items if i["actor"] != "system")
    assert [i["action"] for i in items if i["actor"] == "system"] == ["contact.erasure_completed"]
    # never message text or personal data, in the API or the table
    stored = json.dumps(stack.items("AUDIT#")) + json.dumps(items)
    for secret in ("4111 1111", "Please never", "Eve", "Thank you", "billing", "whsec_"):
        assert secret not in stored, secret
    # one record per request, and one field each way: newest first
    assert len({i["at"] for i in items}) == len(items)
    assert items == sorted(items, key=lambda i: i["at"], reverse=True)


def test_admins_alone_read_it_with_filters_and_pages(stack):
    for n in range(7):
        role = "agent" if n % 2 else "admin"
        assert call(stack, "POST", "/api/canned-responses", {"shortcut": f"s{n}", "text": "x"}, role).status == 201
    assert call(stack, "GET", "/api/audit", role="agent").status == 403
    assert [i["actor"] for i in audit(stack, "actor=AGENT@example.com")] == ["agent@example.com"] * 3
    assert len(audit(stack, "action=canned.")) == 7 and audit(stack, "action=contact.") == []
    seen, cursor = [], None
    while True:
        r = call(stack, "GET", "/api/audit", query="limit=3" + (f"&cursor={cursor}" if cursor else "")).json()
        assert len(r["items"]) <= 3
        seen += r["items"]
        cursor = r["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 7 and len({i["at"] for i in seen}) == 7
    today = clock.now().date()
    assert audit(stack, f"from={today + timedelta(days=1)}&to={today + timedelta(days=2)}") == []
    assert call(stack, "GET", "/api/audit", query=f"from={today}&to={today - timedelta(days=1)}").json()["error"][
        "code"] == "invalid_range"
    assert call(stack, "GET", "/api/audit", query="from=yesterday").status == 422


def test_records_across_months_and_the_retention_setting(stack):
    call(stack, "POST", "/api/canned-responses", {"shortcut": "old", "text": "x"})
    clock.advance(40 * 86400)  # next month
    call(stack, "POST", "/api/canned-responses", {"shortcut": "new", "text": "x"})
    today = clock.now().date()
    both = audit(stack, f"from={today - timedelta(days=60)}&to={today}&action=canned.")
    assert len(both) == 2 and both[0]["at"] > both[1]["at"]
    page = call(stack, "GET", "/api/audit", query=f"from={today - timedelta(days=60)}&limit=1&action=canned.").json()
    rest = call(stack, "GET", "/api/audit", query=f"from={today - timedelta(days=60)}&limit=1&action=canned."
                f"&cursor={page['next_cursor']}").json()
    assert [page["items"][0]["at"], rest["items"][0]["at"]] == [both[0]["at"], both[1]["at"]]
    # kept for retention.audit_days (default 400; at least 30); the hourly retention run deletes what is older
    assert call(stack, "PUT", "/api/settings", {"retention": {"audit_days": 10}}).status == 400
    assert call(stack, "PUT", "/api/settings", {"retention": {"audit_days": 30}}).status == 200
    assert all(i["expires_at"] > clock.epoch() for i in stack.items("AUDIT#") if i.get("kind") == "action")
    from infra.local.pollers import run_scheduled

    counts = run_scheduled(stack.functions["RetentionFunction"])
    assert counts["audit_records_deleted"] == 1
    assert [i["action"] for i in audit(stack, f"from={today - timedelta(days=60)}&action=canned.")] == ["canned.create"]


def test_every_mutating_route_is_audited_or_exempt_by_name():
    """New routes need no code to be audited; this lists the ones still recorded under their method and path."""
    routes = [(method.upper(), path) for path, item in api_app.document()["paths"].items() for method in item
              if path.startswith("/api/")]
    unnamed = [r for r in routes if r[0] in api_audit.MUTATING
               and api_audit.action_for(*r) == f"{r[0]} {r[1]}"]
    assert unnamed == [], unnamed
    assert api_audit.action_for("POST", "/api/conversations/{conversation_id}/read") is None
    assert api_audit.action_for("GET", "/api/contacts/{contact_id}/export") == "contact.export"
    assert api_audit.action_for("GET", "/api/conversations") is None
    assert api_audit.action_for("POST", "/api/teams/{team_id}/members") == "POST /api/teams/{team_id}/members"
