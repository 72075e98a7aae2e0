"""What every part of a running ditbot shares: settings and the database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ditbot.core.settings import Settings
from storage.db import Database
from storage.types import utcnow


@dataclass
class Context:
    settings: Settings
    db: Database
    # Called after a commit that enqueued outbox work, to deliver it at once (set by serve).
    wake_delivery: Callable[[], None] = field(default=lambda: None)
    # What the users' actions take for now (an ack's time, a snooze's start); tests set it.
    clock: Callable[[], datetime] = utcnow

    def __post_init__(self) -> None:
        # The domain reads the company's calendar from them inside a unit of work (the
        # business time of each answer, ditbot.domain.timers.sync_figures).
        self.db.session_info["settings"] = self.settings

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        return cls(settings=settings, db=Database(settings.database_url))
