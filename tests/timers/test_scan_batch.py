"""The reminder scan judges many due waits in one pass, each on its own (issue 12's scan cost).

Targets as in test_reminders: first response 4 h of business time, reminder at 75 % (3 h).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from bot.workers.reminders import ReminderScanner
from ditbot.core.context import Context
from storage.vocabulary import WaitStep
from tests.timers.conftest import Clock, paris, record, waits


def _steps(ctx: Context, enqueued: list[tuple[int, WaitStep]]) -> list[tuple[str, WaitStep]]:
    number = {w.id: w.dit.number for w in waits(ctx.db)}
    return sorted((number[wait_id], step) for wait_id, step in enqueued)


def test_waits_due_in_one_pass_are_each_judged_on_their_own(
    ctx: Context, scanner: ReminderScanner, clock: Clock
) -> None:
    record(ctx, "received", paris(2026, 11, 30, 9, 0), dit="DIT-2026-0001")
    record(ctx, "received", paris(2026, 11, 30, 9, 40), dit="DIT-2026-0001", type_code="relance")
    record(ctx, "received", paris(2026, 11, 30, 8, 30), dit="DIT-2026-0002")
    record(ctx, "received", paris(2026, 11, 30, 9, 0), dit="DIT-2026-0003")
    clock.now = paris(2026, 11, 30, 9, 41)
    # All three are looked at; only the DIT with a relance escalates.
    assert _steps(ctx, scanner.scan_once().enqueued) == [("DIT-2026-0001", "escalation")]
    clock.now = paris(2026, 11, 30, 11, 31)
    assert _steps(ctx, scanner.scan_once().enqueued) == [("DIT-2026-0002", "reminder")]
    clock.now = paris(2026, 11, 30, 12, 1)
    assert _steps(ctx, scanner.scan_once().enqueued) == [
        ("DIT-2026-0001", "reminder"),
        ("DIT-2026-0003", "reminder"),
    ]
    clock.now = paris(2026, 11, 30, 13, 1)
    assert _steps(ctx, scanner.scan_once().enqueued) == [
        ("DIT-2026-0002", "escalation"),
        ("DIT-2026-0003", "escalation"),
    ]
    clock.now = paris(2026, 12, 1, 9, 0)
    assert scanner.scan_once().enqueued == []


def _statements_of_scan(ctx: Context, scanner: ReminderScanner) -> tuple[int, list[str]]:
    """How many steps the scan enqueued, and the statements it ran but the outbox inserts."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if not statement.startswith("INSERT INTO outbox"):
            seen.append(statement.split()[0])

    event.listen(ctx.db.engine, "before_cursor_execute", note)
    try:
        enqueued = scanner.scan_once().enqueued
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", note)
    return len(enqueued), seen


def test_the_scan_reads_and_writes_as_much_for_two_due_waits_as_for_one(
    ctx: Context, scanner: ReminderScanner, clock: Clock
) -> None:
    record(ctx, "received", paris(2026, 11, 30, 9, 0), dit="DIT-2026-0001")
    clock.now = paris(2026, 11, 30, 13, 1)
    one = _statements_of_scan(ctx, scanner)
    for number in ("DIT-2026-0002", "DIT-2026-0003"):
        record(ctx, "received", paris(2026, 12, 1, 9, 0), dit=number)
    clock.now = paris(2026, 12, 1, 13, 1)
    two = _statements_of_scan(ctx, scanner)
    assert one[0] == 2 and two[0] == 4  # a reminder and an escalation for each wait
    assert len(two[1]) == len(one[1]), (one, two)
