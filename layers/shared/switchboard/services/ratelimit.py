"""Rate limits of the public routes (web chat, survey pages), per client, that hold across Lambda instances.

Fixed windows counted in DynamoDB (store/ratelimit.py): a client's counters for one hour live in one item, with an
attribute per window (a minute, or the hour), so that one UpdateItem (1 WRU: an atomic ADD that returns the new
counts, no read) checks every limit of that client at once. A client over a limit gets 429 with Retry-After until
its window ends; a fixed window lets at most twice a limit through around a window's edge, which is the price of
one write per check. Clients are keyed by a MAC of their visitor id or address (a key derived from the function's
own secret), never the value, and the items expire with the TTL an hour after their hour."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from switchboard import clock, observability, tokens
from switchboard.errors import TooManyRequests
from switchboard.store import ratelimit
from switchboard.store.table import Table

HOUR = 3600
EXPIRY_SLACK = 600  # counters outlive their hour a little: TTL deletion is lazy anyway, and reads never look back


@dataclass(frozen=True)
class Limit:
    """At most `limit` requests counted as `counter` per window of `seconds` (a divisor of an hour); 0: none."""

    counter: str
    seconds: int
    limit: int

    def attribute(self, into_hour: int) -> str:
        return f"{self.counter}_{self.seconds}_{into_hour // self.seconds}"


def check(table: Table, scope: str, subject: str, limits: Sequence[Limit], what: str) -> None:
    """Count one request of the client `subject` against each of `limits`; TooManyRequests when it is over any,
    with the seconds until the latest of those windows ends."""
    active = [limit for limit in limits if limit.limit > 0]
    if not active:
        return
    now = clock.epoch()
    hour = now - now % HOUR
    into = now - hour
    names = [limit.attribute(into) for limit in active]
    counts = ratelimit.add_one(table, scope, subject, hour, names, hour + HOUR + EXPIRY_SLACK)
    over = [limit for limit, name in zip(active, names, strict=True) if counts[name] > limit.limit]
    if over:
        wait = max((into // limit.seconds + 1) * limit.seconds - into for limit in over)
        observability.count("RateLimited")
        raise TooManyRequests(f"too many {what}: try again in {wait} seconds", retry_after=wait)


def subject(key: bytes, value: str) -> str:
    """A client's key in the counters: a MAC of its visitor id or address under a key derived from `key` (the
    function's secret), so that the table holds no address and no visitor id."""
    derived = tokens.derive(key, b"switchboard rate limit subject")
    return tokens.hex_mac(derived, value.encode("utf-8", "surrogatepass"))[:32]


def client_address(source_ip: str | None) -> str | None:
    """The client API Gateway saw (requestContext.http.sourceIp, which no request header sets): an IPv4 address as
    it is, an IPv6 address by its /64 (one subscriber's network: the rest of its bits are the client's to choose).
    None when there is none."""
    if not source_ip:
        return None
    try:
        address = ipaddress.ip_address(source_ip.strip())
    except ValueError:
        return source_ip.strip()[:64] or None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
