"""`ditbot serve` while Slack does not answer: everything else starts, Slack comes later.

Slack fails at start (the fake answers auth.test or apps.connections.open with 500, or
nothing listens at SLACK_API_URL): the portal, the REST API and mail delivery work, one log
line says so, /healthz and `ditbot doctor` show it, and the link retries with backoff. The
waits between retries are the test's (`Waits`): no sleeping, each retry happens when the test
lets it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import App

from ditbot.cli.doctor import SLACK_SDK_LOG, check_slack
from ditbot.cli.serve import Runtime, build
from ditbot.cli.slack_link import RETRY, SlackLink
from ditbot.core.settings import Settings
from ditbot.domain.exchanges import Actor
from ditbot.domain.mail import MailInput, send_mail
from ditbot.playground.slack_api import FakeSlack
from ditbot.portal.signing import signed_headers
from storage import repositories as repo
from storage.models import Exchange
from tests.credentials import API_TOKEN, PORTAL_SECRET, SIGNING_SECRET
from tests.mail.smtp_server import SmtpServer
from tests.outages.conftest import wait_until
from tests.slack.harness import command_payload, sign

API = {"Authorization": f"Bearer {API_TOKEN}"}
LINK_LOG = "ditbot.cli.slack_link"


class Waits:
    """The link's `wait(seconds)`: records each delay and returns when the test says so."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._cond = threading.Condition()
        self._allowed = 0
        self._closed = False

    def wait(self, seconds: float) -> bool:
        with self._cond:
            self.delays.append(seconds)
            self._cond.notify_all()
            while not self._allowed and not self._closed:
                self._cond.wait()
            if self._closed:
                return True
            self._allowed -= 1
            return False

    def waiting(self, count: int) -> bool:
        """True once the link has asked for its `count`-th wait."""
        with self._cond:
            return len(self.delays) >= count

    def elapse(self) -> None:
        """Let one wait end: the link makes its next attempt."""
        with self._cond:
            self._allowed += 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


@pytest.fixture
def waits() -> Iterator[Waits]:
    clock = Waits()
    yield clock
    clock.close()


@pytest.fixture
def link_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=LINK_LOG)
    return caplog


def lines_of(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LINK_LOG and r.levelno == level]


def slack_command(runtime: Runtime, slack: FakeSlack, text: str = "DIT-2026-0001") -> Any:
    fields = command_payload(
        text, user="UJDU", response_url=slack.response_url("cmd"), trigger_id=slack.new_trigger_id()
    )
    body = urlencode(fields).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    return runtime.web.test_client().post("/slack/events", data=body, headers=headers)


def queue_mail(runtime: Runtime, detail: str) -> int:
    with runtime.ctx.db.session() as session:
        author = repo.collaborator_by_code(session, "JDU")
        exchange, _created = send_mail(
            session,
            "DIT-2026-0001",
            MailInput(detail=detail),
            Actor(source="slack", collaborator=author),
            mail_from=runtime.ctx.settings.mail_from,
        )
        return exchange.id


def mail_status(runtime: Runtime, exchange_id: int) -> str | None:
    with runtime.ctx.db.session() as session:
        found = session.get(Exchange, exchange_id)
        return found.mail_status if found is not None else None


def the_rest_works(runtime: Runtime, smtp: SmtpServer) -> None:
    """REST API, portal webhook and mail delivery, while Slack is not connected."""
    http = runtime.web.test_client()
    dit = http.get("/api/v1/dits/DIT-2026-0001", headers=API)
    assert dit.status_code == 200 and dit.get_json()["number"] == "DIT-2026-0001"
    body = json.dumps(
        {"message_id": "m-1", "dit": "DIT-2026-0001", "contact": "ACME-PM", "detail": "Allô ?"}
    ).encode()
    secret = runtime.ctx.settings.portal_secret or ""
    posted = http.post("/api/v1/portal/messages", data=body, headers=signed_headers(secret, body))
    assert posted.status_code == 201
    exchange_id = queue_mail(runtime, "Le technicien passe jeudi, Slack ou pas.")
    runtime.dispatcher.wake()
    [received] = smtp.wait_for(1)
    assert "Slack ou pas" in received.part("plain")
    wait_until(lambda: mail_status(runtime, exchange_id) == "sent", what="the mail sent")


def test_serve_starts_while_slack_fails_then_connects_with_backoff(
    settings: Settings,
    seeded: dict[str, Any],
    slack: FakeSlack,
    smtp: SmtpServer,
    waits: Waits,
    link_log: pytest.LogCaptureFixture,
) -> None:
    slack.fail_next("auth.test", status=500, times=2)  # at start, and at the first retry
    runtime = build(settings, slack_wait=waits.wait)  # today: bolt's auth.test raised here
    runtime.dispatcher.start()
    try:
        [line] = lines_of(link_log, logging.WARNING)
        assert "Slack does not answer (internal_error, HTTP 500)" in line
        assert "the portal, the REST API and mail delivery run without it" in line
        health = runtime.web.test_client().get("/healthz")
        assert health.status_code == 200
        assert health.get_json()["status"] == "ok"
        assert health.get_json()["slack"]["state"] == "down"
        assert "internal_error" in health.get_json()["slack"]["detail"]
        refused = slack_command(runtime, slack)
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        the_rest_works(runtime, smtp)

        runtime.slack.start()
        wait_until(lambda: waits.waiting(1), what="the first wait")
        waits.elapse()  # second attempt: the second 500
        wait_until(lambda: waits.waiting(2), what="the second wait")
        assert runtime.slack.state == "down"
        waits.elapse()  # third attempt: Slack answers
        wait_until(lambda: runtime.slack.state == "up", what="Slack connected")
        assert waits.delays == [RETRY.delay(1), RETRY.delay(2)] == [5.0, 10.0]
        assert lines_of(link_log, logging.WARNING) == [line]  # one line, not one per retry

        assert runtime.web.test_client().get("/healthz").get_json()["slack"] == {"state": "up"}
        assert slack_command(runtime, slack).status_code == 200
        wait_until(lambda: slack.calls_to("views.open"), what="the panel opened")
    finally:
        runtime.slack.stop()
        runtime.dispatcher.stop()
        runtime.ctx.db.dispose()


class FlakySocket:
    """A Socket Mode connection that opens at its `fails + 1`-th attempt."""

    def __init__(self, fails: int) -> None:
        self.fails = fails
        self.attempts = 0
        self.closed = False

    def connect(self) -> None:
        self.attempts += 1
        if self.attempts <= self.fails:
            raise ConnectionRefusedError(111, "Connection refused")

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def socket_settings(env: dict[str, str], tmp_path: Path) -> Settings:
    values = {**env, "SLACK_APP_TOKEN": "xapp-1-A0FAKE-1-socketsecret"}
    del values["SLACK_SIGNING_SECRET"]
    return Settings.from_env(values, dotenv=tmp_path / "no.env")


def test_socket_mode_starts_while_its_socket_cannot_open(
    socket_settings: Settings,
    seeded: dict[str, Any],
    slack: FakeSlack,
    smtp: SmtpServer,
    waits: Waits,
    link_log: pytest.LogCaptureFixture,
) -> None:
    """The real SocketModeHandler: Slack refuses apps.connections.open."""
    slack.fail_next("apps.connections.open", status=500)
    runtime = build(socket_settings, socket_mode=True, slack_wait=waits.wait)
    runtime.dispatcher.start()
    try:
        runtime.slack.start()  # today: SocketModeHandler.start() raised, taking it all down
        wait_until(lambda: waits.waiting(1), what="the first wait")
        [line] = lines_of(link_log, logging.WARNING)
        assert "Slack does not answer (internal_error, HTTP 500)" in line
        slack_state = runtime.web.test_client().get("/healthz").get_json()["slack"]
        assert slack_state["state"] == "down" and slack_state["attempts"] == 1
        the_rest_works(runtime, smtp)
    finally:
        waits.close()
        runtime.slack.stop()
        runtime.dispatcher.stop()
        runtime.ctx.db.dispose()


def test_socket_mode_connects_at_a_later_attempt(slack_app: App, waits: Waits) -> None:
    socket = FlakySocket(fails=2)
    built: list[App] = []

    def connect() -> App:
        built.append(slack_app)
        return slack_app

    link = SlackLink(connect, socket=lambda app: socket, wait=waits.wait)
    link.start()
    try:
        wait_until(lambda: waits.waiting(1), what="the first wait")
        assert link.app is None and link.health()["detail"] == "[Errno 111] Connection refused"
        waits.elapse()
        wait_until(lambda: waits.waiting(2), what="the second wait")
        waits.elapse()
        wait_until(lambda: link.state == "up", what="the socket open")
        assert link.app is slack_app and link.health() == {"state": "up"}
        assert socket.attempts == 3 and len(built) == 1  # auth.test once, the socket 3 times
        assert waits.delays == [5.0, 10.0]
    finally:
        link.stop()
    assert socket.closed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get_json(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.loads(answer.read())
    except (urllib.error.URLError, ConnectionError):
        return None


def test_ditbot_serve_starts_with_slack_unreachable(tmp_path: Path) -> None:
    """The command itself: nothing listens at SLACK_API_URL; it serves, and says so once."""
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'ditbot.db'}",
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DITBOT_PORTAL_SECRET": PORTAL_SECRET,
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",  # nothing listens there
        "DITBOT_PORT": str(port),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "ditbot.cli.main", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health: list[Any] = []

        def answers() -> bool:
            assert server.poll() is None, server.communicate(timeout=10)[1]
            health[:] = [get_json(f"http://127.0.0.1:{port}/healthz")]
            return health[0] is not None

        wait_until(answers, timeout=60, what="ditbot serve answering /healthz")
        assert health[0]["status"] == "ok" and health[0]["slack"]["state"] == "down"
        assert "Connection refused" in health[0]["slack"]["detail"]
    finally:
        server.send_signal(signal.SIGINT)
        _out, err = server.communicate(timeout=30)
    assert "Traceback" not in err
    [line] = [line for line in err.splitlines() if "Slack does not answer" in line]
    assert "the portal, the REST API and mail delivery run without it" in line


def test_doctor_says_slack_does_not_answer_rather_than_blaming_the_token(
    settings: Settings, slack: FakeSlack
) -> None:
    slack.fail_next("auth.test", status=500)
    [finding] = list(check_slack(settings))
    assert finding.level == "fail"
    assert "Slack does not answer" in finding.text and "internal_error, HTTP 500" in finding.text
    assert "still starts" in finding.text and "refused the bot token" not in finding.text


def test_doctor_says_slack_is_unreachable_and_checks_socket_mode(
    socket_settings: Settings, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    slack.add_channel("CPORTAL")  # DITBOT_CHANNEL_PORTAL of the outage tests

    def failures(settings: Settings) -> list[str]:
        return [f.text for f in check_slack(settings) if f.level == "fail"]

    slack.fail_next("apps.connections.open", status=500)
    texts = failures(socket_settings)
    assert texts == [
        "Slack does not open Socket Mode connections (internal_error, HTTP 500): `ditbot "
        "serve` still starts (portal, REST API, mail) and connects to Slack when it answers."
    ]
    refusal = {"ok": False, "error": "invalid_auth"}
    slack.fail_next("apps.connections.open", status=200, body=refusal)
    [refused] = failures(socket_settings)
    assert refused.startswith("Slack refused SLACK_APP_TOKEN (invalid_auth)")
    unreachable = socket_settings.model_copy(
        update={"slack_api_url": f"http://127.0.0.1:{free_port()}/api/"}
    )
    logging.getLogger(SLACK_SDK_LOG).setLevel(logging.WARNING)  # as the `ditbot` command sets it
    try:
        with caplog.at_level(logging.DEBUG):
            [down] = failures(unreachable)
    finally:
        logging.getLogger(SLACK_SDK_LOG).setLevel(logging.NOTSET)
    assert "Slack does not answer" in down and "Connection refused" in down
    assert [r for r in caplog.records if r.name.startswith("slack_sdk")] == []  # said once
