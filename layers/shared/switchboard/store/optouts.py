"""Consent on the contact's profile: `do_not_contact`, and `opted_out`, the channels the customer opted out of (a
string set), each change stamped per channel (`optout_at_<channel>`) so that an older keyword arriving late (a STOP
delivered after the START that followed it) never undoes a newer one."""

from __future__ import annotations

from switchboard.channel_names import CHANNELS
from switchboard.errors import NotFound
from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table


def _stamp(channel: str) -> str:
    if channel not in CHANNELS:  # the attribute name is built from it: only a known channel name
        raise ValueError(f"unknown channel {channel!r}")
    return f"optout_at_{channel}"


def set_opted_out(table: Table, contact_id: str, channel: str, opted_out: bool, at: str) -> bool:
    """Opt the contact out of (or back into) one channel, unless a change at `at` or later was recorded. True when
    applied; False when a newer change stands or the contact is gone."""
    try:
        table.update(keys.contact(contact_id),
                     f"{'ADD' if opted_out else 'DELETE'} opted_out :ch SET #at = :at",
                     names={"#at": _stamp(channel)}, vals={":ch": {channel}, ":at": at},
                     condition="attribute_exists(pk) AND (attribute_not_exists(#at) OR #at < :at)")
    except ConditionFailed:
        return False
    return True


def set_do_not_contact(table: Table, contact_id: str, value: bool) -> None:
    try:
        table.update(keys.contact(contact_id), "SET do_not_contact = :v", vals={":v": value},
                     condition="attribute_exists(pk)")
    except ConditionFailed:
        raise NotFound(f"contact {contact_id} not found") from None
