"""Side-by-side I/O for one invocation: independent, idempotent AWS calls whose time is mostly the round trip."""

from __future__ import annotations

from collections.abc import Callable, Iterable

# Enough to hide round trips, within the AWS clients' connection pool (switchboard.aws: max_pool_connections).
WORKERS = 16


def parallel[T, R](fn: Callable[[T], R], items: Iterable[T], workers: int = WORKERS) -> list[R]:
    """fn over items, in order, up to `workers` at a time; the first exception is raised once all have finished
    (each call is idempotent, so what did succeed is simply found done by the provider's retry)."""
    items = list(items)
    if len(items) <= 1:
        return [fn(item) for item in items]  # no thread for the common case of one event
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        futures = [pool.submit(fn, item) for item in items]
    return [future.result() for future in futures]
