"""End to end as `ditbot serve` wires it: a signed portal message reaches Slack by itself."""

from __future__ import annotations

import json
from typing import Any

from ditbot.cli.serve import build
from ditbot.core.context import Context
from ditbot.portal.signing import signed_headers
from tests.fakes.slack_api import FakeSlack
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
