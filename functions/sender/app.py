"""Outbound FIFO consumer: sends each reply once; a failure stops the rest of its group, keeping order."""

from functools import cache

from aws_lambda_powertools import Logger

from switchboard import observability, queue
from switchboard.errors import RetryableSendError
from switchboard.services import sending

logger = Logger()


@cache
def _batch():
    # Powertools' batch utility (and asyncio with it) and the job model load with the first batch, not at init.
    from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor

    # A failed record holds back the rest of its own group (its conversation's order), not other conversations.
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    # A batch whose every record failed is reported like any partial failure, not as an invocation error (an Errors
    # alarm, and a traceback of every record in the log). The FIFO processor's __init__ does not take the option.
    processor.raise_on_entire_batch_failure = False
    return processor


def record_handler(record):
    from switchboard.models import OutboundJob

    try:
        job = OutboundJob.model_validate_json(record.body)
        result = sending.send(job, attempt=int(record.attributes.approximate_receive_count or 1))
    except RetryableSendError as exc:
        # A provider's Retry-After too long to wait inside the call: the job comes back when it says, not sooner.
        if exc.retry_after is not None:
            queue.retry_outbound_after(record.receipt_handle, exc.retry_after)
        _log_failure(record, exc)
        raise
    except Exception as exc:  # any failure fails this record (the batch reports it); logged by type, then re-raised
        _log_failure(record, exc)
        raise
    logger.info("outbound handled", extra={"conversation_id": job.conversation_id, "message_id": job.message_id,
                                           "result": result})
    if result in ("sent", "failed", "unknown"):  # the live workspace (issue 15): the app shows the new status
        from switchboard.services import push
        from switchboard.store.table import Table

        push.message_updated(Table(), job.conversation_id, job.message_id, "sent" if result == "sent" else "failed")


def _log_failure(record, exc):
    # Retried by the queue (later records of the group wait), then the DLQ: say which and why.
    logger.warning("outbound record failed", extra={"message_id": record.message_id, "error": type(exc).__name__,
                                                    "receive_count": record.attributes.approximate_receive_count})


@observability.traced
@observability.flush
@logger.inject_lambda_context
def handler(event, context):
    from aws_lambda_powertools.utilities.batch import process_partial_response

    return process_partial_response(event=event, record_handler=record_handler, processor=_batch(), context=context)
