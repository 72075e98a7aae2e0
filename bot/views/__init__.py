"""Block Kit builders: pure functions from domain objects to views and messages (no I/O)."""
