"""Retention sweep: EventBridge Scheduler runs this every hour (rate(1 hour), template.yaml)."""

from aws_lambda_powertools import Logger

from switchboard import scheduled
from switchboard.services import lifecycle

logger = Logger()
handler = scheduled.handler(logger, lifecycle.run_retention, "retention run")
