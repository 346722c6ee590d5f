"""Events queue consumer: each record is an event to fan out to its endpoints, or one delivery due again."""

from functools import cache

from aws_lambda_powertools import Logger

from switchboard import observability
from switchboard.services import webhooks

logger = Logger()


@cache
def _batch():
    # Powertools' batch utility and the job model load with the first batch, not at init.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    return BatchProcessor(event_type=EventType.SQS)


def record_handler(record):
    from switchboard.models import EventJob

    try:
        job = EventJob.model_validate_json(record.body)
        counts = webhooks.handle(job)
    except Exception as exc:  # a store failure fails this record: the queue retries it (deliveries are claimed once)
        logger.warning("events record failed", extra={"message_id": record.message_id, "error": type(exc).__name__,
                                                      "receive_count": record.attributes.approximate_receive_count})
        raise
    logger.info("events handled", extra={"event_id": job.event.id if job.event else None,
                                         "endpoint_id": job.endpoint_id, **counts})


@observability.traced
@observability.flush
@logger.inject_lambda_context
def handler(event, context):
    from aws_lambda_powertools.utilities.batch import process_partial_response

    return process_partial_response(event=event, record_handler=record_handler, processor=_batch(), context=context)
