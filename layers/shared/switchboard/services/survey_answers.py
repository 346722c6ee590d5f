"""A survey's answer, which link-scanning mail filters must not decide.

The rating links are plain GETs (`/survey/{token}?rating=N`, the contract), and mail filters (Microsoft Safe Links,
Mimecast, Proofpoint) fetch links: some every link of a message as it is delivered, some the link a reader clicks,
just before the reader does. So:

- An answer through a link is *held* (provisional: stored, shown back, not counted in CSAT nor shown to agents) when
  it arrives within HOLD_SECONDS of the survey email being sent (delivery-time scanning), or within BURST_SECONDS of
  a different rating through a link of the same survey (a scanner following every link). A burst also undoes
  what the burst's first click had counted (the rating it replaced counts again, or none).
- Any other answer through a link counts, and so does every answer through the thank-you page's form (a POST,
  which scanners do not send): the page shows the held or counted rating and lets the customer confirm or change
  it for as long as the link is valid.
- A later counted answer replaces the earlier one: the day's CSAT counters move by the difference (the survey is
  counted once, on the day it was first counted), never twice. The same rating again changes nothing.

Each change is decided on the survey record as read and written only if no other answer was written meanwhile (a
version), so concurrent clicks are applied one after the other. The counters are updated after that write, as
every metric is (store/metrics.record: a failure loses a count, never doubles one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from switchboard import clock, observability
from switchboard.errors import BadRequest, NotFound, ServiceUnavailable
from switchboard.store import conversations, metrics, reports, surveys
from switchboard.store.table import Table

HOLD_SECONDS = 300  # after the email is sent: deliveries are scanned within this
BURST_SECONDS = 60  # different ratings of one survey this close together: a scanner, not a customer
ATTEMPTS = 5
RATINGS = ("1", "2", "3", "4", "5")
# a rating link (GET), the thank-you page's form (POST), or (rich replies) an answer in the customer's own channel
# (services/channel_survey.py), which no scanner sends: counted as the page's
Source = Literal["link", "page", "channel"]


def parse_rating(raw: str | None) -> int:
    """A rating as the links and the page's form carry it: exactly one ASCII digit 1 to 5. Anything else (another
    script's digits, a huge number, a list, empty) is BadRequest invalid_rating."""
    if raw not in RATINGS:
        raise BadRequest("the rating must be 1 to 5", code="invalid_rating")
    return int(raw)


@dataclass
class Decision:
    outcome: Literal["counted", "held", "unchanged"]
    set_fields: dict[str, Any] = field(default_factory=dict)
    remove_fields: list[str] = field(default_factory=list)
    counted: int | None = None  # the survey's counted rating afterwards (the conversation's)
    deltas: dict[str, dict[str, int]] = field(default_factory=dict)  # day -> CSAT counters to add
    new_response: bool = False  # a survey counted for the first time (or again, after a withdrawal)
    resolved_by: str | None = None  # the agent who resolved the surveyed conversation (the csat event names them)


def _csat(rating: int, sign: int = 1) -> dict[str, int]:
    return {"csat_n": sign, "csat_sum": sign * rating, "csat_45": sign * (1 if rating >= 4 else 0)}


def _seconds(since: str | None, now: datetime) -> float | None:
    return (now - clock.parse_iso(since)).total_seconds() if since else None


def decide(record: dict[str, Any], rating: int, source: Source, now: datetime) -> Decision:
    """What an answer does to a survey record (pure: no reads, no writes)."""
    at, day = clock.iso(now), clock.iso(now)[:10]
    counted: int | None = record.get("rating")
    counted_day = record.get("counted_day") or (record.get("answered_at") or at)[:10]
    last = record.get("last_click") if isinstance(record.get("last_click"), dict) else None
    click = {"rating": rating, "at": at} if source == "link" else None
    since_sent = _seconds(record.get("sent_at"), now)
    early = source == "link" and since_sent is not None and since_sent < HOLD_SECONDS
    since_last = _seconds(last.get("at"), now) if last else None
    burst = (source == "link" and last is not None and last.get("rating") != rating
             and since_last is not None and since_last < BURST_SECONDS)
    decision = Decision("unchanged", counted=counted)
    if click:
        decision.set_fields["last_click"] = click
    if early or burst:
        decision.outcome = "held"
        decision.set_fields |= {"provisional": rating, "provisional_at": at}
        clicked_at = _seconds(record.get("counted_click_at"), now)
        if burst and counted is not None and clicked_at is not None and clicked_at < BURST_SECONDS:
            # The burst's first click counted a rating: it was the scanner's too. Undone: the rating it replaced
            # counts again, or none does.
            replaced = record.get("replaced")
            decision.remove_fields += ["counted_click_at", "replaced"]
            if isinstance(replaced, int):
                old, new = _csat(counted), _csat(replaced)
                decision.deltas[counted_day] = {k: new[k] - old[k] for k in ("csat_sum", "csat_45")}
                decision.set_fields["rating"] = decision.counted = replaced
            else:
                decision.deltas[counted_day] = _csat(counted, -1)
                decision.remove_fields += ["rating", "counted_day", "answered_at"]
                decision.counted = None
        return decision
    if counted == rating and "provisional" not in record:
        return decision  # the same answer again (a customer's second click, or a scanner ahead of the customer)
    decision.outcome = "counted"
    decision.counted = rating
    decision.set_fields |= {"rating": rating, "answered_at": at}
    decision.remove_fields += ["provisional", "provisional_at"]
    if source == "link":  # a click may yet turn out to be a scanner's: what it replaced is kept to undo it
        decision.set_fields["counted_click_at"] = at
        if counted is not None:
            decision.set_fields["replaced"] = counted
        else:
            decision.remove_fields.append("replaced")
    else:
        decision.remove_fields += ["counted_click_at", "replaced"]
    if counted is None:
        decision.set_fields["counted_day"] = day
        decision.deltas[day] = _csat(rating)
        decision.new_response = True
    elif counted != rating:
        old, new = _csat(counted), _csat(rating)
        decision.deltas[counted_day] = {k: new[k] - old[k] for k in ("csat_sum", "csat_45")}
    return decision


def answer(table: Table, conv_id: str, resolution: str, rating: int, source: Source) -> Decision:
    """Apply an answer to the survey of one resolution; returns what it did. NotFound when the survey is gone,
    ServiceUnavailable when other answers kept winning (the client tries again)."""
    for _ in range(ATTEMPTS):
        record = surveys.get(table, conv_id, resolution)
        if record is None:
            raise NotFound("this survey is no longer available", code="survey_gone")
        now = clock.now()
        decision = decide(record, rating, source, now)
        decision.resolved_by = record.get("resolved_by")  # set when the survey was sent; an answer never changes it
        if decision.outcome == "unchanged" and not decision.set_fields:
            return decision
        report = _report_keys(table, conv_id, record, decision, now)
        if surveys.answer(table, conv_id, resolution, int(record.get("version") or 0), decision.set_fields,
                          decision.remove_fields, decision.counted, record.get("resolved_by") or "-"):
            _count(table, decision)
            if report:
                for counters in decision.deltas.values():  # one day's deltas: the day it was first counted
                    reports.csat(table, report[0], report[1], counters)
            return decision
    raise ServiceUnavailable("the survey is being answered by several clicks at once: try again")


def _report_keys(table: Table, conv_id: str, record: dict[str, Any], decision: Decision, now: datetime
                 ) -> tuple[str, dict[str, list[str]]] | None:
    """Reports: the business day and the keys (agent who resolved, labels, channel, inbox, source) a survey's CSAT
    counts under, fixed when it is first counted (kept on the survey record, so that a changed answer moves the
    same counters); None for a survey first counted before reports existed (the reports never counted it)."""
    if decision.new_response:
        conv = conversations.get(table, conv_id)
        if conv is None:
            return None
        day, dims = reports.local_day(table, now), reports.dims_of(conv, record.get("resolved_by"))
        decision.set_fields |= {"report_day": day, "report_dims": dims}
        return day, dims
    kept_day, kept_dims = record.get("report_day"), record.get("report_dims")
    return (kept_day, kept_dims) if isinstance(kept_day, str) and isinstance(kept_dims, dict) else None


def _count(table: Table, decision: Decision) -> None:
    for day, counters in decision.deltas.items():
        changed: dict[str, int | float] = {name: value for name, value in counters.items() if value}
        if changed:
            metrics.record(table, day, changed)
    if decision.new_response and decision.counted is not None:
        observability.count("CsatResponses")
        observability.count("CsatRatingSum", decision.counted)
    elif decision.outcome == "counted" and decision.deltas:
        observability.count("CsatChanged")
    elif decision.outcome == "held":
        observability.count("CsatHeld")
