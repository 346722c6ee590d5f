"""Retention sweep: EventBridge Scheduler runs this every hour (rate(1 hour), template.yaml)."""

from aws_lambda_powertools import Logger

from switchboard import observability
from switchboard.services import lifecycle

logger = Logger()


@observability.traced
@observability.flush
@logger.inject_lambda_context
def handler(event, context):
    counts = lifecycle.run_retention()
    logger.info("retention run", extra=counts)
    return counts
