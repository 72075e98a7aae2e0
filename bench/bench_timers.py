"""Timer benchmark (issue 12): the reminder scan and `/dit stats` for a month, at size.

Builds a synthetic database (bench_storage's generator: 100,000 DITs, 2,000,000 exchanges over a
year by default), fills the DITs' `waiting_since` and their wait rows as migration 0006 does,
and leaves most waits already handled (reminded and escalated, or due later) with `--due` of
them due now, as in a running ditbot. Then it times:

- the reminder scan (`ditbot.domain.timers.scan`), one pass with the due waits and steady
  passes with none, each in its own rolled-back transaction (nothing is enqueued for good);
- `/dit stats` for the last 30 days (`ditbot.domain.stats.compute`), for everyone (wall and
  CPU time: the machine may be shared);

and prints the query plans of the scan's and the figures' main queries.

Targets: a scan pass under 50 ms (PostgreSQL and SQLite), the month's figures under 300 ms.

    python -m bench.bench_timers [--database-url URL] [--dits N] [--exchanges N] [--due N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.bench_storage import NOW, build, bulk_load  # noqa: E402
from bench.scratch import scratch_database  # noqa: E402
from ditbot.core.settings import Settings, normalize_database_url  # noqa: E402
from ditbot.domain import stats, timers  # noqa: E402
from ditbot.domain.business_time import BusinessCalendar  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import ResponseWait  # noqa: E402

SCAN_TARGET_MS = 50.0
STATS_TARGET_MS = 300.0
BACKFILL = (
    """
    UPDATE dits SET waiting_since = (
        SELECT MIN(r.occurred_at) FROM exchanges r
        WHERE r.dit_id = dits.id AND r.deleted_at IS NULL AND r.direction = 'received'
          AND NOT EXISTS (
            SELECT 1 FROM exchanges s
            WHERE s.dit_id = dits.id AND s.deleted_at IS NULL AND s.direction = 'sent'
              AND s.occurred_at >= r.occurred_at))
    WHERE last_direction = 'received'
    """,
    """
    INSERT INTO response_waits (dit_id, started_at, first, next_check_at, reminded_at,
                                escalated_at, created_at)
    SELECT d.id, d.waiting_since, false, NULL, d.waiting_since, d.waiting_since, d.waiting_since
    FROM dits d
    WHERE d.waiting_since IS NOT NULL AND d.state NOT IN ('cloturee', 'annulee')
    """,
)


def ms(samples: Sequence[float]) -> str:
    return f"p50 {statistics.median(samples) * 1000:.1f} ms, max {max(samples) * 1000:.1f} ms"


def timed(
    runs: int, action: Callable[[], Any], clock: Callable[[], float] = time.perf_counter
) -> list[float]:
    samples = []
    for _ in range(runs):
        began = clock()
        action()
        samples.append(clock() - began)
    return samples


def plan(database: Database, statement: Any) -> str:
    """The database's plan of `statement` (EXPLAIN / EXPLAIN QUERY PLAN)."""
    dialect = database.engine.dialect
    compiled = statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
    with database.engine.connect() as connection:
        rows = connection.execute(text(prefix + str(compiled))).all()
    if dialect.name == "sqlite":
        return "\n".join(f"    {row[-1]}" for row in rows)
    return "\n".join(f"    {row[0]}" for row in rows)


def plan_sql(database: Database, statement: str, parameters: Any) -> str:
    """The database's plan of one statement as it was sent, with its parameters."""
    postgresql = database.engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgresql else "EXPLAIN QUERY PLAN "
    with database.engine.connect() as connection:
        rows = connection.exec_driver_sql(prefix + statement, parameters).all()
    return "\n".join(f"    {row[0] if postgresql else row[-1]}" for row in rows)


def statements_of(database: Database, action: Callable[[], Any]) -> list[tuple[str, Any]]:
    """The statements (and parameters) that `action` sends: the plans are those of the
    queries that really run."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        sent.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    return sent


def prepare(database: Database, due: int) -> int:
    """Waits of the DITs waiting on us, all handled but `due` of them; how many waits."""
    with database.engine.begin() as connection:
        for statement in BACKFILL:
            connection.execute(text(statement))
    with database.session() as session:
        ids = list(session.scalars(select(ResponseWait.id).order_by(ResponseWait.id)))
        chosen = ids[:: max(1, len(ids) // max(due, 1))][:due]
        session.execute(
            update(ResponseWait)
            .where(ResponseWait.id.in_(chosen))
            .values(next_check_at=NOW - timedelta(minutes=1), reminded_at=None, escalated_at=None)
        )
    return len(ids)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_timers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--database-url", help="PostgreSQL server or SQLite path (default: temp)")
    parser.add_argument("--dits", type=int, default=100_000)
    parser.add_argument("--exchanges", type=int, default=2_000_000)
    parser.add_argument("--due", type=int, default=20, help="waits due at the first scan")
    parser.add_argument("--runs", type=int, default=20, help="timed steady scans and stats runs")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    url = normalize_database_url(args.database_url) if args.database_url else None
    backend = (
        "sqlite" if url is None or url.startswith("sqlite") else make_url(url).get_backend_name()
    )

    def say(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    settings = Settings.from_env({}, dotenv=Path(os.devnull))
    calendar = BusinessCalendar.from_settings(settings)
    with scratch_database(url, "timers", args.keep) as scratch:
        database = Database(scratch)
        try:
            database.upgrade()
            say(f"building {args.dits:,} DITs and {args.exchanges:,} exchanges…")
            began = time.perf_counter()
            with bulk_load(database) as connection:
                build(connection, args.dits, args.exchanges, args.seed)
            waits = prepare(database, args.due)
            say(f"built in {time.perf_counter() - began:.0f} s; the exchanges' figures…")
            began = time.perf_counter()
            with database.engine.begin() as connection:
                figures_written = timers.backfill_figures(connection, calendar)
            backfill_seconds = time.perf_counter() - began
            if database.engine.dialect.name == "postgresql":
                # VACUUM as autovacuum does in a running database: the visibility map lets the
                # figures be read from their covering index alone (ANALYZE only: heap reads).
                with database.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                ) as connection:
                    connection.execute(text("VACUUM ANALYZE"))
            else:
                with database.engine.connect() as connection:
                    connection.exec_driver_sql("ANALYZE")
                    connection.commit()
            say(f"{waits:,} waits, {figures_written:,} figures in {backfill_seconds:.0f} s")

            # The scan's own calendar, built as the reminder worker builds it (the one above
            # has worked out every day of the year for the figures).
            scan_calendar = timers.scan_calendar(settings, NOW)

            def scan() -> int:
                with database.engine.connect() as connection:
                    with Session(bind=connection) as session:
                        transaction = connection.begin()
                        result = timers.scan(
                            session, now=NOW, calendar=scan_calendar, settings=settings
                        )
                        session.flush()
                        transaction.rollback()
                        return len(result.enqueued)

            first = timed(1, scan)
            enqueued = scan()
            # Steady state: mark the due waits handled, as the first pass would have.
            with database.session() as session:
                session.execute(
                    update(ResponseWait)
                    .where(ResponseWait.next_check_at <= NOW)
                    .values(next_check_at=None, reminded_at=NOW, escalated_at=NOW)
                )
            steady = timed(args.runs, scan)
            period = stats.parse_period("30d", NOW, calendar.zone)

            def figures() -> stats.Stats:
                with database.session() as session:
                    return stats.compute(session, period, calendar, settings)

            month = timed(max(3, args.runs // 4), figures)
            # This process's CPU: all of it on SQLite, the client's share on PostgreSQL.
            month_cpu = timed(max(3, args.runs // 4), figures, time.process_time)
            result = figures()
            due_query = (
                select(ResponseWait.id)
                .where(ResponseWait.next_check_at <= NOW, ResponseWait.ended_at.is_(None))
                .order_by(ResponseWait.next_check_at, ResponseWait.id)
                .limit(200)
            )
            scan_plan = plan(database, due_query)
            stats_plans = [
                (statement, plan_sql(database, statement, parameters))
                for statement, parameters in statements_of(database, figures)
                if "exchange_figures.occurred_at >=" in statement
            ]
        finally:
            database.dispose()
    scan_ok = (
        max(first) * 1000 < SCAN_TARGET_MS and statistics.median(steady) * 1000 < SCAN_TARGET_MS
    )
    stats_ok = statistics.median(month) * 1000 < STATS_TARGET_MS
    print(f"{backend}, {args.dits:,} DITs, {args.exchanges:,} exchanges, {waits:,} waits")
    print(f"backfill of the exchanges' figures (migration 0008): {backfill_seconds:.1f} s")
    print(f"scan with {args.due} due ({enqueued} steps enqueued): {ms(first)}")
    verdict = "ok" if scan_ok else "MISSED"
    print(f"scan, nothing due ({args.runs} passes): {ms(steady)}")
    print(f"  target: every pass < {SCAN_TARGET_MS:.0f} ms: {verdict}")
    print(
        f"/dit stats, last 30 days ({result.total.exchanges:,} exchanges, "
        f"{result.total.messages:,} client messages): {ms(month)}  "
        f"target < {STATS_TARGET_MS:.0f} ms: {'ok' if stats_ok else 'MISSED'}"
    )
    print(f"  CPU of this process: {ms(month_cpu)}; load average {os.getloadavg()}")
    print("plan of the scan's due query:")
    print(scan_plan)
    for statement, statement_plan in stats_plans:
        print(f"plan of the figures' query {' '.join(statement.split())[:90]}…:")
        print(statement_plan)
    return 1 if args.check and not (scan_ok and stats_ok) else 0


if __name__ == "__main__":
    sys.exit(main())
