"""Inbound queue consumer: each record is one normalized event; failures are reported per record.

Two passes over a batch: every record is filed first (a customer's message stored and pushed to the agents' apps),
then each one's follow-up (automated replies, rules, media, search), so that the batch's last message is shown
without waiting for the slow work of all the others (services/processing.py, `defer_follow_up`)."""

from contextlib import contextmanager
from functools import cache, partial

from aws_lambda_powertools import Logger

from switchboard import observability
from switchboard.services import processing

logger = Logger()


@cache
def _batch():
    # Powertools' batch utility (and asyncio with it) and the envelope model load with the first batch, not at init.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    # A batch whose every record failed is reported like any partial failure: each record comes back, as it would,
    # without making the invocation an error (an Errors alarm, and a traceback of every record in the log).
    return BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@contextmanager
def _failing_the_record(record):
    """Any failure fails this record (the batch reports it); logged by type, then re-raised."""
    try:
        yield
    except Exception as exc:
        # Retried by the queue, then the DLQ: say which record and why (never its content).
        logger.warning("inbound record failed", extra={"message_id": record.message_id, "error": type(exc).__name__,
                                                       "receive_count": record.attributes.approximate_receive_count})
        raise


def record_handler(pending, record):
    """First pass: file the record; a customer message's follow-up waits in `pending` for the second."""
    from switchboard.models import InboundEnvelope

    with _failing_the_record(record):
        envelope = InboundEnvelope.model_validate_json(record.body)
        observability.set_correlation_id(envelope.correlation_id)  # this record's lines go with its webhook request
        outcome = processing.process(envelope, attempt=int(record.attributes.approximate_receive_count or 1),
                                     defer_follow_up=True)
    line = {"kind": envelope.event.kind, "channel": envelope.event.channel, "result": outcome.result,
            "conversation_id": outcome.conversation_id, **({"inbox": outcome.inbox} if outcome.inbox else {})}
    if outcome.follow_up is None:
        logger.info("inbound processed", extra=line)
    else:
        pending[record.message_id] = (envelope.correlation_id, outcome, line)


def follow_up_handler(pending, record):
    correlation_id, outcome, line = pending[record.message_id]
    observability.set_correlation_id(correlation_id)
    with _failing_the_record(record):
        processing.completed(outcome)
    logger.info("inbound processed", extra=line)


@observability.traced
@observability.flush
@logger.inject_lambda_context
def handler(event, context):
    from aws_lambda_powertools.utilities.batch import process_partial_response

    pending = {}
    filed = process_partial_response(event=event, record_handler=partial(record_handler, pending),
                                     processor=_batch(), context=context)
    later = [r for r in event["Records"] if r["messageId"] in pending]
    if not later:
        return filed
    followed = process_partial_response(event={"Records": later}, record_handler=partial(follow_up_handler, pending),
                                        processor=_batch(), context=context)
    return {"batchItemFailures": filed["batchItemFailures"] + followed["batchItemFailures"]}
