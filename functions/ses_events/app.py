"""SES bounces and complaints (configuration set -> SNS): a reply's bounce marks it failed, and an address that
bounces for good or complains is never mailed automatically again."""

from aws_lambda_powertools import Logger

from switchboard import observability
from switchboard.services import mail_feedback

logger = Logger()


@observability.traced
@observability.flush
@logger.inject_lambda_context
def handler(event, context):
    counts = mail_feedback.handle_ses_notifications(event)
    logger.info("ses notifications", extra=counts)
    return counts
