"""The single-table store: keys, the table wrapper, and repositories named by access pattern."""
