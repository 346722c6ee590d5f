"""The scheduled functions' handlers: EventBridge Scheduler runs each (retention, surveys, auto-replies, timers, event
retries) every so often (template.yaml), and each run is one service call whose counts are logged and returned."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from switchboard import observability


def handler(logger: Any, run: Callable[[], dict[str, Any]], message: str) -> Callable[[Any, Any], dict[str, Any]]:
    """The Lambda handler of a scheduled function: `run()`, its counts logged as `message` and returned. Traced, its
    metrics flushed, and logged through the function's own Powertools `logger` (its service) with the Lambda
    context, as every handler is."""

    @observability.traced
    @observability.flush
    @logger.inject_lambda_context
    def handler(event: Any, context: Any) -> dict[str, Any]:  # the name: the trace's "## handler" subsegment
        counts = run()
        logger.info(message, extra=counts)
        return counts

    return handler
