"""Fixtures of the outage tests: the usual test database, behind a switch (`outage`).

`db`, `env` (hence `settings`, `ctx`, `seeded`) are overridden so that everything ditbot does
goes through `outage.url`: `outage.cut()` makes the database stop answering for all of it,
`outage.restore()` brings it back (tests/outages/outage.py says how, per backend). The Slack
harness (tests/slack/harness.py) and the SMTP server of the mail tests are reused whole.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ditbot.playground.slack_api import FakeSlack
from storage.db import Database
from tests.mail.smtp_server import SmtpServer
from tests.outages.outage import Outage
from tests.slack.harness import *  # noqa: F403  (fixtures: slack, driver, slack_app...)
from tests.slack.harness import (  # noqa: F401  (fixtures not in the harness's __all__)
    driver,
    fake_slack,
    slack,
    slack_app,
    slack_executor,
    slack_web,
)


@pytest.fixture
def outage(db_url: str, tmp_path: Path) -> Iterator[Outage]:
    switch = Outage.around(db_url, tmp_path)
    yield switch
    switch.close()


@pytest.fixture
def db(outage: Outage) -> Iterator[Database]:
    database = outage.watch(Database(outage.url))
    yield database
    database.dispose()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def env(  # noqa: F811
    env: dict[str, str],
    outage: Outage,
    slack: FakeSlack,  # noqa: F811
    smtp: SmtpServer,
) -> dict[str, str]:
    """The root `env`, on the switched database, the Slack fake and the SMTP server."""
    return {
        **env,
        "DATABASE_URL": outage.url,
        "SLACK_API_URL": slack.base_url,
        "SMTP_HOST": smtp.host,
        "SMTP_PORT": str(smtp.port),
        "DITBOT_CHANNEL_PORTAL": "CPORTAL",
    }


def wait_until(condition: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    """Poll `condition` until it holds (no fixed sleep); AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or 'the condition'}")
        time.sleep(0.01)


class Records(logging.Handler):
    """Collects the log records of some loggers (thread-safe, unlike caplog across threads)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._lock_records = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock_records:
            self.records.append(record)

    def of(self, logger: str, level: int | None = None) -> list[logging.LogRecord]:
        with self._lock_records:
            return [
                r
                for r in self.records
                if r.name == logger and (level is None or r.levelno == level)
            ]


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    loggers = [
        logging.getLogger(name) for name in ("ditbot.delivery.dispatcher", "ditbot.mail.worker")
    ]
    saved = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield handler
    for logger, level in saved:
        logger.removeHandler(handler)
        logger.setLevel(level)
