"""CloudWatch metrics through Powertools (EMF: written to the log, no PutMetricData calls), and correlation ids.

The core records figures with `count`/`seconds`; each handler's `flush` decorator publishes them. A request's
correlation id (set by the handler's Logger from API Gateway's request id) travels on queue messages, so that the
webhook's, the processor's and the sender's log lines of one message can be found together."""

from __future__ import annotations

from functools import cache, wraps
from typing import Any


@cache
def _metrics() -> Any:
    from aws_lambda_powertools import Metrics

    return Metrics()  # namespace and service from POWERTOOLS_METRICS_NAMESPACE / POWERTOOLS_SERVICE_NAME


def forget() -> None:
    """Tests: the next metric reads its namespace and service from the environment again."""
    _metrics.cache_clear()


def count(name: str, value: float = 1) -> None:
    _metrics().add_metric(name=name, unit="Count", value=value)


def count_by_channel(name: str, channel: str, value: float = 1) -> None:
    """A count with a channel dimension (conversations by channel): its own EMF record, written at once."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(name=name, unit=MetricUnit.Count, value=value) as metric:
        metric.add_dimension(name="channel", value=channel)


def seconds(name: str, value: float) -> None:
    _metrics().add_metric(name=name, unit="Seconds", value=value)


@cache
def _logger() -> Any:
    from aws_lambda_powertools import Logger

    return Logger()  # the function's own logger (same service): it shares its handler, and so its keys


def correlation_id() -> str | None:
    """The invocation's correlation id (an HTTP request's API Gateway request id), carried on through the queues."""
    try:
        value = _logger().get_correlation_id()
    except (AttributeError, IndexError):  # no Powertools handler configured (a test, a script)
        return None
    return value if isinstance(value, str) and value else None


def set_correlation_id(value: str | None) -> None:
    """Log the rest of this unit of work under the correlation id its queue message carried (None: none)."""
    _logger().set_correlation_id(value)


def flush(handler: Any) -> Any:
    """Publish what the invocation recorded, even when it fails."""

    @wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        try:
            return handler(event, context)
        finally:
            metrics = _metrics()
            if metrics.metric_set:
                metrics.flush_metrics()

    return wrapper
