"""Inboxes and teams (issue 14) and the unknown-owner rule (issue 11), on moto through the real handlers: which
business addresses are filed, the admins' routes and roles, round-robin within a team, and the inbox and team
filters of the conversation list."""

from __future__ import annotations

import pytest

from switchboard import clock, ids
from switchboard.models import InboundEnvelope, InboundMessage
from switchboard.services import assignment, processing
from switchboard.store.table import Table
from tests.conftest import ROOT
from tests.integration.test_whatsapp_flow import PNID, post, wa_message, wa_payload

IDENTITIES = {"whatsapp": "phone:+{s}", "sms": "phone:+{s}", "messenger": "messenger:{s}",
              "instagram": "instagram:{s}", "telegram": "telegram:{s}", "email": "email:c{s}@example.com",
              "webchat": "webchat:v{s}"}
# channel: (the first address, a second one). The first is adopted on first use (Messenger, Instagram), or is the
# business's by configuration (the numbers the stack sends from, WHATSAPP_PHONE_NUMBER_ID and SMS_FROM_NUMBER; the
# Telegram bot, the default widget, any address of the mail domains).
ADDRESSES = {
    "whatsapp": ("200000000000002", "200000000000003"),
    "messenger": ("PAGE1", "PAGE2"),
    "instagram": ("IG1", "IG2"),
    "sms": ("+15550001111", "+15550002222"),
    "telegram": ("123", "business:BC1"),
    "webchat": ("default", "shop"),
    "email": ("help@switchboard.local", "sales@switchboard.local"),
}
_serial = iter(range(10_000, 99_999))


def inbound(channel: str, address: str, sender: str | None = None, text: str = "hi") -> InboundMessage:
    sender = sender or f"1555{next(_serial):07d}"
    return InboundMessage(channel=channel, provider_message_id=f"{channel}-{next(_serial)}", inbox_id=address,
                          sender_id=sender, identity=IDENTITIES[channel].format(s=sender), text=text,
                          timestamp=clock.now().timestamp())


def process(event: InboundMessage) -> processing.Outcome:
    """As the processor does for an event of a large batch: it claims the event itself (a redelivery is a
    duplicate)."""
    return processing.process(InboundEnvelope(event=event, received_at=clock.iso(clock.now()), claimed=False),
                              Table())


def accept_new(stack, value: bool) -> None:
    r = stack.http("PUT", "/api/settings", {"inboxes": {"accept_new": value}}, role="admin")
    assert r.status == 200 and r.json()["inboxes"] == {"accept_new": value}


def listed(stack, role: str = "agent", query: str = "") -> dict:
    r = stack.http("GET", "/api/inboxes", role=role, query=query)
    assert r.status == 200, r
    return r.json()


# -- the unknown-owner rule --------------------------------------------------------------------------------------
@pytest.mark.parametrize("channel", list(ADDRESSES))
def test_a_channel_s_first_address_is_filed_a_second_one_is_ignored_and_counted_until_an_admin_adds_it(
        stack, capsys, channel):
    # Given a deployment whose admins allow no new inboxes (the default)
    accept_new(stack, False)
    first, second = ADDRESSES[channel]
    # When the channel's first address writes, it is filed (adopted, or the business's by configuration)
    assert process(inbound(channel, first)).result == "stored"
    (inbox,) = listed(stack)["items"]
    assert (inbox["channel"], inbox["address"], inbox["id"]) == (channel, first, ids.inbox_id(channel, first))
    assert inbox["origin"] == ("adopted" if channel in ("messenger", "instagram") else "configured")
    # And a second address of the same channel
    event = inbound(channel, second)
    outcome = process(event)
    if channel == "email":  # every address of the mail domains is the business's
        assert outcome.result == "stored"
        return
    # is ignored: nothing stored but its dedupe marker (a redelivery is a duplicate), and counted
    assert outcome.result == "ignored:unknown_inbox" and outcome.inbox == ids.inbox_id(channel, second)
    assert process(event).result == "duplicate"
    assert stack.http("GET", "/api/conversations", role="agent").json()["items"][0]["inbox"] == inbox["id"]
    assert len(stack.http("GET", "/api/conversations", role="agent").json()["items"]) == 1
    assert '"reason":"unknown_inbox"' in capsys.readouterr().out
    # Admins see it among the ignored addresses, with how many events it had; agents may not ask
    shown = listed(stack, "admin", "include=ignored")
    assert [(i["address"], i["events"]) for i in shown["ignored"]] == [(second, 1)]
    assert [i["address"] for i in shown["items"]] == [first]
    assert stack.http("GET", "/api/inboxes", role="agent", query="include=ignored").status == 403
    # When an admin adds it, its next event is filed and it is no longer listed as ignored
    r = stack.http("POST", "/api/inboxes", {"channel": channel, "address": second, "name": "Second"}, role="admin")
    assert r.status == 201 and r.json()["origin"] == "admin" and r.json()["name"] == "Second"
    assert process(inbound(channel, second)).result == "stored"
    assert listed(stack, "admin", "include=ignored")["ignored"] == []


def test_without_a_configured_number_the_channel_s_first_is_adopted_and_only_one_of_two_at_once(stack, settings_env):
    settings_env(WHATSAPP_PHONE_NUMBER_ID="")
    accept_new(stack, False)
    assert process(inbound("whatsapp", "200000000000031")).result == "stored"
    assert process(inbound("whatsapp", "200000000000032")).result == "ignored:unknown_inbox"
    (inbox,) = listed(stack)["items"]
    assert (inbox["address"], inbox["origin"]) == ("200000000000031", "adopted")


def test_a_configured_number_is_never_passed_over_for_a_stranger_writing_first(stack):
    accept_new(stack, False)
    assert process(inbound("whatsapp", "200000000000041")).result == "ignored:unknown_inbox"  # not ours
    assert process(inbound("whatsapp", PNID)).result == "stored"  # WHATSAPP_PHONE_NUMBER_ID


def test_with_new_inboxes_allowed_every_address_is_filed(stack):
    accept_new(stack, True)
    for address in ("200000000000007", "200000000000008", "200000000000009"):
        assert process(inbound("whatsapp", address)).result == "stored"
    assert {(i["address"], i["origin"]) for i in listed(stack)["items"]} == {
        ("200000000000007", "accepted"), ("200000000000008", "accepted"), ("200000000000009", "accepted")}
    # and turning the allowance off later adopts nothing more: the channel has its inboxes
    accept_new(stack, False)
    assert process(inbound("whatsapp", "200000000000010")).result == "ignored:unknown_inbox"


def test_the_webhook_acknowledges_an_unknown_number_and_stores_nothing(stack):
    accept_new(stack, False)
    assert post(stack, wa_payload(wa_message("wamid.ours", text="for us"))).status == 200
    stack.drain("ProcessorFunction")
    other = wa_payload(wa_message("wamid.theirs", sender="15559990000", text="not for us"), sender="15559990000")
    other["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "299999999999999"
    assert post(stack, other).status == 200
    stack.drain("ProcessorFunction")
    assert post(stack, other).status == 200  # a redelivery: acknowledged, a duplicate
    stack.drain("ProcessorFunction")
    items = stack.http("GET", "/api/conversations", role="agent").json()["items"]
    assert [c["last_message"]["text"] for c in items] == ["for us"]
    assert not [i for i in stack.items("CONV#") if i.get("text") == "not for us"]
    assert len([i for i in stack.items("CONTACT#") if i["sk"] == "PROFILE"]) == 1  # no contact made for theirs
    assert stack.items("IDENTITY#phone:+15559990000") == []
    assert stack.queue_count("InboundDLQ") == 0


def test_a_blocked_inbox_is_ignored_even_when_new_inboxes_are_allowed_until_added_again(stack):
    accept_new(stack, True)
    assert process(inbound("sms", "+15550003333")).result == "stored"
    inbox_id = ids.inbox_id("sms", "+15550003333")
    assert stack.http("DELETE", f"/api/inboxes/{inbox_id}", role="agent").status == 403
    r = stack.http("DELETE", f"/api/inboxes/{inbox_id}", role="admin")
    assert r.status == 200 and r.json()["status"] == "blocked"
    assert process(inbound("sms", "+15550003333")).result == "ignored:blocked_inbox"
    assert stack.http("DELETE", "/api/inboxes/ib_missing", role="admin").status == 404
    assert stack.http("POST", "/api/inboxes", {"channel": "sms", "address": "+15550003333"},
                      role="admin").json()["status"] == "active"
    assert process(inbound("sms", "+15550003333")).result == "stored"


# -- routes and roles -----------------------------------------------------------------------------------------------
def test_inbox_and_team_routes_check_their_roles_and_input(stack):
    assert process(inbound("email", "help@switchboard.local")).result == "stored"
    inbox_id = ids.inbox_id("email", "help@switchboard.local")
    assert stack.http("GET", "/api/inboxes").status == 401
    assert stack.http("GET", "/api/teams").status == 401
    assert stack.http("GET", "/api/teams", role="agent").json() == {"items": []}
    # Agents read, only admins change
    for method, path, body in (("PATCH", f"/api/inboxes/{inbox_id}", {"name": "Help"}),
                               ("POST", "/api/inboxes", {"channel": "sms", "address": "+15550009999"}),
                               ("POST", "/api/teams", {"name": "Billing", "members": []}),
                               ("PUT", "/api/teams/tm_1", {"name": "Billing", "members": []}),
                               ("DELETE", "/api/teams/tm_1", None)):
        assert stack.http(method, path, body, role="agent").status == 403, (method, path)
        assert stack.http(method, path, body).status == 401, (method, path)
    # Teams: created, named once (whatever the case), members validated and lower-cased
    r = stack.http("POST", "/api/teams", {"name": "Billing", "members": ["Ann@Example.com", "ann@example.com"]},
                   role="admin")
    assert r.status == 201 and r.json()["members"] == ["ann@example.com"]
    team = r.json()["id"]
    assert stack.http("POST", "/api/teams", {"name": "billing"}, role="admin").status == 409
    assert stack.http("POST", "/api/teams", {"name": "Sales", "members": ["not an email"]}, role="admin").status == 422
    assert stack.http("POST", "/api/teams", {"name": " "}, role="admin").status == 422
    assert stack.http("POST", "/api/teams", {"name": "X", "extra": 1}, role="admin").status == 422
    r = stack.http("PUT", f"/api/teams/{team}", {"name": "Billing", "members": ["bob@example.com"]}, role="admin")
    assert r.status == 200 and r.json()["members"] == ["bob@example.com"]
    assert stack.http("PUT", "/api/teams/tm_missing", {"name": "Y", "members": []}, role="admin").status == 404
    # Inboxes: named, attached to a team (which must exist), and cleared again
    assert stack.http("PATCH", f"/api/inboxes/{inbox_id}", {"team": "tm_missing"}, role="admin").status == 400
    r = stack.http("PATCH", f"/api/inboxes/{inbox_id}", {"name": "Help desk", "team": team}, role="admin")
    assert r.status == 200 and (r.json()["name"], r.json()["team"]) == ("Help desk", team)
    assert listed(stack)["items"][0]["team"] == team
    assert stack.http("PATCH", "/api/inboxes/ib_missing", {"name": "x"}, role="admin").status == 404
    assert stack.http("PATCH", f"/api/inboxes/{inbox_id}", {"colour": "red"}, role="admin").status == 422
    assert stack.http("POST", "/api/inboxes", {"channel": "fax", "address": "1"}, role="admin").status == 422
    assert stack.http("POST", "/api/inboxes", {"channel": "sms", "address": "+1555", "team": "tm_missing"},
                      role="admin").status == 400
    # Deleting the team detaches its inboxes
    r = stack.http("DELETE", f"/api/teams/{team}", role="admin")
    assert r.status == 204 and not r.body
    assert stack.http("DELETE", f"/api/teams/{team}", role="admin").status == 404
    assert listed(stack)["items"][0]["team"] is None and listed(stack)["items"][0]["name"] == "Help desk"
    r = stack.http("PATCH", f"/api/inboxes/{inbox_id}", {"name": ""}, role="admin")
    assert r.status == 200 and r.json()["name"] is None
    # Every change is audited: who, what, which id; no names, no members
    records = [i for i in stack.items("AUDIT#") if str(i.get("action", "")).startswith(("inbox.", "team."))]
    # (the services' own records, and the audit log's record of each request: team.create, inbox.update...)
    assert {"team.created", "team.changed", "inbox.changed", "team.deleted"} <= {r["action"] for r in records}
    assert all(r["actor"] == "admin@example.com" and r["target"] in (team, inbox_id) for r in records)
    assert "Billing" not in str(records) and "bob@example.com" not in str(records)
    # All of it is in the OpenAPI document
    paths = stack.http("GET", "/api/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/inboxes"]) and {"patch", "delete"} <= set(paths["/api/inboxes/{inbox_id}"])
    assert {"get", "post"} <= set(paths["/api/teams"]) and {"put", "delete"} <= set(paths["/api/teams/{team_id}"])


# -- routing ----------------------------------------------------------------------------------------------------------
def new_conversation(stack, channel: str, address: str) -> dict:
    outcome = process(inbound(channel, address))
    assert outcome.result == "stored" and outcome.conversation_id
    r = stack.http("GET", f"/api/conversations/{outcome.conversation_id}", role="agent")
    assert r.status == 200
    return r.json()


def test_a_team_s_inbox_goes_round_robin_to_its_available_members_only(stack):
    # Given three available agents, two of them in Billing, and the email inbox attached to Billing
    table = Table()
    for agent in ("ann@example.com", "bob@example.com", "cid@example.com"):
        assignment.set_availability(table, agent, True, max_open=2)
    team = stack.http("POST", "/api/teams", {"name": "Billing", "members": ["ann@example.com", "bob@example.com"]},
                      role="admin").json()["id"]
    stack.http("POST", "/api/inboxes", {"channel": "email", "address": "billing@switchboard.local", "team": team},
               role="admin")
    # When new emails come in, they go to Ann and Bob in turn, never to Cid, up to their caps
    assignees = [new_conversation(stack, "email", "billing@switchboard.local")["assignee"] for _ in range(5)]
    assert sorted(filter(None, assignees)) == ["ann@example.com"] * 2 + ["bob@example.com"] * 2
    assert assignees[4] is None  # the team is at its caps: it waits, unassigned, in the team's queue
    conv = new_conversation(stack, "email", "billing@switchboard.local")
    assert conv["team"] == team and conv["inbox"] == ids.inbox_id("email", "billing@switchboard.local")
    # And an inbox without a team still goes to anyone available
    assert new_conversation(stack, "whatsapp", PNID)["assignee"] == "cid@example.com"


def test_with_no_team_everything_goes_round_robin_as_before(stack):
    assignment.set_availability(Table(), "ann@example.com", True, max_open=5)
    conv = new_conversation(stack, "whatsapp", PNID)
    assert conv["assignee"] == "ann@example.com" and conv["team"] is None


# -- the inbox and team filters -------------------------------------------------------------------------------------
def page_ids(stack, query: str, role: str = "agent") -> list[str]:
    found, cursor = [], None
    while True:
        r = stack.http("GET", "/api/conversations", role=role, query=query + (f"&cursor={cursor}" if cursor else ""))
        assert r.status == 200, r
        found += [c["id"] for c in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return found


def test_the_list_filters_by_inbox_and_by_team_newest_first_page_by_page(stack):
    # Given conversations in three inboxes, the first two in Billing (whose member the agent is)
    a, b, c = "200000000000002", "200000000000003", "sales@switchboard.local"
    made: dict[str, list[str]] = {a: [], b: [], c: []}
    for n in range(7):
        for address in (a, b, c) if n % 2 else (b, a, c):
            channel = "email" if "@" in address else "whatsapp"
            made[address].append(process(inbound(channel, address, text=f"m{n}")).conversation_id or "")
            clock.advance(1)
    team = stack.http("POST", "/api/teams", {"name": "Billing", "members": ["agent@example.com"]},
                      role="admin").json()["id"]
    for address in (a, b):
        stack.http("PATCH", f"/api/inboxes/{ids.inbox_id('whatsapp', address)}", {"team": team}, role="admin")
    everything = page_ids(stack, "limit=100")
    newest_first = [cid for cid in everything if cid in made[a] + made[b]]
    # An inbox: its conversations only, newest first, in pages
    assert page_ids(stack, f"inbox={ids.inbox_id('whatsapp', a)}&limit=3") == [x for x in everything if x in made[a]]
    # A team: its inboxes merged, newest first, in pages of any size
    for limit in (1, 4, 50):
        assert page_ids(stack, f"team={team}&limit={limit}") == newest_first
    assert page_ids(stack, "team=mine&limit=5") == newest_first
    assert page_ids(stack, "team=mine", role="admin") == []  # the admin is in no team
    assert page_ids(stack, f"team={team}&inbox={ids.inbox_id('email', c)}") == []  # not one of the team's
    assert page_ids(stack, "team=tm_missing") == [] and page_ids(stack, "inbox=ib_missing") == []
    # Combined with the other filters
    one = made[a][0]
    stack.http("POST", f"/api/conversations/{one}/resolve", role="agent")
    stack.http("POST", f"/api/conversations/{made[b][0]}/labels", {"labels": ["vip"]}, role="agent")
    assert page_ids(stack, f"team={team}&status=resolved") == [one]
    assert one not in page_ids(stack, f"team={team}&status=open")
    assert page_ids(stack, f"team={team}&label=VIP") == [made[b][0]]
    # Items carry their inbox and team
    item = stack.http("GET", "/api/conversations", role="agent", query=f"inbox={ids.inbox_id('email', c)}&limit=1"
                      ).json()["items"][0]
    assert item["inbox"] == ids.inbox_id("email", c) and item["team"] is None
    # A cursor of another view is refused
    cursor = stack.http("GET", "/api/conversations", role="agent", query="limit=1").json()["next_cursor"]
    r = stack.http("GET", "/api/conversations", role="agent", query=f"team={team}&cursor={cursor}")
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_cursor"


# -- upgrading a deployment older than inboxes ----------------------------------------------------------------------
def contact_conversation_ids(contact_id: str) -> list[str]:
    from switchboard.store import search as index

    return [card.id for card in index.contact_conversation_cards(Table(), contact_id, 10)]


def test_the_upgrade_makes_inboxes_of_existing_addresses_and_puts_old_conversations_in_their_views(stack):
    import importlib.util

    from switchboard.services import inboxes as service
    from switchboard.store import keys

    # Given conversations of two numbers and an email address, written before inboxes existed (no directory, no
    # InboxIndex key), some resolved
    made = [process(inbound(channel, address)).conversation_id for channel, address in
            (("whatsapp", "200000000000021"), ("whatsapp", "200000000000022"), ("whatsapp", "200000000000022"),
             ("email", "old@switchboard.local"))]
    stack.http("POST", f"/api/conversations/{made[2]}/resolve", role="agent")
    ddb, name = stack.clients["dynamodb"], stack.resolver.refs["Table"]
    for item in stack.items("DIRECTORY"):
        ddb.delete_item(TableName=name, Key={"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}})
    for conv_id in made:  # and before the export's and the contact search's indexes (the first has no ContactIndex key)
        ddb.update_item(TableName=name, Key={k: {"S": v} for k, v in keys.conversation(conv_id or "").items()},
                        UpdateExpression="REMOVE inbox_sk" + (", contact_pk" if conv_id == made[0] else
                                                              ", created_pk, created_sk" if conv_id == made[3] else ""))
    old_contact = next(i for i in stack.items(keys.conversation(made[0] or "")["pk"]) if i["sk"] == keys.META)["contact_id"]
    assert contact_conversation_ids(old_contact) == []
    accept_new(stack, False)
    inbox = ids.inbox_id("whatsapp", "200000000000022")
    assert page_ids(stack, f"inbox={inbox}&status=resolved") == []
    # When the upgrade runs, a page of two at a time
    cursor, totals = None, {"conversations": 0, "inboxes": 0}
    while True:
        counts, cursor = service.upgrade(Table(), cursor, limit=2)
        totals = {k: totals[k] + counts[k] for k in totals}
        if not cursor:
            break
    # Then each address is an inbox, both numbers keep being filed, and the old conversations are in the views
    assert totals == {"conversations": 4, "inboxes": 3}
    assert {(i["address"], i["origin"]) for i in listed(stack)["items"]} == {
        ("200000000000021", "existing"), ("200000000000022", "existing"), ("old@switchboard.local", "existing")}
    assert process(inbound("whatsapp", "200000000000022")).result == "stored"
    assert process(inbound("whatsapp", "200000000000099")).result == "ignored:unknown_inbox"
    assert page_ids(stack, f"inbox={inbox}&status=resolved") == [made[2]]
    assert contact_conversation_ids(old_contact) == [made[0]]  # the search lists a found contact's conversations
    day = next(i for i in stack.items(keys.conversation(made[3] or "")["pk"]) if i["sk"] == keys.META)["created_at"][:10]
    exported = stack.http("GET", "/api/exports/conversations", role="admin", query=f"from={day}&to={day}")
    assert exported.status == 200 and made[3] in exported.body  # and the export lists it
    # And running it again changes nothing
    assert service.upgrade(Table())[0] == {"conversations": 0, "inboxes": 0}
    assert stack.http("GET", "/api/conversations", role="agent", query="inbox=x").status == 200
    # The ops script runs it until done, and answers --help
    spec = importlib.util.spec_from_file_location("upgrade_inboxes", ROOT / "infra" / "scripts" / "upgrade-inboxes.py")
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.run(name) == {"conversations": 0, "inboxes": 0, "pages": 4}  # a page per status, snoozed included
    with pytest.raises(SystemExit) as done:
        script.parse_args(["--help"])
    assert done.value.code == 0
