"""Inboxes (issue 14): the business addresses conversations come in by, the channel's first one (trust on first
use), and the addresses whose events were ignored. Inboxes and teams share the DIRECTORY partition, read in one
Query; ignored addresses have a partition of their own, with a TTL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from switchboard import ids
from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table

if TYPE_CHECKING:
    from switchboard.models import IgnoredInbox, Inbox, Team

# Far more than a business has (numbers, pages, addresses, widgets, teams): a guard, not a limit anyone meets.
DIRECTORY_CAP = 2000
IGNORED_CAP = 200


def _inbox(item: dict[str, Any]) -> Inbox:
    from switchboard.models import Inbox

    return Inbox.model_validate(item)


def _team(item: dict[str, Any]) -> Team:
    from switchboard.models import Team

    return Team.model_validate(item)


def directory(table: Table) -> tuple[list[Inbox], list[Team]]:
    """Every inbox and team, in one Query of the DIRECTORY partition."""
    inboxes: list[Inbox] = []
    teams: list[Team] = []
    for item in table.query_all("pk = :pk", {":pk": keys.DIRECTORY_PK}, cap=DIRECTORY_CAP):
        if item["sk"].startswith(keys.INBOX_PREFIX):
            inboxes.append(_inbox(item))
        elif item["sk"].startswith(keys.TEAM_PREFIX):
            teams.append(_team(item))
    return inboxes, teams


def get(table: Table, inbox_id: str, consistent: bool = False) -> Inbox | None:
    item = table.get(keys.inbox(inbox_id), consistent=consistent)
    return _inbox(item) if item else None


def create(table: Table, channel: str, address: str, origin: str, now: str, name: str | None = None,
           team: str | None = None) -> tuple[Inbox, bool]:
    """The inbox of (channel, address), made active if it did not exist; (inbox, created). Its id is derived from
    the address, so two first messages at once make one inbox. The channel's first-inbox claim is taken as well
    (if nobody took it), so that trust on first use never adopts a second address after this one."""
    inbox_id = ids.inbox_id(channel, address)
    item: dict[str, Any] = {**keys.inbox(inbox_id), "type": "inbox", "id": inbox_id, "channel": channel,
                            "address": address, "status": "active", "created_at": now, "origin": origin}
    if name:
        item["name"] = name
    if team:
        item["team"] = team
    try:
        table.put(item, condition="attribute_not_exists(pk)")
        created = True
    except ConditionFailed:
        created = False
    claim_first(table, channel, address, now)
    if not created:
        existing = get(table, inbox_id, consistent=True)
        if existing:
            return existing, False
    return _inbox(item), created


def claim_first(table: Table, channel: str, address: str, now: str) -> bool:
    """Trust on first use: True when `address` is (or just became) the channel's first inbox. Conditional, so of
    two unknown addresses at once only one is adopted; a redelivery for the adopted one finds its own claim."""
    try:
        table.put({**keys.adopted(channel), "type": "inbox_adoption", "channel": channel, "address": address,
                   "at": now}, condition="attribute_not_exists(pk) OR address = :a", vals={":a": address})
    except ConditionFailed:
        return False
    return True


def update(table: Table, inbox_id: str, changes: dict[str, Any]) -> Inbox | None:
    """Set (a value) or remove (None) the given fields of an existing inbox: name, team, status. None when it
    does not exist."""
    sets = {k: v for k, v in changes.items() if v is not None}
    removes = [k for k, v in changes.items() if v is None]
    names = {f"#{k}": k for k in changes}
    expression = ""
    if sets:
        expression += "SET " + ", ".join(f"#{k} = :{k}" for k in sets)
    if removes:
        expression += " REMOVE " + ", ".join(f"#{k}" for k in removes)
    if not expression:
        return get(table, inbox_id, consistent=True)
    try:
        item = table.update(keys.inbox(inbox_id), expression.strip(), names=names,
                            vals={f":{k}": v for k, v in sets.items()} or None,
                            condition="attribute_exists(pk)", return_new=True)
    except ConditionFailed:
        return None
    return _inbox(item or {})


def detach_team(table: Table, inbox_id: str, team_id: str) -> None:
    """The team is gone: the inbox has none (unless it was given another meanwhile)."""
    try:
        table.update(keys.inbox(inbox_id), "REMOVE #t", names={"#t": "team"}, vals={":t": team_id},
                     condition="attribute_exists(pk) AND #t = :t")
    except ConditionFailed:
        pass


# -- ignored addresses ------------------------------------------------------------------------------------------------
def record_ignored(table: Table, channel: str, address: str, now: str, expires_at: int) -> None:
    """One more event for an address that is not an inbox: counted, for the admins to see (and allow)."""
    table.update(keys.ignored_inbox(ids.inbox_id(channel, address)),
                 "SET #t = :type, id = :id, channel = :ch, address = :ad, first_at = if_not_exists(first_at, :now), "
                 "last_at = :now, expires_at = :exp ADD events :one",
                 names={"#t": "type"},
                 vals={":type": "ignored_inbox", ":id": ids.inbox_id(channel, address), ":ch": channel,
                       ":ad": address, ":now": now, ":exp": expires_at, ":one": 1})


def ignored(table: Table) -> list[IgnoredInbox]:
    from switchboard.models import IgnoredInbox
    from switchboard.store.conversations import live

    return [IgnoredInbox.model_validate(item) for item in
            table.query_all("pk = :pk", {":pk": keys.IGNORED_INBOXES_PK}, cap=IGNORED_CAP) if live(item)]


def forget_ignored(table: Table, inbox_id: str) -> None:
    table.delete(keys.ignored_inbox(inbox_id))


# -- teams ------------------------------------------------------------------------------------------------------------
def get_team(table: Table, team_id: str, consistent: bool = False) -> Team | None:
    item = table.get(keys.team(team_id), consistent=consistent)
    return _team(item) if item else None


def put_team(table: Table, team_id: str, name: str, members: list[str], now: str, *, new: bool) -> Team | None:
    """Create (`new`) or replace a team's name and members; None when the team to replace does not exist."""
    item = {**keys.team(team_id), "type": "team", "id": team_id, "name": name, "members": members}
    if new:
        table.put({**item, "created_at": now}, condition="attribute_not_exists(pk)")
        return _team({**item, "created_at": now})
    try:
        result = table.update(keys.team(team_id), "SET #n = :n, members = :m", names={"#n": "name"},
                              vals={":n": name, ":m": members}, condition="attribute_exists(pk)", return_new=True)
    except ConditionFailed:
        return None
    return _team(result or {})


def delete_team(table: Table, team_id: str) -> bool:
    try:
        table.delete(keys.team(team_id), condition="attribute_exists(pk)")
    except ConditionFailed:
        return False
    return True


# -- upgrading a deployment older than inboxes (and than CreatedIndex and ContactIndex) ------------------------------
def unindexed(table: Table, status: str, start: dict[str, Any] | None, limit: int
              ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Conversations of one status written before InboxIndex, CreatedIndex or ContactIndex existed (without one of
    their keys): one page of GSI1."""
    return table.query("gsi1pk = :pk", {":pk": keys.inbox_status_pk(status)}, index=keys.INBOX_BY_STATUS,
                       limit=limit, start=start, filter_expression="attribute_not_exists(inbox_sk) OR "
                       "attribute_not_exists(created_sk) OR attribute_not_exists(contact_pk)")


def index_conversation(table: Table, item: dict[str, Any]) -> bool:
    """Give a conversation the index keys it lacks: InboxIndex's at the place its last activity gives it,
    CreatedIndex's and ContactIndex's. A key its own activity (or a merge) wrote since it was read stays as that
    wrote it. False when it is gone."""
    inbox_sk = keys.inbox_scope_sk(ids.inbox_id(item["channel"], item["inbox_id"]), item["updated_at"], item["id"])
    wanted = {"inbox_sk": inbox_sk, **keys.created_keys(item["created_at"], item["id"]),
              **keys.contact_conversations(item["contact_id"])}
    try:
        table.update(keys.conversation(item["id"]), "SET " + ", ".join(f"{k} = if_not_exists({k}, :{k})" for k in wanted),
                     vals={f":{k}": v for k, v in wanted.items()}, condition="attribute_exists(pk)")
    except ConditionFailed:
        return False
    return True
