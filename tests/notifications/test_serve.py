"""End to end as `ditbot serve` wires it: a signed portal message reaches Slack by itself."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from ditbot.cli.serve import build
from ditbot.core.context import Context
from ditbot.delivery.registry import Registry, RegistryError
from ditbot.playground.slack_api import FakeSlack
from ditbot.portal.signing import signed_headers
from storage.vocabulary import OutboxKind
from tests.notifications.conftest import PORTAL, RELANCES, marks


def test_a_portal_relance_is_announced_in_both_channels_by_the_running_server(
    nctx: Context, fake: FakeSlack, seeded: dict[str, Any]
) -> None:
    runtime = build(nctx.settings)
    runtime.dispatcher.start()
    try:
        body = json.dumps(
            {
                "message_id": "e2e",
                "dit": "DIT-2026-0001",
                "contact": "ACME-PM",
                "detail": "[m1] Toujours rien ?",
                "relance": True,
            }
        ).encode()
        answer = runtime.web.test_client().post(
            "/api/v1/portal/messages",
            data=body,
            headers=signed_headers(nctx.settings.portal_secret or "", body),
        )
        assert answer.status_code == 201
        fake.wait_for(
            "chat.postMessage",
            count=2,
            timeout=10,
            predicate=lambda c: c.args.get("channel") in (PORTAL, RELANCES) and marks(c) == [1],
        )
        channels = sorted(c.args["channel"] for c in fake.calls_to("chat.postMessage"))
        assert channels == [PORTAL, RELANCES]
    finally:
        runtime.dispatcher.stop()
        runtime.ctx.db.dispose()


def test_every_outbox_kind_has_exactly_one_worker(nctx: Context) -> None:
    runtime = build(nctx.settings)
    try:
        # The delivery workers, and the reminder scan that feeds one of them.
        assert runtime.dispatcher.workers == [*runtime.workers.values(), runtime.scanner]
        assert Counter(worker.kind for worker in runtime.workers.values()) == Counter(OutboxKind)
    finally:
        runtime.ctx.db.dispose()


@dataclass
class FakeWorker:
    kind: OutboxKind

    @property
    def name(self) -> str:
        return f"fake-{self.kind}"

    def run_once(self) -> bool:
        return False


def test_the_registry_refuses_a_kind_without_a_worker_or_a_worker_under_another_kind() -> None:
    everyone = {kind: FakeWorker(kind) for kind in OutboxKind}
    assert list(Registry(everyone)) == list(OutboxKind)
    with pytest.raises(RegistryError, match="no worker delivers 'slack_dm'"):
        Registry({kind: w for kind, w in everyone.items() if kind != OutboxKind.SLACK_DM})
    with pytest.raises(RegistryError, match="worker fake-mail delivers 'mail', not 'notify'"):
        Registry({**everyone, OutboxKind.NOTIFY: FakeWorker(OutboxKind.MAIL)})
