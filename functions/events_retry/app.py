"""Event deliveries due again (retries with backoff): EventBridge Scheduler runs this every minute (template.yaml)."""

from aws_lambda_powertools import Logger

from switchboard import observability
from switchboard.services import webhooks

logger = Logger()


@observability.traced
@observability.flush
@logger.inject_lambda_context
def handler(event, context):
    counts = webhooks.run_retries()
    logger.info("event retries queued", extra=counts)
    return counts
