"""`ditbot serve` wiring: the workers run in the server's dispatcher."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from ditbot.cli.serve import build
from ditbot.core.settings import Settings
from ditbot.playground.slack_api import FakeSlack
from tests.mail.conftest import exchange, wait_until
from tests.mail.smtp_server import SmtpServer
from tests.slack.harness import command_payload, sign, view_state, view_submission_payload


def _post(client: Any, fields: dict[str, str]) -> Any:
    body = urlencode(fields).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    return client.post("/slack/events", data=body, headers=headers)


def test_serve_delivers_a_mail_sent_from_slack(
    settings: Settings, seeded: dict[str, Any], slack: FakeSlack, smtp: SmtpServer
) -> None:
    runtime = build(settings)
    assert {w.name for w in runtime.dispatcher.workers} >= {"mail", "slack_dm"}
    runtime.dispatcher.start()
    try:
        http = runtime.web.test_client()
        command = command_payload(
            "mail DIT-2026-0001",
            user="UJDU",
            response_url=slack.response_url("cmd"),
            trigger_id=slack.new_trigger_id(),
        )
        assert _post(http, command).status_code == 200
        [opened] = slack.wait_for("views.open")
        form = slack.view(opened.response["view"]["id"])
        assert form is not None
        submission = view_submission_payload(
            form,
            user="UJDU",
            state=view_state(form, {"detail": "Envoyé par le vrai serveur"}),
            trigger_id=slack.new_trigger_id(),
        )
        answer = _post(http, {"payload": json.dumps(submission)})
        assert answer.status_code == 200
        assert json.loads(answer.get_data())["response_action"] == "update"
        # No test code drives the worker: the server's dispatcher, woken by the Send, does.
        [received] = smtp.wait_for(1)
        assert "Envoyé par le vrai serveur" in received.part("plain")
        wait_until(lambda: exchange(runtime.ctx, 1).mail_status == "sent")
    finally:
        runtime.dispatcher.stop()
        runtime.ctx.db.dispose()
