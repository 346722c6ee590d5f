"""Inboxes and teams (issue 14), and the unknown-owner rule (issue 11).

An inbox is one business address on one channel, made on its first event. Events for an address that is not an
inbox are ignored and counted, unless an admin allows new ones (settings `inboxes.accept_new`) or adds it:
- the Telegram bot (its id comes from our own token), the default web chat widget, every recipient the email
  function accepts (EMAIL_RECIPIENT_DOMAINS), and the WhatsApp number and SMS number the deployment sends from
  (WHATSAPP_PHONE_NUMBER_ID, SMS_FROM_NUMBER) are the business's own by configuration: inboxes on first event;
- for WhatsApp, Messenger, Instagram and SMS the channel's first address is adopted (trust on first use, so a
  fresh deployment works without a step) unless the deployment names its number; later ones wait for an admin;
- Telegram business connections and other widget ids always wait for an admin (anyone can connect a business
  account to a bot, or name any widget id).

A team is a name and members (agents' emails); an inbox may belong to one team. A conversation's team is its
inbox's: new conversations of a team's inbox go round-robin to the team's available members."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from switchboard import clock, ids, observability
from switchboard.errors import BadRequest, Conflict, NotFound
from switchboard.store import audit, inbox_scoped
from switchboard.store import inboxes as store
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import Conversation, IgnoredInbox, Inbox, Team

FIRST_USE_CHANNELS = frozenset({"whatsapp", "messenger", "instagram", "sms", "voice"})  # voice: issue 17
DEFAULT_WIDGET = "default"  # services/webchat.py's: a widget without an id
TELEGRAM_BUSINESS = "business:"  # channels/telegram.py's business connection inboxes
IGNORED_KEPT_SECONDS = 30 * 86400  # an ignored address is listed for admins this long after its last event
DIRECTORY_CACHE_SECONDS = 15.0


# -- the unknown-owner rule ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Admission:
    inbox: Inbox | None
    reason: str | None = None  # why not: "unknown_inbox" or "blocked_inbox"


def configured(channel: str, address: str) -> bool:
    """The business's own by configuration, whatever the admins' settings say."""
    if channel == "email":
        return True  # the email function serves only EMAIL_RECIPIENT_DOMAINS (and SES only the verified domains)
    if channel == "telegram":
        return not address.startswith(TELEGRAM_BUSINESS)  # the bot itself: its id is our token's
    if channel == "webchat":
        return address == DEFAULT_WIDGET
    return bool(address) and address == configured_address(channel)


def configured_address(channel: str) -> str | None:
    """The number the deployment sends from on a channel (WHATSAPP_PHONE_NUMBER_ID, SMS_FROM_NUMBER), if set."""
    from switchboard.settings import get_settings

    settings = get_settings()
    # voice (issue 17): the SMS number takes the calls
    return {"whatsapp": settings.whatsapp_phone_number_id, "sms": settings.sms_from_number,
            "voice": settings.sms_from_number}.get(channel) or None


def admit(table: Table, channel: str, address: str) -> Admission:
    """Whether an event for this business address is filed: its inbox (made on the first event when the address
    is allowed), or why not, counted and remembered for the admins."""
    inbox = store.get(table, ids.inbox_id(channel, address))
    if inbox is not None:
        if inbox.status == "active":
            return Admission(inbox)
        observability.count_by_reason("EventsIgnored", channel, "blocked_inbox")
        return Admission(None, "blocked_inbox")
    now = clock.iso(clock.now())
    origin = _origin(table, channel, address, now)
    if origin is None:
        observability.count_by_reason("EventsIgnored", channel, "unknown_inbox")
        store.record_ignored(table, channel, address, now, clock.epoch() + IGNORED_KEPT_SECONDS)
        return Admission(None, "unknown_inbox")
    inbox, created = store.create(table, channel, address, origin, now)
    if created:
        observability.count_by_reason("InboxesCreated", channel, origin)
        _forget_directory()
    if inbox.status != "active":  # blocked by an admin between our read and our write
        return Admission(None, "blocked_inbox")
    return Admission(inbox)


def _origin(table: Table, channel: str, address: str, now: str) -> str | None:
    from switchboard.services import automation_config

    if configured(channel, address):
        return "configured"
    # Read fresh (one GetItem, only for an address that is not an inbox): an admin's change applies at once
    if automation_config.load(table, fresh=True).inboxes.accept_new:
        return "accepted"
    # Trust on first use, where the deployment names no number of its own for the channel
    if channel in FIRST_USE_CHANNELS and not configured_address(channel) and store.claim_first(table, channel,
                                                                                                address, now):
        return "adopted"
    return None


# -- routing ------------------------------------------------------------------------------------------------------
def team_members(table: Table, channel: str, address: str) -> list[str] | None:
    """Who new conversations of this inbox go to: its team's members, or None (everyone) when it has no team.
    Read fresh (two GetItems), only for a new conversation: an admin's change applies to the next one."""
    inbox = store.get(table, ids.inbox_id(channel, address))
    if inbox is None or not inbox.team:
        return None
    team = store.get_team(table, inbox.team)
    return team.members if team else None


# -- the directory, as agents' views read it ---------------------------------------------------------------------
_directory: tuple[float, list[Inbox], list[Team]] | None = None


def directory(table: Table | None = None, fresh: bool = False) -> tuple[list[Inbox], list[Team]]:
    """Inboxes and teams, cached briefly: every inbox page names its conversations' teams."""
    global _directory
    if not fresh and _directory and time.monotonic() - _directory[0] < DIRECTORY_CACHE_SECONDS:
        return _directory[1], _directory[2]
    inboxes, teams = store.directory(table or Table())
    _directory = (time.monotonic(), inboxes, teams)
    return inboxes, teams


def _forget_directory() -> None:
    global _directory
    _directory = None


forget = _forget_directory  # tests: the next read is fresh


def scope(table: Table, inbox: str | None, team: str | None, caller: str) -> list[str] | None:
    """The inboxes a conversation list is limited to (None: no limit): `inbox`, the team's inboxes (`mine`: those
    of the caller's teams), or both at once."""
    if not inbox and not team:
        return None
    inboxes, teams = directory(table)
    wanted = {inbox} if inbox else {i.id for i in inboxes}
    if team == "mine":
        mine = {t.id for t in teams if caller.lower() in t.members}
        wanted &= {i.id for i in inboxes if i.team in mine}
    elif team:
        wanted &= {i.id for i in inboxes if i.team == team}
    return sorted(wanted)


def page(table: Table, *, inbox: str | None, team: str | None, caller: str, status: str | None = None,
         channel: str | None = None, assignee: str | None = None, label: str | None = None, limit: int = 25,
         cursor: str | None = None) -> tuple[list[Conversation], str | None]:
    """The inbox limited to an inbox, a team's inboxes, or the caller's teams' (`team=mine`): newest activity
    first, one InboxIndex range per inbox and status. Labels are lower-cased, as services.inbox.page does."""
    wanted = scope(table, inbox, team, caller) or []
    if not wanted:
        return [], None
    return inbox_scoped.page(table, inboxes=wanted, status=status, channel=channel, assignee=assignee,
                             label=label.strip().lower() if label else label, limit=limit, cursor=cursor)


# -- admins' changes ----------------------------------------------------------------------------------------------
def _audit(table: Table, action: str, actor: str, target: str) -> None:
    """Who changed which inbox or team: ids only (the record says nothing of names or members)."""
    now = clock.iso(clock.now())
    audit.record(table, now, action, {}, action=action, actor=actor, target=target)


def _check_team(table: Table, team_id: str | None) -> None:
    if team_id and store.get_team(table, team_id, consistent=True) is None:
        raise BadRequest(f"no team {team_id}", code="unknown_team")


def add(table: Table, channel: str, address: str, name: str | None, team: str | None, by: str) -> Inbox:
    """An admin allows an address: an inbox from now on (an ignored one stops being listed as such). A blocked
    inbox is unblocked."""
    _check_team(table, team)
    inbox, created = store.create(table, channel, address, "admin", clock.iso(clock.now()), name=name, team=team)
    if not created:
        changes: dict[str, Any] = {"status": "active"}
        if name is not None:
            changes["name"] = name
        if team is not None:
            changes["team"] = team
        inbox = store.update(table, inbox.id, changes) or inbox
    store.forget_ignored(table, inbox.id)
    _audit(table, "inbox.added", by, inbox.id)
    _forget_directory()
    return inbox


def change(table: Table, inbox_id: str, changes: dict[str, Any], by: str) -> Inbox:
    """`changes` holds the fields given: name and team, None (or "") to clear one."""
    changes = {k: (v or None) for k, v in changes.items() if k in ("name", "team")}
    _check_team(table, changes.get("team"))
    inbox = store.update(table, inbox_id, changes)
    if inbox is None:
        raise NotFound(f"inbox {inbox_id} not found")
    _audit(table, "inbox.changed", by, inbox_id)
    _forget_directory()
    return inbox


def block(table: Table, inbox_id: str, by: str) -> Inbox:
    """No longer the business's: its events are ignored (its conversations stay). POST /api/inboxes undoes it."""
    inbox = store.update(table, inbox_id, {"status": "blocked"})
    if inbox is None:
        raise NotFound(f"inbox {inbox_id} not found")
    _audit(table, "inbox.blocked", by, inbox_id)
    _forget_directory()
    return inbox


def ignored(table: Table) -> list[IgnoredInbox]:
    return sorted(store.ignored(table), key=lambda i: i.last_at, reverse=True)


def _members(members: list[str]) -> list[str]:
    return list(dict.fromkeys(m.strip().lower() for m in members))


def _unique_name(teams: list[Team], name: str, team_id: str | None) -> None:
    if any(t.name.casefold() == name.casefold() and t.id != team_id for t in teams):
        raise Conflict(f"a team is already called {name!r}", code="team_exists")


def create_team(table: Table, name: str, members: list[str], by: str) -> Team:
    _unique_name(directory(table, fresh=True)[1], name.strip(), None)
    team_id = ids.new_id("tm_")
    team = store.put_team(table, team_id, name.strip(), _members(members), clock.iso(clock.now()), new=True)
    _audit(table, "team.created", by, team_id)
    _forget_directory()
    assert team is not None
    return team


def replace_team(table: Table, team_id: str, name: str, members: list[str], by: str) -> Team:
    _unique_name(directory(table, fresh=True)[1], name.strip(), team_id)
    team = store.put_team(table, team_id, name.strip(), _members(members), clock.iso(clock.now()), new=False)
    if team is None:
        raise NotFound(f"team {team_id} not found")
    _audit(table, "team.changed", by, team_id)
    _forget_directory()
    return team


def delete_team(table: Table, team_id: str, by: str) -> None:
    """The team goes; its inboxes have no team from now on (their new conversations go to everyone)."""
    if not store.delete_team(table, team_id):
        raise NotFound(f"team {team_id} not found")
    for inbox in directory(table, fresh=True)[0]:
        if inbox.team == team_id:
            store.detach_team(table, inbox.id, team_id)
    _audit(table, "team.deleted", by, team_id)
    _forget_directory()



# -- upgrading a deployment older than inboxes --------------------------------------------------------------------
UPGRADE_PAGE = 200


def upgrade(table: Table, cursor: str | None = None, limit: int = UPGRADE_PAGE) -> tuple[dict[str, int], str | None]:
    """For a deployment that had conversations before inboxes existed (infra/scripts/upgrade-inboxes.py): every
    business address its conversations came in by becomes an inbox (it was being filed, and stays so), and each
    conversation gets its place in InboxIndex (and in CreatedIndex and ContactIndex, when it is older than them).
    One page of one status per call; rerun with the cursor until None.
    Idempotent: a conversation that has moved since it was read keeps the key its own activity wrote."""
    from switchboard.store.inbox import STATUSES
    from switchboard.store.table import decode_cursor, encode_cursor

    state = decode_cursor(cursor) or {"status": 0, "start": None}
    position, start = state.get("status"), state.get("start")
    if not isinstance(position, int) or not 0 <= position < len(STATUSES) or not (start is None or isinstance(start, dict)):
        raise BadRequest("invalid cursor", code="invalid_cursor")
    items, resume = store.unindexed(table, STATUSES[position], start, limit)
    counts = {"conversations": 0, "inboxes": 0}
    now = clock.iso(clock.now())
    seen: set[str] = set()
    for item in items:
        address = (item["channel"], item["inbox_id"])
        if ids.inbox_id(*address) not in seen:
            seen.add(ids.inbox_id(*address))
            counts["inboxes"] += store.create(table, *address, "existing", now)[1]
        counts["conversations"] += store.index_conversation(table, item)
    if counts["inboxes"]:
        _forget_directory()
    if resume:
        return counts, encode_cursor({"status": position, "start": resume})
    if position + 1 < len(STATUSES):
        return counts, encode_cursor({"status": position + 1, "start": None})
    return counts, None
