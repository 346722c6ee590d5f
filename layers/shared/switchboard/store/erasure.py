"""Deleting conversations and contacts completely: items, media and raw email objects, references."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from switchboard import aws
from switchboard.errors import ServiceUnavailable
from switchboard.settings import get_settings
from switchboard.store import due, keys, notifications
from switchboard.store import search as search_index
from switchboard.store.table import ConditionFailed, Table


@dataclass
class Counts:
    conversations: int = 0
    messages: int = 0
    items: int = 0
    objects: int = 0
    contacts: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {"conversations": self.conversations, "messages": self.messages, "items": self.items,
                "objects": self.objects, "contacts": self.contacts, **self.extra}


def _partition(table: Table, pk: str) -> list[dict[str, Any]]:
    return table.query_all("pk = :pk", {":pk": pk}, consistent=True)


def _delete_keys(table: Table, item_keys: list[dict[str, str]]) -> int:
    return table.batch_delete(item_keys) if item_keys else 0


def delete_objects(keys_: list[str]) -> int:
    """Delete media and raw email objects from the bucket (a missing one is no error)."""
    if not keys_:
        return 0
    from botocore.exceptions import BotoCoreError, ClientError

    bucket = get_settings().media_bucket
    try:
        for start in range(0, len(keys_), 1000):
            out = aws.s3().delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys_[start:start + 1000]],
                                                                 "Quiet": True})
            if out.get("Errors"):  # S3 answers 200 and lists the objects it did not delete (AccessDenied, ...)
                raise ServiceUnavailable(f"S3 kept {len(out['Errors'])} objects")
    except (BotoCoreError, ClientError) as exc:
        raise ServiceUnavailable("S3 delete failed") from exc
    return len(keys_)


def conversation_items(table: Table, conv_id: str) -> list[dict[str, Any]]:
    return _partition(table, keys.conversation_pk(conv_id))


def delete_conversation(table: Table, conv_id: str, counts: Counts,
                        items: list[dict[str, Any]] | None = None) -> str | None:
    """Everything of one conversation (`items`: its partition, when the caller has read it already).
    Returns its contact id (None if it was already gone). Safe to rerun."""
    items = items if items is not None else conversation_items(table, conv_id)
    meta = next((i for i in items if i["sk"] == keys.META), None)
    objects: list[str] = []
    extra_keys: list[dict[str, str]] = []
    markers: list[dict[str, str]] = []
    for item in items:
        if item["sk"].startswith(keys.MSG_PREFIX):
            counts.messages += 1
            objects += [a["s3_key"] for a in item.get("attachments", []) if a.get("s3_key")]
            objects += [a["upload_key"] for a in item.get("attachments", []) if a.get("upload_key")]  # not copied yet
            if item.get("raw_ref"):
                objects.append(item["raw_ref"])
            if item.get("transcript_ref"):  # issue 17: a voicemail's transcription output (Amazon Transcribe's JSON)
                objects.append(item["transcript_ref"])
            for part_id in set((item.get("sent_parts") or {}).values()) - {item.get("provider_message_id")}:
                extra_keys.append(keys.provider_message(item["channel"], part_id))  # a reply's other parts (files)
            if item.get("direction") == "outbound" and item.get("provider_message_id"):
                extra_keys.append(keys.provider_message(item["channel"], item["provider_message_id"]))
            elif item.get("direction") == "inbound" and item.get("provider_message_id"):
                markers.append(keys.inbound_marker(item["channel"], item["provider_message_id"]))
                if item.get("message_ref"):  # the email thread's way back to this conversation
                    extra_keys.append(keys.provider_message(item["channel"], item["message_ref"]))
    entry = next((i for i in items if i["sk"] == due.RETENTION_SK), None)
    contact_id = (meta or entry or {}).get("contact_id")
    counts.objects += delete_objects(objects)
    for marker in markers:
        # The dedupe marker stays until its TTL, so a late provider retry cannot bring the message back;
        # only its links to the conversation go.
        try:
            table.update(marker, "REMOVE conversation_id, message_id, message_created_at",
                         condition="attribute_exists(pk)")
        except ConditionFailed:
            pass
    source = (meta or {}).get("source") or {}
    if meta and source.get("link_id"):  # growth: its item in the entry link's list of conversations
        extra_keys.append(keys.source_conversation(source["link_id"], meta["created_at"], conv_id))
    if meta and contact_id:
        extra_keys.append(keys.contact_conversation(contact_id, conv_id))
        pointer = keys.active_conversation(meta["channel"], meta["inbox_id"], contact_id)
        try:
            table.delete(pointer, condition="conversation_id = :c", vals={":c": conv_id})
        except ConditionFailed:
            pass  # the pointer already leads to a newer conversation (or is gone)
    if meta and meta.get("comment_thread"):  # issue 17: a comment thread's pointer, and its private replies' claims
        extra_keys.append(keys.comment_thread(meta["channel"], meta["inbox_id"], meta["comment_thread"]))
        extra_keys += [keys.private_reply(i["channel"], i["comment_id"]) for i in items
                       if i["sk"].startswith(keys.MSG_PREFIX) and i.get("direction") == "inbound"
                       and i.get("comment_id")]
    extra_keys += search_index.conversation_index_keys(items)  # what the search index holds of it (derived)
    extra_keys += notifications.conversation_keys(items)  # issue 15: agents' notifications naming it
    # The META item goes last: while it exists a rerun finds the rest.
    rest = [{"pk": i["pk"], "sk": i["sk"]} for i in items if i["sk"] != keys.META]
    counts.items += _delete_keys(table, extra_keys + rest)
    if meta:
        counts.items += _delete_keys(table, [keys.conversation(conv_id)])
        counts.conversations += 1
    return contact_id


def contact_has_conversations(table: Table, contact_id: str) -> bool:
    items, _ = table.query("pk = :pk AND begins_with(sk, :p)", {":pk": keys.contact_pk(contact_id), ":p": "CONV#"},
                           limit=1, consistent=True)
    return bool(items)


def delete_contact(table: Table, contact_id: str, counts: Counts) -> list[dict[str, Any]]:
    """The contact's profile and identities (their conversations must be gone first). Returns the identities it held
    (`{"identity", "channel", "address"}`), for what else goes with them (web chat visitors' connections)."""
    items = _partition(table, keys.contact_pk(contact_id))
    identity_keys = [keys.identity(i["identity"]) for i in items if i["sk"].startswith("IDENTITY#")]
    for key in identity_keys:  # only if it still points at this contact (a merge may have moved it)
        try:
            table.delete(key, condition="contact_id = :c", vals={":c": contact_id})
            counts.items += 1
        except ConditionFailed:
            pass
    profile = [{"pk": i["pk"], "sk": i["sk"]} for i in items if i["sk"] == "PROFILE"]
    indexed = search_index.contact_index_keys(items)  # the contact's search index items (derived)
    counts.items += _delete_keys(table, indexed + [{"pk": i["pk"], "sk": i["sk"]} for i in items
                                                   if i["sk"] != "PROFILE"] + profile)
    if profile:
        counts.contacts += 1
    return [{k: i.get(k) for k in ("identity", "channel", "address")} for i in items if i["sk"].startswith("IDENTITY#")]
