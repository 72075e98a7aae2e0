"""Which worker delivers each outbox kind: exactly one per `OutboxKind`.

The workers sit above this package (bot.workers, ditbot.mail), so none is imported here: the
composition root (ditbot.cli.serve) builds them and hands them over as a mapping from kind to
worker, which `Registry` checks. A kind left without a worker would pile up unsent; two
workers of one kind, or one filed under the wrong kind, would be a wiring mistake.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from ditbot.delivery.dispatcher import Worker
from storage.vocabulary import OutboxKind


class DeliveryWorker(Worker, Protocol):
    """A dispatcher worker that delivers the outbox items of one kind."""

    @property
    def kind(self) -> OutboxKind: ...


class RegistryError(Exception):
    """The workers given do not deliver every outbox kind exactly once."""


class Registry(Mapping[OutboxKind, DeliveryWorker]):
    """Each `OutboxKind` with the one worker that delivers it (checked on creation)."""

    def __init__(self, workers: Mapping[OutboxKind, DeliveryWorker]) -> None:
        problems = [f"no worker delivers '{kind}'" for kind in OutboxKind if kind not in workers]
        problems += [
            f"worker {worker.name} delivers '{worker.kind}', not '{kind}'"
            for kind, worker in workers.items()
            if worker.kind != kind
        ]
        if problems:
            raise RegistryError("; ".join(problems))
        self._workers = {kind: workers[kind] for kind in OutboxKind}

    def __getitem__(self, kind: OutboxKind) -> DeliveryWorker:
        return self._workers[kind]

    def __iter__(self) -> Iterator[OutboxKind]:
        return iter(self._workers)

    def __len__(self) -> int:
        return len(self._workers)
