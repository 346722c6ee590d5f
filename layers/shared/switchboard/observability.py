"""CloudWatch metrics through Powertools (EMF: written to the log, no PutMetricData calls).

The core records figures with `count`/`seconds`; each handler's `flush` decorator publishes them."""

from __future__ import annotations

from functools import cache, wraps
from typing import Any


@cache
def _metrics() -> Any:
    from aws_lambda_powertools import Metrics

    return Metrics()  # namespace and service from POWERTOOLS_METRICS_NAMESPACE / POWERTOOLS_SERVICE_NAME


def count(name: str, value: float = 1) -> None:
    _metrics().add_metric(name=name, unit="Count", value=value)


def count_by_channel(name: str, channel: str, value: float = 1) -> None:
    """A count with a channel dimension (conversations by channel): its own EMF record, written at once."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(name=name, unit=MetricUnit.Count, value=value) as metric:
        metric.add_dimension(name="channel", value=channel)


def seconds(name: str, value: float) -> None:
    _metrics().add_metric(name=name, unit="Seconds", value=value)


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
