"""No-response auto-replies: EventBridge Scheduler runs this every minute (rate(1 minute), template.yaml)."""

from aws_lambda_powertools import Logger

from switchboard import scheduled
from switchboard.services import automation

logger = Logger()
handler = scheduled.handler(logger, automation.run_auto_reply, "auto_reply run")
