"""Satisfaction surveys: EventBridge Scheduler runs this every 5 minutes (rate(5 minutes), template.yaml)."""

from aws_lambda_powertools import Logger

from switchboard import scheduled
from switchboard.services import survey

logger = Logger()
handler = scheduled.handler(logger, survey.run, "survey run")
