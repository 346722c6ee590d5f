"""The help center publisher: jobs from the API (an article published, unpublished or deleted; the look changed)
arrive on a FIFO queue, one at a time; one rebuild serves the whole batch, since each rebuilds everything from the
table. A failure hands every record back to the queue (then its DLQ)."""

from aws_lambda_powertools import Logger

from switchboard import observability
from switchboard.services import help_publish

logger = Logger()


@observability.traced
@observability.flush
@logger.inject_lambda_context
def handler(event, context):
    records = event.get("Records") or []
    retry = any(int((r.get("attributes") or {}).get("ApproximateReceiveCount", "1")) > 1 for r in records)
    try:
        counts = help_publish.publish(retry=retry)
    except Exception as exc:  # noqa: BLE001 - any failure: every record comes back (FIFO: in order), then the DLQ
        logger.warning("help center publish failed", extra={"error": type(exc).__name__, "records": len(records)})
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}
    logger.info("help center published", extra={**counts, "records": len(records)})
    return {"batchItemFailures": []}
