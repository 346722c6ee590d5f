"""No-response auto-replies, run on a schedule (EventBridge Scheduler)."""

from aws_lambda_powertools import Logger

from switchboard import observability
from switchboard.services import automation

logger = Logger()


@observability.traced
@observability.flush
@logger.inject_lambda_context
def handler(event, context):
    counts = automation.run_auto_reply()
    logger.info("auto_reply run", extra=counts)
    return counts
