"""Surveys of resolutions (CONV#<id> / SURVEY#<resolution>): claimed once before the email goes out, then the
customer's rating and comment, copied to the conversation for the agents."""

from __future__ import annotations

from typing import Any

from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table


def claim(table: Table, conv_id: str, resolution: str, *, resolved_by: str | None, sent_at: str,
          expires_token: int) -> bool:
    """The survey of this resolution is being sent; False when it has been already."""
    try:
        table.put({**keys.survey(conv_id, resolution), "type": "survey", "state": "sending", "resolved_by": resolved_by,
                   "sent_at": sent_at, "expires_token": expires_token}, condition="attribute_not_exists(pk)")
    except ConditionFailed:
        return False
    return True


def release(table: Table, conv_id: str, resolution: str) -> None:
    """Not sent after all: the next run may try again."""
    table.delete(keys.survey(conv_id, resolution))


def mark_sent(table: Table, conv_id: str, resolution: str) -> None:
    table.update(keys.survey(conv_id, resolution), "SET #s = :sent", names={"#s": "state"}, vals={":sent": "sent"})


def get(table: Table, conv_id: str, resolution: str) -> dict[str, Any] | None:
    return table.get(keys.survey(conv_id, resolution), consistent=True)


def of_conversation(table: Table, conv_id: str) -> list[dict[str, Any]]:
    """Every survey of the conversation (one per resolution)."""
    return table.query_all("pk = :pk AND begins_with(sk, :p)",
                           {":pk": keys.conversation_pk(conv_id), ":p": keys.SURVEY_PREFIX})


def rate(table: Table, conv_id: str, resolution: str, rating: int, at: str, agent: str) -> bool:
    """Record the rating once, on the survey and on the conversation (credited to `agent`); False on a second
    answer (the first stands)."""
    try:
        table.transact([
            {"Update": {"Key": keys.survey(conv_id, resolution), "UpdateExpression": "SET rating = :r, answered_at = :at",
                        "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(rating)",
                        "ExpressionAttributeValues": {":r": rating, ":at": at}}},
            {"Update": {"Key": keys.conversation(conv_id), "UpdateExpression": "SET rating = :r, rated_agent = :a",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": {":r": rating, ":a": agent}}},
        ])
    except ConditionFailed:
        return False
    return True


def add_comment(table: Table, conv_id: str, resolution: str, comment: str) -> bool:
    """The comment, once and only after a rating, on the survey and on the conversation beside its rating; False
    otherwise."""
    try:
        table.transact([
            {"Update": {"Key": keys.survey(conv_id, resolution), "UpdateExpression": "SET #c = :c",
                        "ConditionExpression": "attribute_exists(rating) AND attribute_not_exists(#c)",
                        "ExpressionAttributeNames": {"#c": "comment"}, "ExpressionAttributeValues": {":c": comment}}},
            {"Update": {"Key": keys.conversation(conv_id), "UpdateExpression": "SET rating_comment = :c",
                        "ConditionExpression": "attribute_exists(pk)", "ExpressionAttributeValues": {":c": comment}}},
        ])
    except ConditionFailed:
        return False
    return True


# -- answers that can change (issue 11): every change checks the version it was decided on ----------------------
def answer(table: Table, conv_id: str, resolution: str, version: int, set_fields: dict[str, Any],
           remove_fields: list[str], counted: int | None, agent: str) -> bool:
    """Write an answer decided on the survey record at `version`: its fields, and the conversation's `rating` (the
    counted one, or none while only a provisional answer is held). False when another answer was written since:
    the caller reads again and decides again, so that concurrent clicks never both move the counts."""
    fields = {**set_fields, "version": version + 1}
    names = {f"#s{i}": name for i, name in enumerate(fields)}
    vals: dict[str, Any] = {f":s{i}": value for i, value in enumerate(fields.values())}
    expression = "SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(fields)))
    removed = [name for name in remove_fields if name not in fields]
    if removed:
        names |= {f"#r{i}": name for i, name in enumerate(removed)}
        expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removed)))
    vals[":v"] = version
    condition = "attribute_exists(pk) AND " + ("attribute_not_exists(version)" if version == 0 else "version = :v")
    if version == 0:
        vals.pop(":v")
    conversation = ({"UpdateExpression": "SET rating = :r, rated_agent = :a",
                     "ExpressionAttributeValues": {":r": counted, ":a": agent}} if counted is not None
                    else {"UpdateExpression": "REMOVE rating, rated_agent"})
    try:
        table.transact([
            {"Update": {"Key": keys.survey(conv_id, resolution), "UpdateExpression": expression,
                        "ConditionExpression": condition, "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": vals}},
            {"Update": {"Key": keys.conversation(conv_id), "ConditionExpression": "attribute_exists(pk)",
                        **conversation}},
        ])
    except ConditionFailed:
        return False
    return True
