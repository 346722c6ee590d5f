"""switchboard/scheduled.py: a scheduled function's handler runs its service call, logs the counts with the Lambda
context through the function's own logger, and returns them."""

from __future__ import annotations

import io
import json
import logging

from aws_lambda_powertools import Logger

from switchboard import scheduled
from tests.support.handlers import context


def test_the_handler_runs_the_call_and_logs_and_returns_its_counts(settings_env) -> None:
    settings_env(POWERTOOLS_METRICS_NAMESPACE="Switchboard/test")  # as in Lambda: the flush publishes what is recorded
    stream = io.StringIO()
    logger = Logger(service="scheduled-test", logger_handler=logging.StreamHandler(stream))
    runs: list[int] = []

    def run() -> dict[str, int]:
        runs.append(1)
        return {"deleted": 3}

    handler = scheduled.handler(logger, run, "sweep run")

    assert handler({"source": "aws.scheduler"}, context("SweepFunction")) == {"deleted": 3}
    assert runs == [1] and handler.__name__ == "handler"  # the trace's "## handler" subsegment, as before
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["message"] == "sweep run" and line["deleted"] == 3
    assert line["service"] == "scheduled-test" and line["function_name"] == "SweepFunction"  # the Lambda context
