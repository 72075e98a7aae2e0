"""The weekly digest posted by `ditbot serve` at DITBOT_DIGEST_AT: at the time and not before,
once per week across processes and restarts, once after downtime, again when Slack failed."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.workers.digest import DigestScheduler, build_digests, digest_mark, post_one
from ditbot.cli.serve import build
from ditbot.core.context import Context
from ditbot.core.settings import Settings, SettingsError
from ditbot.playground.slack_api import FakeSlack
from storage import outbox
from tests.slack.harness import texts
from tests.timers.conftest import MANAGERS, Clock, paris, record, settings_with

WEEK_48 = "from Nov 23, 2026 to Nov 29, 2026"


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "DITBOT_DIGEST_AT": "mon 08:30", "DITBOT_LOCALE": "en"}


@pytest.fixture
def week_48(ctx: Context, seeded: dict[str, Any]) -> None:
    record(ctx, "received", paris(2026, 11, 23, 9, 0))
    record(ctx, "sent", paris(2026, 11, 23, 11, 0))


def scheduler(ctx: Context, slack: FakeSlack, clock: Clock, owner: str = "a") -> DigestScheduler:
    client = WebClient(token="xoxb-test-token", base_url=slack.base_url)
    return DigestScheduler(ctx, client, clock=clock, every=0, owner=owner)


def due_now(ctx: Context, slack: FakeSlack) -> Clock:
    """A clock at Monday 30 Nov 08:30, the schedule started by a scan at 08:00."""
    clock = Clock(paris(2026, 11, 30, 8, 0))
    assert scheduler(ctx, slack, clock).scan_once() == []
    clock.now = paris(2026, 11, 30, 8, 30)
    return clock


def digests_posted(slack: FakeSlack) -> list[str]:
    """The text of each digest in the managers' channel (top level, as Slack shows it)."""
    return [texts(m) for m in slack.conversation(MANAGERS) if "Weekly digest" in m.get("text", "")]


def test_posted_at_the_time_not_before_and_once_with_its_chart(
    ctx: Context, slack: FakeSlack, week_48: None
) -> None:
    clock = Clock(paris(2026, 11, 30, 8, 0))
    first = scheduler(ctx, slack, clock)
    assert first.scan_once() == []  # the schedule starts: not last week's digest now
    clock.now = paris(2026, 11, 30, 8, 29)
    assert first.scan_once() == []
    assert digests_posted(slack) == []
    clock.now = paris(2026, 11, 30, 8, 30)
    assert first.scan_once() == ["all"]
    (shown,) = digests_posted(slack)
    assert WEEK_48 in shown
    (message,) = slack.calls_to("chat.postMessage")
    (done,) = slack.calls_to("files.completeUploadExternal")
    assert done.args["thread_ts"] == message.response["ts"]
    clock.now = paris(2026, 11, 30, 8, 31)
    second = scheduler(ctx, slack, clock, owner="b")  # another `ditbot serve`, same database
    assert second.scan_once() == []
    assert first.scan_once() == []
    assert len(digests_posted(slack)) == 1


def test_a_restart_after_weeks_down_posts_the_week_just_ended_once(
    ctx: Context, slack: FakeSlack, week_48: None
) -> None:
    clock = Clock(paris(2026, 11, 30, 8, 0))
    assert scheduler(ctx, slack, clock).scan_once() == []
    clock.now = paris(2026, 12, 16, 10, 0)  # down on 30 Nov, 7 Dec and 14 Dec at 08:30
    assert scheduler(ctx, slack, clock).scan_once() == ["all"]
    (shown,) = digests_posted(slack)
    assert "from Dec 7, 2026 to Dec 13, 2026" in shown
    assert scheduler(ctx, slack, clock, owner="c").scan_once() == []
    clock.now = paris(2026, 12, 21, 8, 30)  # and the schedule goes on
    assert scheduler(ctx, slack, clock).scan_once() == ["all"]
    assert "from Dec 14, 2026 to Dec 20, 2026" in digests_posted(slack)[-1]


def test_slack_failing_loses_nothing_and_doctor_sees_why(
    ctx: Context, slack: FakeSlack, week_48: None
) -> None:
    clock = due_now(ctx, slack)
    worker = scheduler(ctx, slack, clock)
    slack.fail_next("chat.postMessage", status=200, body={"ok": False, "error": "fatal_error"})
    assert worker.scan_once() == []
    assert digests_posted(slack) == []
    with ctx.db.session() as session:
        (lane,) = outbox.lane_errors(session)
        assert (lane.lane, lane.last_error) == ("digest@all", "digest of all: fatal_error")
    clock.now = paris(2026, 11, 30, 8, 31)
    assert worker.scan_once() == ["all"]
    assert len(digests_posted(slack)) == 1 and WEEK_48 in digests_posted(slack)[0]
    with ctx.db.session() as session:
        assert outbox.lane_errors(session) == []


def test_a_chart_that_failed_after_its_message_is_uploaded_in_its_thread_next_scan(
    ctx: Context, slack: FakeSlack, week_48: None
) -> None:
    clock = due_now(ctx, slack)
    worker = scheduler(ctx, slack, clock)
    slack.fail_next("files.getUploadURLExternal", status=200, body={"ok": False, "error": "x"})
    assert worker.scan_once() == []
    assert len(digests_posted(slack)) == 1  # the message went out, the chart did not
    clock.now = paris(2026, 11, 30, 8, 31)
    assert worker.scan_once() == ["all"]
    parent, reply = slack.conversation(MANAGERS)
    assert len(digests_posted(slack)) == 1  # not posted again
    assert parent["reply_count"] == 1 and reply["thread_ts"] == parent["ts"]
    assert reply["files"][0]["name"] == "digest-all.png"
    assert worker.scan_once() == []
    assert len(slack.calls_to("files.completeUploadExternal")) == 1


def test_a_process_busy_posting_is_not_doubled_and_a_post_before_a_crash_not_repeated(
    ctx: Context, slack: FakeSlack, week_48: None
) -> None:
    clock = due_now(ctx, slack)
    with ctx.db.session() as session:  # another process holds the lane: it is posting
        assert outbox.acquire_lane(session, "digest@all", "other", lease_seconds=60) is not None
    assert scheduler(ctx, slack, clock).scan_once() == []
    assert digests_posted(slack) == []
    # The other process posted, then died before recording it; its lease is let go.
    client = WebClient(token="xoxb-test-token", base_url=slack.base_url)
    (digest,) = build_digests(ctx, clock.now)
    post_one(client, digest, digest_mark("all", "2026-11-23"))
    with ctx.db.session() as session:
        outbox.release_lane(session, "digest@all", "other")
    assert scheduler(ctx, slack, clock).scan_once() == ["all"]  # recorded, not posted again
    assert len(digests_posted(slack)) == 1
    assert scheduler(ctx, slack, clock).scan_once() == []


@pytest.mark.parametrize("value", ["lundi 08:30", "mon 8h30", "mon 24:00", "monday"])
def test_a_malformed_digest_time_is_refused_naming_the_field_and_the_format(
    env: dict[str, str], tmp_path: Path, value: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        settings_with(env, tmp_path, DITBOT_DIGEST_AT=value)
    (problem,) = caught.value.problems
    assert problem.startswith(f"DITBOT_DIGEST_AT='{value}'")
    assert "mon 08:30" in problem


def test_no_digest_when_the_time_is_emptied(
    ctx: Context, db: Any, env: dict[str, str], tmp_path: Path, slack: FakeSlack, week_48: None
) -> None:
    clock = due_now(ctx, slack)
    off = Context(settings=settings_with(env, tmp_path, DITBOT_DIGEST_AT=""), db=db)
    off_scheduler = scheduler(off, slack, clock)
    assert off_scheduler.run_once() is False
    assert off_scheduler.scan_once() == []
    assert digests_posted(slack) == []


def test_serve_runs_the_digest_only_when_its_time_is_set(
    settings: Settings, env: dict[str, str], tmp_path: Path, slack: FakeSlack
) -> None:
    for given, expected in (
        (settings, True),
        (settings_with(env, tmp_path, DITBOT_DIGEST_AT=""), False),
    ):
        runtime = build(given)
        try:
            assert ("digest" in {w.name for w in runtime.dispatcher.workers}) is expected
        finally:
            runtime.ctx.db.dispose()


def test_two_processes_at_the_same_moment_post_it_once(
    ctx: Context, slack: FakeSlack, week_48: None
) -> None:
    clock = due_now(ctx, slack)
    workers = [scheduler(ctx, slack, clock, owner=name) for name in ("a", "b", "c")]
    start = threading.Barrier(len(workers))
    posted: list[list[str]] = []

    def run(worker: DigestScheduler) -> None:
        start.wait()
        posted.append(worker.scan_once())

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(posted) == [[], [], ["all"]]
    assert len(digests_posted(slack)) == 1
    with ctx.db.session() as session:  # and nobody keeps the lane
        lane = outbox.acquire_lane(session, "digest@all", "d", lease_seconds=1)
        assert lane is not None
