"""SES bounces and complaints (configuration set -> SNS): the address is never mailed again."""

from aws_lambda_powertools import Logger

from switchboard import observability
from switchboard.services import survey

logger = Logger()


@observability.traced
@observability.flush
@logger.inject_lambda_context
def handler(event, context):
    counts = survey.handle_ses_notifications(event)
    logger.info("ses notifications", extra=counts)
    return counts
