"""What every part of a running ditbot shares: settings and the database."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ditbot.core.settings import Settings
from storage.db import Database
from storage.types import utcnow


class Wake(Protocol):
    def __call__(self, kinds: Iterable[str] | None = None) -> None:
        """Deliver at once the outbox work of these kinds (of every kind when None)."""


def _asleep(kinds: Iterable[str] | None = None) -> None:
    """No dispatcher in this process: its workers' polls deliver."""


@dataclass
class Context:
    settings: Settings
    db: Database
    # Called after a commit that enqueued outbox work, to deliver it at once (set by serve).
    # Given the kinds enqueued (storage.outbox.enqueued_kinds), it wakes only their workers.
    wake_delivery: Wake = field(default=_asleep)
    # What the users' actions take for now (an ack's time, a snooze's start); tests set it.
    clock: Callable[[], datetime] = utcnow

    def __post_init__(self) -> None:
        # The domain reads the company's calendar from them inside a unit of work (the
        # business time of each answer, ditbot.domain.timers.sync_figures).
        self.db.session_info["settings"] = self.settings

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        return cls(settings=settings, db=Database(settings.database_url))
