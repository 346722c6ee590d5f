"""No-response auto-replies: EventBridge Scheduler runs this every minute (rate(1 minute), template.yaml)."""

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
