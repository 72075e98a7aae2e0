"""Fixtures of the timer tests: the Slack harness (fake, bolt app, driver), a managers'
channel, and helpers that record exchanges at chosen times and move a controllable clock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.workers.reminders import ReminderScanner, ReminderWorker
from ditbot.core.context import Context
from ditbot.core.settings import Settings
from ditbot.domain.exchanges import Actor, ExchangeInput, log_exchange
from ditbot.playground.slack_api import Call, FakeSlack
from storage import repositories as repo
from storage.db import Database
from storage.models import OutboxItem, ResponseWait
from storage.vocabulary import OutboxKind, OutboxStatus
from tests.slack.harness import *  # noqa: F403  (fixtures: slack, driver, slack_app...)
from tests.slack.harness import slack_executor  # noqa: F401  (a fixture, not in __all__)

PARIS = ZoneInfo("Europe/Paris")
MANAGERS = "CMANAGERS"


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


class Clock:
    """A clock the test sets: what the scan and the worker take for now."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def env(env: dict[str, str], slack: FakeSlack) -> dict[str, str]:
    slack.add_channel(MANAGERS, name="managers")
    slack.enforce_rate_limit("chat.postMessage", None)
    return {**env, "SLACK_API_URL": slack.base_url, "DITBOT_CHANNEL_RELANCES": MANAGERS}


@pytest.fixture
def clock() -> Clock:
    return Clock(paris(2026, 11, 27, 17, 50))


@pytest.fixture
def scanner(ctx: Context, seeded: dict[str, Any], clock: Clock) -> ReminderScanner:
    return ReminderScanner(ctx, clock=clock, every=0)


@pytest.fixture
def worker(ctx: Context, slack: FakeSlack, clock: Clock) -> ReminderWorker:
    client = WebClient(token="xoxb-test-token", base_url=slack.base_url)
    return ReminderWorker(ctx, client, clock=clock)


def settings_with(env: dict[str, str], tmp_path: Path, **more: str) -> Settings:
    return Settings.from_env({**env, **more}, dotenv=tmp_path / "none.env")


def record(
    ctx: Context,
    direction: str,
    at: datetime,
    *,
    dit: str = "DIT-2026-0001",
    type_code: str | None = None,
    detail: str = "",
) -> int:
    """Log an exchange that happened at `at` (from the client: received; ours: sent)."""
    with ctx.db.session() as session:
        who = repo.collaborator_by_code(session, "JDU")
        exchange, _created = log_exchange(
            session,
            dit,
            ExchangeInput(
                direction=direction,  # type: ignore[arg-type]
                detail=detail or f"{direction} at {at.isoformat()}",
                type_code=type_code or ("courriel" if direction == "sent" else "appel"),
                occurred_at=at,
            ),
            Actor(source="slack", collaborator=who),  # type: ignore[arg-type]
        )
        return exchange.id


def reminder_items(db: Database) -> list[OutboxItem]:
    with db.session() as session:
        items = session.scalars(
            select(OutboxItem).where(OutboxItem.kind == OutboxKind.REMINDER).order_by(OutboxItem.id)
        ).all()
        session.expunge_all()
        return list(items)


def drain(worker: ReminderWorker, db: Database) -> None:
    for _ in range(50):
        if not worker.run_once():
            break
    pending = [i for i in reminder_items(db) if i.status == OutboxStatus.PENDING]
    assert not pending, f"still pending: {[i.payload for i in pending]}"


def posts(fake: FakeSlack, channel: str | None = None) -> list[Call]:
    return [
        c
        for c in fake.calls_to("chat.postMessage")
        if c.ok and (channel is None or c.args.get("channel") == channel)
    ]


def waits(db: Database) -> list[ResponseWait]:
    with db.session() as session:
        rows = session.scalars(select(ResponseWait).order_by(ResponseWait.id)).all()
        session.expunge_all()
        return list(rows)


def killed_then_recovered(
    here: Context, child_env: dict[str, str], clock: Clock, killed: dict[str, Any]
) -> None:
    """The reminder worker runs in a child process (tests/timers/child_worker.py) that the
    fake's on_call hook kills -9 (it reads `killed["pid"]`); then a worker of this process, as
    the next `ditbot serve` would, delivers until every reminder item is done."""
    import signal

    process = subprocess.Popen(
        [sys.executable, "-m", "tests.timers.child_worker"],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, **child_env},
        stdout=subprocess.PIPE,
        text=True,
    )
    killed["pid"] = process.pid
    try:
        assert process.wait(60) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
    worker = ReminderWorker(
        here, WebClient(token="xoxb-test-token", base_url=child_env["SLACK_API_URL"]), clock=clock
    )
    deadline = time.monotonic() + 20
    while [i.status for i in reminder_items(here.db)] != ["done"]:
        assert time.monotonic() < deadline, "not recovered"
        if not worker.run_once():
            time.sleep(0.1)  # nothing ready yet: the dead worker's lease is running out
