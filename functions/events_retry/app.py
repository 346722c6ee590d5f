"""Event deliveries due again (retries with backoff): EventBridge Scheduler runs this every minute (template.yaml)."""

from aws_lambda_powertools import Logger

from switchboard import scheduled
from switchboard.services import webhooks

logger = Logger()
handler = scheduled.handler(logger, webhooks.run_retries, "event retries queued")
