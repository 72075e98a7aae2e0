"""Fixtures of the notification tests: the Slack fake, channels, a worker, message helpers."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.workers.notifications import NotificationWorker
from ditbot.core.context import Context
from ditbot.core.settings import Settings
from ditbot.domain.exchanges import Actor, ExchangeInput, log_exchange
from ditbot.domain.portal import PortalMessage, post_message
from ditbot.playground.slack_api import Call, FakeSlack
from storage import repositories as repo
from storage.db import Database
from storage.models import OutboxItem

PORTAL = "CPORTAL"
RELANCES = "CRELANCES"
MARK = re.compile(r"\[m(\d+)\]")


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """The fake, with its Slack-like one-post-per-second limit off: these tests run the worker
    unpaced (pace 0) to be quick; the tests of pacing turn the limit back on."""
    with FakeSlack() as server:
        server.add_channel(PORTAL, name="dispatch")
        server.add_channel(RELANCES, name="relances")
        server.enforce_rate_limit("chat.postMessage", None)
        yield server


@pytest.fixture
def nctx(env: dict[str, str], fake: FakeSlack, db: Database, tmp_path: Path) -> Context:
    settings = Settings.from_env(
        {
            **env,
            "SLACK_API_URL": fake.base_url,
            "DITBOT_CHANNEL_PORTAL": PORTAL,
            "DITBOT_CHANNEL_RELANCES": RELANCES,
        },
        dotenv=tmp_path / "none.env",
    )
    return Context(settings=settings, db=db)


@pytest.fixture
def worker(nctx: Context, seeded: dict[str, Any]) -> NotificationWorker:
    """A worker with no pace (the `fake` of these tests enforces no rate unless asked to)."""
    return NotificationWorker(nctx, pace_seconds=0.0, backoff_base=0.05, max_wait=2.0)


def portal(
    ctx: Context,
    n: int,
    *,
    dit: str = "DIT-2026-0001",
    contact: str = "ACME-PM",
    relance: bool = False,
    text: str = "",
) -> int:
    """A portal message marked [m<n>]; returns its exchange id."""
    with ctx.db.session() as session:
        exchange, _created = post_message(
            session,
            PortalMessage(
                dit=dit,
                contact=contact,
                detail=f"[m{n}] {text}".strip(),
                relance=relance,
                message_id=f"m{n}",
            ),
            window_days=7,
            relance_after_hours=24,
        )
        return exchange.id


def staff_relance(ctx: Context, n: int, dit: str = "DIT-2026-0003") -> int:
    """A relance logged by staff from Slack (a call where the client chased us)."""
    with ctx.db.session() as session:
        mle = repo.collaborator_by_code(session, "MLE")
        exchange, _created = log_exchange(
            session,
            dit,
            ExchangeInput(
                direction="received", detail=f"[m{n}] relance téléphonique", type_code="relance"
            ),
            Actor(source="slack", collaborator=mle),
        )
        return exchange.id


def pending(db: Database) -> int:
    with db.session() as session:
        return (
            session.scalar(select(func.count(OutboxItem.id)).where(OutboxItem.status == "pending"))
            or 0
        )


def drain(worker: NotificationWorker, db: Database, timeout: float = 20.0) -> None:
    """Run the worker until no notification is pending (fails after `timeout`)."""
    deadline = time.monotonic() + timeout
    while pending(db):
        if time.monotonic() > deadline:
            raise AssertionError(f"{pending(db)} notification(s) still pending")
        worker.run_once()


def texts(value: Any) -> Iterator[dict[str, Any]]:
    """Every text object inside a block structure."""
    if isinstance(value, dict):
        if value.get("type") in ("plain_text", "mrkdwn") and "text" in value:
            yield value
        for child in value.values():
            yield from texts(child)
    elif isinstance(value, list):
        for child in value:
            yield from texts(child)


def marks(call: Call) -> list[int]:
    """The [m<n>] markers a posted message carries (in its blocks)."""
    found: list[int] = []
    for text in texts(call.args.get("blocks", [])):
        found += [int(n) for n in MARK.findall(text["text"])]
    return found


def posted(call: Call) -> bool:
    """Slack accepted the call (a dropped connection has no answer, hence no post)."""
    return isinstance(call.response, dict) and call.response.get("ok") is True


def posts(fake: FakeSlack, channel: str, ok_only: bool = True) -> list[Call]:
    return [
        c
        for c in fake.calls_to("chat.postMessage")
        if c.args.get("channel") == channel and (posted(c) or not ok_only)
    ]


def in_order(calls: list[Call]) -> Callable[[], list[int]]:
    return lambda: [m for c in calls for m in marks(c)]
