"""Delays between delivery attempts, shared by every outbox worker."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delays between attempts: base, 2*base, 4*base... capped at `cap` seconds."""

    base: float = 30.0
    cap: float = 3600.0
    max_attempts: int = 8

    def delay(self, attempt: int) -> float:
        return float(min(self.cap, self.base * 2 ** max(0, attempt - 1)))

    def exhausted(self, attempt: int) -> bool:
        """True when attempt number `attempt` is one too many."""
        return attempt >= self.max_attempts
