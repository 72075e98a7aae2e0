"""Each reminder and escalation once per wait: two scanners at once, and a kill -9."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.workers.reminders import ReminderScanner, ReminderWorker
from ditbot.core.context import Context
from ditbot.domain.reference import import_data
from ditbot.playground.slack_api import FakeSlack
from storage import repositories as repo
from storage.db import Database
from tests.timers.conftest import Clock, paris, posts, record, reminder_items
from tests.timers.conftest import drain as deliver

ROOT = Path(__file__).resolve().parents[2]
WAITING = 20


def many_waiting_dits(ctx: Context) -> None:
    with ctx.db.session() as session:
        import_data(
            session,
            {
                "dits": [
                    {
                        "number": f"DIT-2026-1{n:03d}",
                        "client": "ACME",
                        "contact": "ACME-PM",
                        "title": f"Panne {n}",
                        "state": "en_cours",
                        "technician": "JDU" if n % 2 else "MLE",
                        "created_at": "2026-11-20T08:00:00Z",
                    }
                    for n in range(WAITING)
                ]
            },
        )
    for n in range(WAITING):
        record(ctx, "received", paris(2026, 11, 30, 8, 0), dit=f"DIT-2026-1{n:03d}")


def test_two_scanners_at_once_enqueue_each_step_once(
    ctx: Context, seeded: dict[str, Any], db_url: str
) -> None:
    many_waiting_dits(ctx)
    clocks = [paris(2026, 11, 30, 11, 0), paris(2026, 11, 30, 12, 0)]  # reminder, escalation
    databases = [Database(db_url), Database(db_url)]
    errors: list[BaseException] = []
    for moment in clocks:
        start = threading.Barrier(2)

        def run(database: Database, at: Any = moment, start: threading.Barrier = start) -> None:
            scanner = ReminderScanner(Context(ctx.settings, database), clock=Clock(at), every=0)
            start.wait()
            try:
                for _ in range(3):
                    scanner.scan_once()
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=run, args=(d,)) for d in databases]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    for database in databases:
        database.dispose()
    assert errors == []
    steps = Counter(
        (item.payload["wait_id"], item.payload["step"]) for item in reminder_items(ctx.db)
    )
    assert len(steps) == 2 * WAITING
    assert set(steps.values()) == {1}


def child(env: dict[str, str], at: str, where: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.timers.child_scan", at, where],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("where", ["after-commit", "in-scan"])
def test_a_scan_killed_loses_nothing_and_sends_nothing_twice(
    ctx: Context,
    env: dict[str, str],
    worker: ReminderWorker,
    scanner: ReminderScanner,
    clock: Clock,
    slack: FakeSlack,
    where: str,
) -> None:
    record(ctx, "received", paris(2026, 11, 30, 8, 0))
    at = paris(2026, 11, 30, 11, 0)
    process = child(env, at.isoformat(), where)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == where.replace("after-commit", "scanned")
        process.kill()  # SIGKILL: no clean-up, no rollback sent
    finally:
        process.wait(10)
    # The next process (here, this one) scans and delivers: the DM goes out once.
    clock.now = at
    scanner.scan_once()
    deliver(worker, ctx.db)
    clock.now = paris(2026, 11, 30, 11, 5)
    scanner.scan_once()
    deliver(worker, ctx.db)
    assert [c.args["channel"] for c in posts(slack)] == ["UJDU"]
    assert [(i.payload["step"], i.status) for i in reminder_items(ctx.db)] == [("reminder", "done")]


def test_an_escalation_slack_took_before_a_kill_is_not_posted_again(
    ctx: Context,
    env: dict[str, str],
    seeded: dict[str, Any],
    scanner: ReminderScanner,
    clock: Clock,
    tmp_path: Path,
) -> None:
    import signal

    from ditbot.playground.slack_api import Call
    from tests.timers.conftest import MANAGERS, killed_then_recovered, settings_with

    killed: dict[str, Any] = {}

    def kill_on_accept(call: Call) -> None:
        if call.method == "chat.postMessage" and call.ok and killed.get("pid"):
            os.kill(killed.pop("pid"), signal.SIGKILL)

    with FakeSlack(on_call=kill_on_accept) as fake:
        fake.add_channel(MANAGERS, name="managers")
        fake.add_user("UJDU", name="jeanne")
        child_env = {**env, "SLACK_API_URL": fake.base_url}
        here = Context(settings_with(child_env, tmp_path), ctx.db)
        record(here, "received", paris(2026, 11, 30, 8, 0), type_code="relance")
        with ctx.db.session() as session:  # no technician: the escalation alone
            dit = repo.dit_by_number(session, "DIT-2026-0001")
            assert dit is not None
            dit.technician_id = None
        clock.now = paris(2026, 11, 30, 8, 5)
        assert [
            s for _w, s in ReminderScanner(here, clock=clock, every=0).scan_once().enqueued
        ] == ["escalation"]
        # The next process: the lease expires, the item is in doubt, found in the channel.
        killed_then_recovered(here, child_env, clock, killed)
        assert len([c for c in fake.calls_to("chat.postMessage") if c.ok]) == 1
        assert fake.calls_to("conversations.history")
        (item,) = reminder_items(ctx.db)
        assert item.last_error is None  # done, and no failure for `ditbot doctor` to show
