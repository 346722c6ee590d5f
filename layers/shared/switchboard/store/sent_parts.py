"""The parts of an outbound message with files (rich replies): each provider message recorded as it is sent, so that
a retry of the reply sends only the parts that have not gone out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from switchboard.store import keys
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import Message


def record_part(table: Table, message: Message, part: str, provider_message_id: str) -> None:
    """Part `part` went out as `provider_message_id`: recorded on the message while this attempt holds it (sending),
    once. Raises ConditionFailed when the part is recorded already or the message is no longer being sent."""
    table.update(keys.message(message.conversation_id, message.created_at, message.id), "SET sent_parts.#part = :pid",
                 names={"#part": part, "#st": "status"}, vals={":pid": provider_message_id, ":sending": "sending"},
                 condition="#st = :sending AND attribute_not_exists(sent_parts.#part)")
