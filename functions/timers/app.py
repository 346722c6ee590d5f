"""Timers: EventBridge Scheduler runs this every minute (rate(1 minute), template.yaml): snoozed conversations wake,
SLA targets get their warning and their breach recorded, each once."""

from aws_lambda_powertools import Logger

from switchboard import scheduled
from switchboard.services import timers

logger = Logger()
handler = scheduled.handler(logger, timers.run, "timers run")
