"""CloudWatch metrics through Powertools (EMF: written to the log, no PutMetricData calls), correlation ids, and
X-Ray tracing through Powertools' Tracer.

The core records figures with `count`/`seconds`; each handler's `flush` decorator publishes them. A request's
correlation id (set by the handler's Logger from API Gateway's request id) travels on queue messages, so that the
webhook's, the processor's and the sender's log lines of one message can be found together."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import cache, wraps
from typing import Any


@cache
def _metrics() -> Any:
    from aws_lambda_powertools import Metrics

    return Metrics()  # namespace and service from POWERTOOLS_METRICS_NAMESPACE / POWERTOOLS_SERVICE_NAME


def forget() -> None:
    """Tests: the next metric, tracer and logger read their namespace and service from the environment again, and
    no metric one test recorded outside a handler is published by the next test's flush (Powertools keeps one set
    for every Metrics instance)."""
    _metrics().clear_metrics()
    _metrics.cache_clear()
    _tracer.cache_clear()
    _logger.cache_clear()


def count(name: str, value: float = 1) -> None:
    _metrics().add_metric(name=name, unit="Count", value=value)


def count_by_channel(name: str, channel: str, value: float = 1) -> None:
    """A count with a channel dimension (conversations by channel): its own EMF record, written at once."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(name=name, unit=MetricUnit.Count, value=value) as metric:
        metric.add_dimension(name="channel", value=channel)


def count_by_reason(name: str, channel: str, reason: str, value: float = 1) -> None:
    """A count with channel and reason dimensions (events ignored or dropped, and why): its own EMF record."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(name=name, unit=MetricUnit.Count, value=value) as metric:
        metric.add_dimension(name="channel", value=channel)
        metric.add_dimension(name="reason", value=reason)


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


# Tracing. The X-Ray SDK and its patching of botocore cost about 150-200 ms, so nothing of it loads at import:
# the tracer is built on the first invocation, and only where Powertools would trace at all (in Lambda, not under
# SAM local, not with POWERTOOLS_TRACE_DISABLED). Locally and in tests the handlers run untraced, untouched.
# Only botocore is patched, not requests: the X-Ray SDK records a request's whole URL path, and Telegram's bot
# token is in its API's path. Provider calls get a subsegment named by host only (`subsegment`). Responses are
# never recorded, and a failure only by its exception's type: messages can carry text, addresses or tokens.


def _tracing_wanted() -> bool:
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and not os.environ.get("AWS_SAM_LOCAL") and \
        os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() not in ("1", "true", "yes", "on")


@cache
def _tracer() -> Any:
    from aws_lambda_powertools import Tracer

    return Tracer(patch_modules=("botocore",))


def _active_tracer() -> Any | None:
    if not _tracing_wanted():
        return None
    tracer = _tracer()
    return None if tracer.disabled else tracer


def traced(handler: Any) -> Any:
    """Each invocation a `## handler` subsegment (cold start and service annotated), its AWS calls inside it."""
    invocations = 0

    @wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        nonlocal invocations
        invocations += 1
        tracer = _active_tracer()
        if tracer is None:
            return handler(event, context)
        with _span(tracer, f"## {handler.__name__}") as span:
            span.put_annotation("ColdStart", invocations == 1)
            span.put_annotation("Service", tracer.service)
            return handler(event, context)

    return wrapper


def subsegment(name: str) -> AbstractContextManager[Any]:
    """A traced span of work (a provider call) when tracing is on; nothing otherwise. `name` carries no data."""
    tracer = _active_tracer()
    return nullcontext() if tracer is None else _span(tracer, name)


@contextmanager
def _span(tracer: Any, name: str) -> Iterator[Any]:
    """A subsegment that records a failure by its type only. The X-Ray SDK's own context managers record the
    exception's message and stack, and messages can carry content (an HTTP error's URL holds a bot token)."""
    span = tracer.provider.begin_subsegment(name)
    try:
        yield span
    except BaseException as exc:
        if span is not None:
            span.add_fault_flag()
            span.put_annotation("Error", type(exc).__name__)
        raise
    finally:
        tracer.provider.end_subsegment()
