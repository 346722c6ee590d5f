"""Inbound email: an SES receipt rule stores the raw message in S3, then invokes this with the SES event."""

from aws_lambda_powertools import Logger

from switchboard import observability
from switchboard.services import email_inbound

logger = Logger()


@observability.traced
@observability.flush
@logger.inject_lambda_context
def handler(event, context):
    # An AWS failure raises: the asynchronous invocation is retried, then lands in the on-failure queue.
    counts = email_inbound.handle_ses_event(event)
    logger.info("email received", extra=counts)
    return {"disposition": "CONTINUE"}
