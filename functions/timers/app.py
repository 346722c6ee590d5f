"""Timers: EventBridge Scheduler runs this every minute (rate(1 minute), template.yaml): snoozed conversations wake,
SLA targets get their warning and their breach recorded, each once."""

from aws_lambda_powertools import Logger

from switchboard import observability
from switchboard.services import timers

logger = Logger()


@observability.traced
@observability.flush
@logger.inject_lambda_context
def handler(event, context):
    counts = timers.run()
    logger.info("timers run", extra=counts)
    return counts
