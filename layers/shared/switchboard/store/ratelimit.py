"""Request counters of public clients (RATE#<scope>#<subject> / HOUR#<epoch>): fixed windows counted with an atomic
ADD, so that a limit holds across every Lambda instance, and read-free: one UpdateItem returns the new counts."""

from __future__ import annotations

from switchboard.store import keys
from switchboard.store.table import Table


def add_one(table: Table, scope: str, subject: str, hour_start: int, counters: list[str],
            expires_at: int) -> dict[str, int]:
    """Count one request in each of `counters` (attribute names, one per window) of the client's item for the hour
    starting at `hour_start`, and return their values after it. The item carries the `expires_at` TTL (the end of
    its hour and a little): counters are never read after their hour, and DynamoDB deletes them."""
    names = {f"#c{i}": name for i, name in enumerate(counters)}
    added = ", ".join(f"#c{i} :one" for i in range(len(counters)))
    new = table.update(keys.rate_counters(scope, subject, hour_start), f"ADD {added} SET expires_at = :exp",
                       names=names, vals={":one": 1, ":exp": expires_at}, return_new=True) or {}
    return {name: int(new.get(name, 0)) for name in counters}
