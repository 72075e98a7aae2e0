"""Fixtures of the mail tests: a real SMTP server, the Slack fake, a context wired to both.

The Slack harness (tests/slack/harness.py) is reused whole: `slack` is its FakeSlack with the
users of tests/factories.py, `driver` plays Slack against the real bolt app.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.workers.author_dm import SlackDmWorker
from ditbot.core.context import Context
from ditbot.delivery.backoff import Backoff
from ditbot.domain.exchanges import Actor
from ditbot.domain.mail import MailInput, send_mail
from ditbot.mail.smtp import SmtpSender
from ditbot.mail.worker import MailWorker
from ditbot.playground.slack_api import FakeSlack
from storage import repositories as repo
from storage.models import Exchange
from tests.mail.smtp_server import SmtpServer
from tests.slack.harness import *  # noqa: F403  (fixtures: slack, driver, slack_app...)
from tests.slack.harness import (  # noqa: F401  (fixtures not in the harness's __all__)
    driver,
    fake_slack,
    slack,
    slack_app,
    slack_executor,
    slack_web,
)

FAST = Backoff(base=0.05, cap=0.2, max_attempts=4)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def env(env: dict[str, str], slack: FakeSlack, smtp: SmtpServer) -> dict[str, str]:  # noqa: F811
    """The test environment, with Slack on the fake and SMTP on the test server."""
    return {
        **env,
        "SLACK_API_URL": slack.base_url,
        "SMTP_HOST": smtp.host,
        "SMTP_PORT": str(smtp.port),
    }


@pytest.fixture
def mail_env(env: dict[str, str]) -> dict[str, str]:
    return env


@pytest.fixture
def mail_ctx(ctx: Context) -> Context:
    return ctx


@pytest.fixture
def worker(mail_ctx: Context) -> MailWorker:
    sender = SmtpSender.from_settings(mail_ctx.settings, timeout=5.0)
    return MailWorker(mail_ctx, sender=sender, backoff=FAST, lease_seconds=30)


@pytest.fixture
def dm_worker(mail_ctx: Context, slack: FakeSlack) -> SlackDmWorker:  # noqa: F811
    client = WebClient(token="xoxb-test-token", base_url=slack.base_url)
    return SlackDmWorker(mail_ctx, client, backoff=Backoff(base=0.05, cap=0.2, max_attempts=4))


Sender = Callable[..., int]


@pytest.fixture
def queue_mail(mail_ctx: Context, seeded: dict[str, Any]) -> Sender:
    """Record a mail as the Slack flow does; returns the exchange id."""

    def queue(
        detail: str = "Bonjour, le technicien passe jeudi à 9 h.",
        *,
        dit: str = "DIT-2026-0001",
        author: str = "JDU",
        to: str | None = None,
        subject: str | None = None,
        key: str | None = None,
    ) -> int:
        with mail_ctx.db.session() as session:
            collaborator = repo.collaborator_by_code(session, author)
            exchange, _ = send_mail(
                session,
                dit,
                MailInput(detail=detail, to=to, subject=subject),
                Actor(source="slack", collaborator=collaborator),
                mail_from=mail_ctx.settings.mail_from,
                external_key=key,
            )
            return exchange.id

    return queue


def exchange(ctx: Context, exchange_id: int) -> Exchange:
    with ctx.db.session() as session:
        found = session.get(Exchange, exchange_id)
        assert found is not None
        return found


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> None:
    """Poll `condition` until it holds; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(step)


def drive(
    workers: list[Any], until: Callable[[], bool], timeout: float = 10.0, step: float = 0.01
) -> None:
    """Run the workers until `until()` holds (idle passes wait `step`); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        busy = False
        for w in workers:
            busy = w.run_once() or busy
        if not busy:
            time.sleep(step)
