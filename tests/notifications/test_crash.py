"""kill -9 between Slack's accept and the commit: the next process does not post it again.

The fake kills the worker's process from inside the call (FakeSlack's `on_call` runs once
the post is stored, before the answer goes back): Slack has the message, ditbot never learns
it. The outbox item is left leased to a dead process. The next worker finds the post in the
channel's history by its metadata, records it, and posts nothing twice; short leases (kept
alive while a post is in flight) make that a matter of seconds.

The killed worker takes a lease of CHILD_LEASE seconds, not the production 10 s, so that the
test does not spend its time waiting for it to expire; the production lease is checked apart
(test_a_post_in_flight_holds_the_documented_lease).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.workers.notifications import NotificationWorker
from ditbot.core.context import Context
from ditbot.core.settings import Settings
from ditbot.playground.slack_api import Call, FakeSlack
from storage import repositories as repo
from storage.models import DeliveryLane, OutboxItem
from storage.types import utcnow
from tests.notifications.conftest import PORTAL, RELANCES, marks, portal

ROOT = Path(__file__).resolve().parents[2]
CHILD_LEASE = 2.0  # seconds; the LeaseKeeper renews it every third of that while in flight
PRODUCTION_LEASE = 10.0  # bot/workers/notifications.py's docstring, the README's "seconds"


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for child in started:
        if child.poll() is None:
            child.kill()
        child.wait(10)


class KillOnAccept:
    """`on_call` of the fake: kills `pid` once Slack has taken a post of the kind asked."""

    def __init__(self, reply: bool) -> None:
        self.reply = reply
        self.pid: int | None = None
        self.killed = threading.Event()
        self.at = 0.0

    def __call__(self, call: Call) -> None:
        if call.method != "chat.postMessage" or not call.ok or self.pid is None:
            return
        if ("thread_ts" in call.args) != self.reply:
            return
        os.kill(self.pid, signal.SIGKILL)
        self.pid, self.at = None, time.monotonic()
        self.killed.set()


def item_status(ctx: Context, exchange_id: int) -> tuple[str, str | None]:
    with ctx.db.session() as session:
        for item in session.scalars(select(OutboxItem)):
            if item.payload.get("exchange_id") == exchange_id:
                return item.status, item.lease_owner
    raise AssertionError(f"no outbox item for exchange {exchange_id}")


@pytest.mark.parametrize("kind", ["parent", "reply"])
def test_a_post_slack_took_before_a_kill_is_not_posted_again(
    env: dict[str, str],
    seeded: dict[str, Any],
    tmp_path: Path,
    children: list[subprocess.Popen[bytes]],
    kind: str,
) -> None:
    killer = KillOnAccept(reply=kind == "reply")
    with FakeSlack(on_call=killer) as fake:  # one post per second per channel, as Slack
        fake.add_channel(PORTAL, name="dispatch")
        fake.add_channel(RELANCES, name="relances")
        child_env = {
            **env,
            "SLACK_API_URL": fake.base_url,
            "DITBOT_CHANNEL_PORTAL": PORTAL,
            "DITBOT_CHANNEL_RELANCES": RELANCES,
        }
        ctx = Context.from_settings(Settings.from_env(child_env, dotenv=tmp_path / "none.env"))
        worker = NotificationWorker(ctx)  # the next `ditbot serve`, production defaults
        if kind == "reply":
            portal(ctx, 1)
            while not worker.run_once():  # the thread's parent, posted and recorded
                pass
        exchange_id = portal(ctx, 2)

        child = subprocess.Popen(
            [sys.executable, "-m", "tests.notifications.child_worker"],
            cwd=ROOT,
            env={**os.environ, **child_env, "CHILD_LEASE_SECONDS": str(CHILD_LEASE)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        children.append(child)
        killer.pid = child.pid
        assert killer.killed.wait(60), "the worker never posted"
        assert child.wait(10) == -signal.SIGKILL
        status, owner = item_status(ctx, exchange_id)
        assert status == "pending" and owner is not None  # in flight when it died

        while item_status(ctx, exchange_id)[0] != "done":
            assert time.monotonic() - killer.at < 30, "not recovered within 30 s"
            if not worker.run_once():
                time.sleep(0.05)
        recovery = time.monotonic() - killer.at

        after = portal(ctx, 3)  # and the thread goes on
        while item_status(ctx, after)[0] != "done":
            if not worker.run_once():
                time.sleep(0.05)

        accepted = [c for c in fake.calls_to("chat.postMessage") if c.ok]
        parents = [c for c in accepted if "thread_ts" not in c.args]
        [parent] = parents  # one parent message, not two
        replies = [c for c in accepted if "thread_ts" in c.args]
        assert all(c.args["thread_ts"] == parent.response["ts"] for c in replies)
        told = [marks(c) for c in accepted]
        assert sorted(m for ms in told for m in ms) == ([1, 2, 3] if kind == "reply" else [2, 3])
        looked = "conversations.replies" if kind == "reply" else "conversations.history"
        [lookup] = fake.calls_to(looked)
        assert lookup.args["include_all_metadata"] in (True, "1", "true")
        with ctx.db.session() as session:
            dit = repo.dit_by_number(session, "DIT-2026-0001")
            assert dit is not None
            thread = repo.slack_thread(session, PORTAL, dit.id)
            assert thread is not None and thread.ts == parent.response["ts"]
        ctx.db.dispose()
    # Taken up once the dead worker's lease ran out, not at once (its last renewal came a third
    # of the lease before the kill at most; a quarter leaves room for a renewal a little late),
    # and within 5 s of it, as with the 10 s lease.
    assert CHILD_LEASE / 4 < recovery < CHILD_LEASE + 5, f"recovered in {recovery:.1f} s"


def test_a_post_in_flight_holds_the_documented_lease(
    env: dict[str, str], seeded: dict[str, Any], tmp_path: Path
) -> None:
    """A worker with production defaults leases the item and its channel for 10 s while Slack
    takes the post: a process killed then delays that notification by 10 s at most."""
    seen: dict[str, float | None] = {}  # seconds of lease left when Slack took the post

    def leases(call: Call) -> None:  # runs in the fake's thread: it records, the test asserts
        if call.method != "chat.postMessage" or not call.ok:
            return
        now = utcnow()
        with ctx.db.session() as session:
            items = [i for i in session.scalars(select(OutboxItem)) if i.kind == "notify"]
            lane = session.get(DeliveryLane, f"slack:{PORTAL}")
            until = {
                "item": items[0].lease_until if len(items) == 1 else None,
                "lane": lane.lease_until if lane is not None else None,
            }
        seen.update({k: (v - now).total_seconds() if v else None for k, v in until.items()})

    with FakeSlack(on_call=leases) as fake:
        fake.add_channel(PORTAL, name="dispatch")
        settings = Settings.from_env(
            {**env, "SLACK_API_URL": fake.base_url, "DITBOT_CHANNEL_PORTAL": PORTAL},
            dotenv=tmp_path / "none.env",
        )
        ctx = Context.from_settings(settings)
        worker = NotificationWorker(ctx)  # production defaults, as `ditbot serve`
        exchange_id = portal(ctx, 1)
        while item_status(ctx, exchange_id)[0] != "done":
            if not worker.run_once():
                time.sleep(0.05)
        ctx.db.dispose()
    assert set(seen) == {"item", "lane"}, "Slack never took the post"
    # Taken (or renewed) a moment before Slack answered: close to the whole lease ahead.
    for what, left in seen.items():
        assert left is not None and PRODUCTION_LEASE - 3 < left <= PRODUCTION_LEASE, (what, left)
