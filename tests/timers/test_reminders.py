"""Reminders and escalations through the Slack fake, with a controllable clock (issue 12).

DIT-2026-0001 (technician Jeanne Dupuis, Slack UJDU); first-response target 4 h of business
time (8:00-18:00 Europe/Paris, Monday to Friday), reminder at 75 % (3 h), escalation at 100 %.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.workers.reminders import ReminderScanner, ReminderWorker
from ditbot.core.context import Context
from ditbot.playground.slack_api import FakeSlack
from storage.vocabulary import WaitStep
from tests.slack.harness import SlackDriver, texts
from tests.timers.conftest import (
    MANAGERS,
    Clock,
    paris,
    posts,
    record,
    reminder_items,
    settings_with,
    waits,
)
from tests.timers.conftest import drain as deliver


def scan_at(scanner: ReminderScanner, clock: Clock, *when: int) -> list[tuple[int, WaitStep]]:
    clock.now = paris(*when)
    return scanner.scan_once().enqueued


def test_reminder_then_escalation_each_sent_once(
    ctx: Context, scanner: ReminderScanner, worker: ReminderWorker, clock: Clock, slack: FakeSlack
) -> None:
    record(ctx, "received", paris(2026, 11, 27, 17, 50))  # Friday 17:50
    assert scan_at(scanner, clock, 2026, 11, 27, 17, 55) == []
    assert scan_at(scanner, clock, 2026, 11, 28, 12, 0) == []  # Saturday: nothing counts
    assert scan_at(scanner, clock, 2026, 11, 30, 10, 49) == []  # 2 h 59 of business time
    assert [step for _w, step in scan_at(scanner, clock, 2026, 11, 30, 10, 51)] == ["reminder"]
    deliver(worker, ctx.db)
    dm = posts(slack)
    assert [c.args["channel"] for c in dm] == ["UJDU"]
    shown = texts(dm[0].args["blocks"])
    assert "DIT-2026-0001" in shown and "Acme SA" in shown
    actions = [e["action_id"] for b in dm[0].args["blocks"] for e in b.get("elements", [])]
    assert actions == ["reminder_ack", "reminder_call", "open_panel", "reminder_snooze"]
    # Looked at again and again: nothing more until the escalation is due (Monday 11:50).
    for minute in (52, 59):
        assert scan_at(scanner, clock, 2026, 11, 30, 10, minute) == []
    assert scan_at(scanner, clock, 2026, 11, 30, 11, 49) == []
    assert [step for _w, step in scan_at(scanner, clock, 2026, 11, 30, 11, 50)] == ["escalation"]
    deliver(worker, ctx.db)
    assert scan_at(scanner, clock, 2026, 11, 30, 16, 0) == []
    assert scan_at(scanner, clock, 2026, 12, 1, 9, 0) == []
    deliver(worker, ctx.db)
    escalations = posts(slack, MANAGERS)
    assert len(escalations) == 1 and len(posts(slack)) == 2
    assert "Jeanne Dupuis" in texts(escalations[0].args["blocks"])
    assert "DIT-2026-0001" in escalations[0].args["text"]


def test_nothing_is_sent_once_the_client_was_answered(
    ctx: Context, scanner: ReminderScanner, worker: ReminderWorker, clock: Clock, slack: FakeSlack
) -> None:
    record(ctx, "received", paris(2026, 11, 27, 17, 50))
    record(ctx, "sent", paris(2026, 11, 30, 9, 0))  # answered on Monday at 9:00
    assert scan_at(scanner, clock, 2026, 11, 30, 12, 0) == []
    assert scan_at(scanner, clock, 2026, 12, 1, 12, 0) == []
    deliver(worker, ctx.db)
    assert posts(slack) == []
    assert waits(ctx.db)[0].ended_at is not None


def test_a_reminder_enqueued_before_the_answer_is_not_delivered_after_it(
    ctx: Context, scanner: ReminderScanner, worker: ReminderWorker, clock: Clock, slack: FakeSlack
) -> None:
    record(ctx, "received", paris(2026, 11, 30, 8, 0))
    assert len(scan_at(scanner, clock, 2026, 11, 30, 11, 1)) == 1
    record(ctx, "sent", paris(2026, 11, 30, 11, 2))  # answered while the DM was queued
    deliver(worker, ctx.db)
    assert posts(slack) == []
    assert [item.status for item in reminder_items(ctx.db)] == ["done"]


def test_a_new_client_message_after_our_answer_starts_a_new_wait(
    ctx: Context, scanner: ReminderScanner, worker: ReminderWorker, clock: Clock, slack: FakeSlack
) -> None:
    record(ctx, "received", paris(2026, 11, 30, 8, 0))
    assert len(scan_at(scanner, clock, 2026, 11, 30, 11, 0)) == 1
    deliver(worker, ctx.db)
    record(ctx, "sent", paris(2026, 11, 30, 11, 30))
    record(ctx, "received", paris(2026, 11, 30, 13, 0))
    # The next-response target (8 h): reminder at 6 h, Tuesday 9:00 (5 h on Monday, 1 h Tuesday).
    assert scan_at(scanner, clock, 2026, 12, 1, 8, 59) == []
    assert [step for _w, step in scan_at(scanner, clock, 2026, 12, 1, 9, 0)] == ["reminder"]
    deliver(worker, ctx.db)
    assert len(posts(slack, "UJDU")) == 2
    first, second = waits(ctx.db)
    assert first.ended_at is not None and first.first and not second.first


def test_nothing_is_sent_outside_working_hours_unless_configured(
    ctx: Context,
    env: dict[str, str],
    tmp_path: Path,
    seeded: dict[str, Any],
    scanner: ReminderScanner,
    clock: Clock,
) -> None:
    record(ctx, "received", paris(2026, 11, 27, 13, 0))  # reminder due Friday 16:00
    assert scan_at(scanner, clock, 2026, 11, 27, 19, 0) == []  # due, but the office is closed
    assert waits(ctx.db)[0].next_check_at == paris(2026, 11, 30, 8, 0)
    assert scan_at(scanner, clock, 2026, 11, 28, 10, 0) == []
    # Monday at opening: the reminder and the escalation (due Friday 17:00) go out.
    steps = sorted(step for _w, step in scan_at(scanner, clock, 2026, 11, 30, 8, 0))
    assert steps == ["escalation", "reminder"]

    late = Context(settings_with(env, tmp_path, DITBOT_REMINDERS_OFF_HOURS="yes"), ctx.db)
    record(late, "received", paris(2026, 11, 27, 13, 0), dit="DIT-2026-0002")
    night = ReminderScanner(late, clock=Clock(paris(2026, 11, 27, 16, 30)), every=0)
    assert [step for _w, step in night.scan_once().enqueued] == ["reminder"]


def test_a_relance_escalates_at_once(
    ctx: Context, scanner: ReminderScanner, worker: ReminderWorker, clock: Clock, slack: FakeSlack
) -> None:
    record(ctx, "received", paris(2026, 11, 30, 9, 0))
    assert scan_at(scanner, clock, 2026, 11, 30, 9, 30) == []
    record(ctx, "received", paris(2026, 11, 30, 9, 40), type_code="relance")
    assert [step for _w, step in scan_at(scanner, clock, 2026, 11, 30, 9, 41)] == ["escalation"]
    deliver(worker, ctx.db)
    (post,) = [c for c in posts(slack, MANAGERS) if "Relance" in texts(c.args["blocks"])]
    assert "DIT-2026-0001" in post.args["text"]
    # The relance's own notice and this post share the DIT's thread in the managers' channel.
    assert scan_at(scanner, clock, 2026, 11, 30, 12, 0) == [(waits(ctx.db)[0].id, "reminder")]


def test_per_client_targets_win_over_the_global_ones(
    ctx: Context, scanner: ReminderScanner, clock: Clock
) -> None:
    from storage import repositories as repo

    with ctx.db.session() as session:
        client = repo.client_by_code(session, "ACME")
        assert client is not None
        client.first_response_hours = 1.0  # reminder at 45 min
    record(ctx, "received", paris(2026, 11, 30, 9, 0))
    assert scan_at(scanner, clock, 2026, 11, 30, 9, 44) == []
    assert [s for _w, s in scan_at(scanner, clock, 2026, 11, 30, 9, 45)] == ["reminder"]


def test_ack_shows_who_took_it_and_the_escalation_says_so(
    ctx: Context,
    scanner: ReminderScanner,
    worker: ReminderWorker,
    clock: Clock,
    slack: FakeSlack,
    driver: SlackDriver,
) -> None:
    ctx.clock = clock  # the click's time is the controllable clock's
    record(ctx, "received", paris(2026, 11, 30, 8, 0))
    scan_at(scanner, clock, 2026, 11, 30, 11, 0)
    deliver(worker, ctx.db)
    (dm,) = posts(slack, "UJDU")
    clock.now = paris(2026, 11, 30, 11, 7)
    answer = driver.click({"blocks": dm.args["blocks"], "ts": dm.response["ts"]}, "reminder_ack")
    assert answer.status_code == 200
    replaced = driver.last_response()
    assert replaced.get("replace_original") is True
    assert "Jeanne Dupuis" in texts(replaced["blocks"])
    (wait,) = waits(ctx.db)
    assert wait.acked_at == paris(2026, 11, 30, 11, 7)
    assert wait.reminded_at == paris(2026, 11, 30, 11, 0)
    # The timer keeps running: the escalation still comes, naming who took it.
    scan_at(scanner, clock, 2026, 11, 30, 12, 0)
    deliver(worker, ctx.db)
    (escalation,) = posts(slack, MANAGERS)
    shown = texts(escalation.args["blocks"])  # the managers' language: French by default
    assert "Pris en charge par Jeanne Dupuis" in shown


def test_snooze_reminds_again_at_the_chosen_time_once(
    ctx: Context,
    scanner: ReminderScanner,
    worker: ReminderWorker,
    clock: Clock,
    slack: FakeSlack,
    driver: SlackDriver,
) -> None:
    ctx.clock = clock  # Friday 27 Nov. 17:50, Paris: open
    record(ctx, "received", clock.now - timedelta(days=7))
    scanner.scan_once()
    deliver(worker, ctx.db)
    dm = [c for c in posts(slack, "UJDU")][0]
    wait_id = waits(ctx.db)[0].id
    answer = driver.click(
        {"blocks": dm.args["blocks"], "ts": dm.response["ts"]}, "reminder_snooze", f"{wait_id}:2"
    )
    assert answer.status_code == 200
    until = waits(ctx.db)[0].snoozed_until
    assert until == paris(2026, 11, 27, 19, 50)  # two hours on the clock, not business hours
    with_office = ReminderScanner(
        Context(
            settings_with(
                {"DATABASE_URL": str(ctx.db.url), **_env_of(ctx)},
                Path("/nonexistent"),
                DITBOT_REMINDERS_OFF_HOURS="yes",
            ),
            ctx.db,
        ),
        clock=clock,
        every=0,
    )
    clock.now = until - timedelta(minutes=1)
    assert [s for _w, s in with_office.scan_once().enqueued if s == "snooze"] == []
    clock.now = until + timedelta(minutes=1)
    assert [s for _w, s in with_office.scan_once().enqueued if s == "snooze"] == ["snooze"]
    clock.now = until + timedelta(minutes=5)
    assert [s for _w, s in with_office.scan_once().enqueued if s == "snooze"] == []
    before = len(posts(slack, "UJDU"))
    deliver(worker, ctx.db)
    assert len(posts(slack, "UJDU")) == before + 1


def _env_of(ctx: Context) -> dict[str, str]:
    settings = ctx.settings
    return {
        "SLACK_API_URL": settings.slack_api_url,
        "DITBOT_CHANNEL_RELANCES": settings.channel_relances or "",
    }


def test_log_a_call_now_opens_the_sent_form_as_a_call(
    ctx: Context,
    scanner: ReminderScanner,
    worker: ReminderWorker,
    clock: Clock,
    slack: FakeSlack,
    driver: SlackDriver,
) -> None:
    record(ctx, "received", paris(2026, 11, 30, 8, 0))
    scan_at(scanner, clock, 2026, 11, 30, 11, 0)
    deliver(worker, ctx.db)
    (dm,) = posts(slack, "UJDU")
    driver.click({"blocks": dm.args["blocks"], "ts": dm.response["ts"]}, "reminder_call")
    form = driver.last_view("views.open")
    assert form["callback_id"] == "exchange_sent"
    (type_block,) = [b for b in form["blocks"] if b.get("block_id", "").startswith("type")]
    assert type_block["element"]["initial_option"]["value"] == "appel"
