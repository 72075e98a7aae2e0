"""Runs outbox workers on background threads, woken at once when this process enqueues.

A worker is anything with `name` and `run_once() -> bool` (True when it did some work, so the
loop goes again at once), and optionally `stop()` (called by `Dispatcher.stop`). Idle workers
poll every `idle_seconds`, which also picks up work enqueued by another process or left behind
by a crashed one (its lease expired).

A worker that raises (a database outage, a bug) does not end delivery: its loop tries again
with a growing pause (up to `max_backoff`), and logs without flooding (see `_Streak`): one
warning line when the database stops answering, a reminder now and then, one line when the
worker works again. Delivery resumes on its own once the database is back.

A worker keeps the leases of work in flight alive with `LeaseKeeper`, so leases can be short:
a process killed mid-delivery holds its items for seconds, not minutes.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Protocol, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from storage.db import database_unavailable, outage_summary

log = logging.getLogger(__name__)
T = TypeVar("T")


class Worker(Protocol):
    @property
    def name(self) -> str: ...

    def run_once(self) -> bool: ...


def owner_id() -> str:
    """A name for this process's leases, unique across hosts and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseKeeper:
    """Renews the leases of work in flight, on a thread of its own, while it is open.

    `renew` extends the leases (one unit of work); it is called every `every` seconds (a third
    of the lease by default) from `start` until `close`. A failed renewal (the database does not
    answer) is logged at debug level only and tried again at the next beat: the worker itself
    reports outages. `until()` is the time.monotonic up to which the leases are known to hold
    (the last renewal that went through, plus `margin` of the lease), for
    `record_despite_outage`.

        with LeaseKeeper(renew, lease_seconds=10, what="notification to C1"):
            post()  # however long it takes, no one else takes the items meanwhile
    """

    def __init__(
        self,
        renew: Callable[[], object],
        *,
        lease_seconds: float,
        every: float | None = None,
        margin: float = 0.8,
        what: str = "leases",
    ) -> None:
        self.renew = renew
        self.lease_seconds = lease_seconds
        self.every = every if every is not None else lease_seconds / 3
        self.margin = margin
        self.what = what
        self.renewals = 0
        self._held_since = time.monotonic()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def until(self) -> float:
        return self._held_since + self.lease_seconds * self.margin

    def start(self) -> LeaseKeeper:
        """Start renewing; the leases were taken (or renewed) just before."""
        self._held_since = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"lease-{self.what}", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(self.every + 5.0)

    def __enter__(self) -> LeaseKeeper:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self) -> None:
        while not self._closed.wait(self.every):
            began = time.monotonic()
            try:
                self.renew()
            except Exception as error:  # an outage: the worker says so, and we try again
                log.debug("%s: lease not renewed (%r)", self.what, error)
                continue
            self._held_since = began
            self.renewals += 1


def record_despite_outage(
    write: Callable[[], T],
    *,
    until: float | Callable[[], float],
    stopped: threading.Event | None = None,
    what: str = "delivery outcome",
) -> T:
    """Run `write`, a unit of work that records something already done outside (a mail the
    SMTP server accepted, a Slack post), again and again while the database does not answer.

    `until` (time.monotonic, or a callable giving it, such as `LeaseKeeper.until`) must fall
    within the lease of the items concerned: while it holds, no one delivers them again, so
    recording late avoids a second mail or post. Past it, on stop, or for any other error, the
    error is raised: the lease then expires and the item is delivered again (and a worker that
    marks its posts, as the notifications do, finds it posted and does not post it twice).
    """
    pause = 0.05
    warned = False
    while True:
        try:
            result = write()
        except (DBAPIError, PoolTimeout) as error:
            deadline = until() if callable(until) else until
            late = time.monotonic() + pause >= deadline
            if not database_unavailable(error) or late or (stopped and stopped.is_set()):
                raise
            if not warned:
                log.warning(
                    "%s: the database does not answer (%s); recording it again shortly",
                    what,
                    outage_summary(error),
                )
                warned = True
            if stopped is not None:
                stopped.wait(pause)
            else:
                time.sleep(pause)
            pause = min(pause * 2, 1.0)
            continue
        if warned:
            log.info("%s: recorded, the database answers again", what)
        return result


class _Streak:
    """The consecutive failures of one worker, logged without flooding.

    The first failure of a kind is logged in full: a database outage as one warning line,
    anything else with its traceback. Repeats go to debug, with a warning reminder every
    `remind_seconds`; the first success after failures is one info line.
    """

    def __init__(self, name: str, remind_seconds: float) -> None:
        self.name = name
        self.remind_seconds = remind_seconds
        self.count = 0
        self.kind: str | None = None
        self.since = 0.0
        self.reminded = 0.0

    def failed(self, error: Exception) -> None:
        now = time.monotonic()
        outage = database_unavailable(error)
        kind = "outage" if outage else f"{type(error).__module__}.{type(error).__qualname__}"
        if self.count == 0:
            self.since = now
        self.count += 1
        reason = outage_summary(error) if outage else repr(error)
        if kind != self.kind:
            self.kind, self.reminded = kind, now
            if outage:
                log.warning(
                    "outbox worker %s: the database does not answer (%s); delivery paused, "
                    "trying again",
                    self.name,
                    reason,
                )
            else:
                log.error("outbox worker %s failed; trying again", self.name, exc_info=error)
        elif now - self.reminded >= self.remind_seconds:
            self.reminded = now
            log.warning(
                "outbox worker %s: still failing after %d attempts in %.0f s: %s",
                self.name,
                self.count,
                now - self.since,
                reason,
            )
        else:
            log.debug(
                "outbox worker %s: still failing (attempt %d): %s", self.name, self.count, reason
            )

    def succeeded(self) -> None:
        if self.count:
            log.info(
                "outbox worker %s: working again after %d failed attempts in %.1f s",
                self.name,
                self.count,
                time.monotonic() - self.since,
            )
        self.count, self.kind = 0, None


class Dispatcher:
    def __init__(
        self,
        workers: Sequence[Worker],
        idle_seconds: float = 0.5,
        *,
        max_backoff: float = 5.0,
        remind_seconds: float = 300.0,
    ) -> None:
        self.workers = list(workers)
        self.idle_seconds = idle_seconds
        self.max_backoff = max(max_backoff, idle_seconds)
        self.remind_seconds = remind_seconds
        self._stop = threading.Event()
        self._wake = {worker.name: threading.Event() for worker in workers}
        self._threads: list[threading.Thread] = []

    def start(self) -> Dispatcher:
        for worker in self.workers:
            thread = threading.Thread(
                target=self._loop, args=(worker,), name=f"outbox-{worker.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def wake(self, kinds: Iterable[str] | None = None) -> None:
        """Tell the workers of these outbox `kinds` (every worker when None) that new work may
        be there; the others stay asleep rather than poll for nothing."""
        wanted = None if kinds is None else set(kinds)
        for worker in self.workers:
            if wanted is None or getattr(worker, "kind", None) in wanted:
                self._wake[worker.name].set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for worker in self.workers:
            stop = getattr(worker, "stop", None)
            if callable(stop):
                stop()  # ends a worker's own waits (pacing, recording during an outage)
        self.wake()
        for thread in self._threads:
            thread.join(timeout)

    @property
    def running(self) -> bool:
        """Every worker thread is alive (none died of an error)."""
        return bool(self._threads) and all(thread.is_alive() for thread in self._threads)

    def _loop(self, worker: Worker) -> None:
        wake = self._wake[worker.name]
        streak = _Streak(worker.name, self.remind_seconds)
        while not self._stop.is_set():
            try:
                busy = worker.run_once()
            except Exception as error:  # a worker bug or a database outage must not end delivery
                streak.failed(error)
                wake.wait(min(self.max_backoff, self.idle_seconds * 2 ** min(streak.count, 16)))
                wake.clear()
                continue
            streak.succeeded()
            if not busy:
                wake.wait(self.idle_seconds)
                wake.clear()
