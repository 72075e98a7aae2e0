"""What listeners get from `create_app` (as `context["deps"]`): settings, database, slots."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ditbot.core.context import Context
from ditbot.core.settings import Settings
from storage.db import Database

# Units of work of Slack listeners running at once. They are CPU-bound Python (ORM, Block Kit)
# sharing one GIL with the HTTP threads that ack: more of them at once opens panels no faster,
# but starves the acks under load (bench/bench_slack.py: 0.25x the bare app's throughput with
# 16, 0.7x with 1, panels opened at the same rate). Slack calls happen outside, concurrently.
WORK_SLOTS = 1

# A trigger_id works within 3 s of the interaction (SLACK.md). A views.open still to be made
# after TRIGGER_BUDGET seconds (the request waited behind others, under a flood) is not tried:
# it would fail with `expired_trigger_id` after costing a unit of work and a Slack call; the
# user is told to try again instead. The margin is the time views.open takes to reach Slack.
TRIGGER_BUDGET = 2.5
RECEIVED_AT = "received_at"  # context key: `deps.clock()` when the request arrived

# Acked requests waiting for bolt's listener pool. Beyond this many, a slash command is
# answered at once "ditbot is very busy, try again" instead of joining the queue: under a flood
# the queue (and the memory it holds, a request each) would grow without bound, and what
# waits in it past TRIGGER_BUDGET could not open its modal anyway.
MAX_BACKLOG = 200


class WorkSlots:
    """A semaphore a thread may re-enter (a unit of work inside another takes no second slot)."""

    def __init__(self, size: int) -> None:
        self._slots = threading.BoundedSemaphore(size)
        self._held = threading.local()

    @contextmanager
    def hold(self) -> Iterator[None]:
        depth = getattr(self._held, "depth", 0)
        if depth == 0:
            self._slots.acquire()
        self._held.depth = depth + 1
        try:
            yield
        finally:
            self._held.depth = depth
            if depth == 0:
                self._slots.release()


@dataclass
class Deps:
    """The application as Slack listeners use it; the app middleware puts it in the context."""

    ctx: Context
    slots: WorkSlots = field(default_factory=lambda: WorkSlots(WORK_SLOTS))
    clock: Callable[[], float] = time.monotonic  # when requests arrive (tests move it)
    backlog: Callable[[], int] = lambda: 0  # requests waiting for the listener pool
    max_backlog: int = MAX_BACKLOG

    def too_busy(self) -> bool:
        """True when the listener pool has more waiting than MAX_BACKLOG."""
        return self.backlog() > self.max_backlog

    def trigger_expired(self, received_at: float | None) -> bool:
        """True when a trigger_id of a request received at `received_at` is too old to use."""
        return received_at is not None and self.clock() - received_at > TRIGGER_BUDGET

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """`db.session()` for a listener, within the work slots (see WORK_SLOTS).

        Keep Slack calls outside the block: they wait on the network, not on the CPU.
        """
        with self.slots.hold(), self.db.session() as session:
            yield session

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def db(self) -> Database:
        return self.ctx.db

    @property
    def secret(self) -> str:
        """Key of sealed private_metadata (the signing secret; a fixed key in Socket Mode)."""
        s = self.ctx.settings
        return s.slack_signing_secret or s.portal_secret or s.slack_bot_token or "ditbot"
