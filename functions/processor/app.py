"""Inbound queue consumer: each record is one normalized event; failures are reported per record."""

from functools import cache

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


def record_handler(record):
    from switchboard.models import InboundEnvelope

    try:
        envelope = InboundEnvelope.model_validate_json(record.body)
        observability.set_correlation_id(envelope.correlation_id)  # this record's lines go with its webhook request
        outcome = processing.process(envelope, attempt=int(record.attributes.approximate_receive_count or 1))
    except Exception as exc:  # any failure fails this record (the batch reports it); logged by type, then re-raised
        # Retried by the queue, then the DLQ: say which record and why (never its content).
        logger.warning("inbound record failed", extra={"message_id": record.message_id, "error": type(exc).__name__,
                                                       "receive_count": record.attributes.approximate_receive_count})
        raise
    logger.info("inbound processed", extra={"kind": envelope.event.kind, "channel": envelope.event.channel,
                                            "result": outcome.result, "conversation_id": outcome.conversation_id})


@observability.traced
@observability.flush
@logger.inject_lambda_context
def handler(event, context):
    from aws_lambda_powertools.utilities.batch import process_partial_response

    return process_partial_response(event=event, record_handler=record_handler, processor=_batch(), context=context)
