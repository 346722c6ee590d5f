"""Use cases: what the functions call. Each is idempotent under at-least-once delivery."""
