"""Runs outbox workers on background threads, woken at once when this process enqueues.

A worker is anything with `name` and `run_once() -> bool` (True when it did some work, so the
loop goes again at once). Idle workers poll every `idle_seconds`, which also picks up work
enqueued by another process or left behind by a crashed one (its lease expired).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from typing import Protocol

log = logging.getLogger(__name__)


class Worker(Protocol):
    name: str

    def run_once(self) -> bool: ...


def owner_id() -> str:
    """A name for this process's leases, unique across hosts and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher:
    def __init__(self, workers: list[Worker], idle_seconds: float = 0.5) -> None:
        self.workers = workers
        self.idle_seconds = idle_seconds
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

    def wake(self) -> None:
        """Tell every worker that new work may be there."""
        for event in self._wake.values():
            event.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout)

    def _loop(self, worker: Worker) -> None:
        wake = self._wake[worker.name]
        while not self._stop.is_set():
            try:
                busy = worker.run_once()
            except Exception:  # a worker bug or a database outage must not end delivery
                log.exception("outbox worker %s failed; retrying shortly", worker.name)
                busy = False
            if not busy:
                wake.wait(self.idle_seconds)
                wake.clear()
