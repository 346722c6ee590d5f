"""WhatsApp template sync: EventBridge Scheduler runs this daily (rate(1 day), template.yaml); admins can also sync
now (POST /api/templates/sync)."""

from aws_lambda_powertools import Logger

from switchboard import observability
from switchboard.services import templates

logger = Logger()


@observability.traced
@observability.flush
@logger.inject_lambda_context
def handler(event, context):
    if not templates.configured():
        logger.info("template sync skipped: no WhatsApp Business Account id configured")
        return {"skipped": 1}
    counts = templates.sync()
    logger.info("template sync run", extra=counts)
    return counts
