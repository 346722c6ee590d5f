"""Outbound FIFO consumer: sends each reply once; a failure stops the rest of its group, keeping order."""

from functools import cache

from aws_lambda_powertools import Logger

from switchboard import observability
from switchboard.services import sending

logger = Logger()


@cache
def _batch():
    # Powertools' batch utility (and asyncio with it) and the job model load with the first batch, not at init.
    from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor

    return SqsFifoPartialProcessor()


def record_handler(record):
    from switchboard.models import OutboundJob

    try:
        job = OutboundJob.model_validate_json(record.body)
        result = sending.send(job)
    except Exception as exc:
        # Retried by the queue (later records of the group wait), then the DLQ: say which and why.
        logger.warning("outbound record failed", extra={"message_id": record.message_id, "error": type(exc).__name__,
                                                        "receive_count": record.attributes.approximate_receive_count})
        raise
    logger.info("outbound handled", extra={"conversation_id": job.conversation_id, "message_id": job.message_id,
                                           "result": result})


@observability.flush
@logger.inject_lambda_context
def handler(event, context):
    from aws_lambda_powertools.utilities.batch import process_partial_response

    return process_partial_response(event=event, record_handler=record_handler, processor=_batch(), context=context)
