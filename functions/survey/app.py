"""Satisfaction surveys: EventBridge Scheduler runs this every 5 minutes (rate(5 minutes), template.yaml)."""

from aws_lambda_powertools import Logger

from switchboard import observability
from switchboard.services import survey

logger = Logger()


@observability.traced
@observability.flush
@logger.inject_lambda_context
def handler(event, context):
    counts = survey.run()
    logger.info("survey run", extra=counts)
    return counts
