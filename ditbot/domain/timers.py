"""Response timers: since when a client waits on us, and how long we took to answer.

From the exchanges already recorded: a *wait* begins with the client's oldest live message
after our last live one (`Dit.waiting_since`) and ends when we send something (a mail, a
logged call...). The first wait of a DIT (nothing ever sent) has the first-response target,
the later ones the next-response target; both are business hours (ditbot.domain.business_time),
set globally (DITBOT_TARGET_*) and per client (import file and REST API).

Each wait has one `response_waits` row, opened and ended here in the transaction that records
the exchange (under the DIT's row lock), which the reminder scan (bot.workers.reminders) reads.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    bindparam,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, lazyload

from ditbot.domain.business_time import BusinessCalendar
from storage.models import Client, Dit, Exchange, ExchangeFigure, ExchangeType, ResponseWait
from storage.outbox import enqueue
from storage.outbox_payloads import WaitNotice
from storage.types import utcnow
from storage.vocabulary import Direction, WaitStep

# The waits' table as Core sees it (for statements that update many waits at once).
WAITS = cast(Table, ResponseWait.__table__)


class TimerSettings(Protocol):
    """The settings the timers read (ditbot.core.settings.Settings has them)."""

    @property
    def target_first_response_hours(self) -> float: ...
    @property
    def target_next_response_hours(self) -> float: ...
    @property
    def reminder_percent(self) -> int: ...
    @property
    def escalation_percent(self) -> int: ...


@dataclass(frozen=True)
class Targets:
    """Response targets in business hours."""

    first_hours: float
    next_hours: float

    def for_wait(self, first: bool) -> timedelta:
        return timedelta(hours=self.first_hours if first else self.next_hours)


def targets_for(client: Client | None, settings: TimerSettings) -> Targets:
    """The client's own targets where it has them, else the global ones."""
    if client is None:
        return targets_of(None, None, settings)
    return targets_of(client.first_response_hours, client.next_response_hours, settings)


def targets_of(first: float | None, later: float | None, settings: TimerSettings) -> Targets:
    """A client's targets from its two columns (None: the global one)."""
    return Targets(
        first_hours=first if first is not None else settings.target_first_response_hours,
        next_hours=later if later is not None else settings.target_next_response_hours,
    )


# -- the wait of a DIT, kept with its indicators --------------------------------------------


class LiveMoment(NamedTuple):
    """A live exchange of a DIT as its indicators, its wait and its figures see it."""

    id: int
    direction: str
    occurred_at: datetime
    is_relance: bool


@dataclass(frozen=True)
class IndicatorReads:
    """What the indicators, waits and figures of DITs are rewritten from: their live exchanges,
    their stored figures, their open waits (and the one starting at their current wait), one
    indexed query each, for one DIT or for the several of a burst of portal messages."""

    moments: dict[int, list[Any]]
    figures: dict[int, dict[int, Any]]
    waits: dict[int, list[ResponseWait]]

    @classmethod
    def read(cls, session: Session, dits: Sequence[Dit]) -> IndicatorReads:
        """Flushes what the caller changed first (the reads are of the rows it wrote)."""
        ids = [dit.id for dit in dits]
        moments: dict[int, list[Any]] = {dit_id: [] for dit_id in ids}
        for row in session.execute(
            select(
                Exchange.dit_id,
                Exchange.id,
                Exchange.direction,
                Exchange.occurred_at,
                ExchangeType.is_relance,
            )
            .join(ExchangeType, ExchangeType.code == Exchange.type_code)
            .where(Exchange.dit_id.in_(ids), Exchange.deleted_at.is_(None))
        ):
            moments[row.dit_id].append(
                LiveMoment(row.id, row.direction, row.occurred_at, row.is_relance)
            )
        figure = ExchangeFigure.__table__.c
        figures: dict[int, dict[int, Any]] = {dit_id: {} for dit_id in ids}
        for row in session.execute(select(ExchangeFigure.__table__).where(figure.dit_id.in_(ids))):
            figures[row.dit_id][row.exchange_id] = row
        starts = {waiting_since(moments[dit_id])[0] for dit_id in ids} - {None}
        wanted: ColumnElement[bool] = ResponseWait.ended_at.is_(None)
        if starts:
            wanted = or_(wanted, ResponseWait.started_at.in_(starts))
        waits: dict[int, list[ResponseWait]] = {dit_id: [] for dit_id in ids}
        for wait in session.scalars(
            select(ResponseWait)
            .where(ResponseWait.dit_id.in_(ids), wanted)
            .options(lazyload(ResponseWait.dit))
        ):
            waits[wait.dit_id].append(wait)
        return cls(moments, figures, waits)


def waiting_since(moments: Iterable[Any]) -> tuple[datetime | None, bool]:
    """(start of the client's current wait or None, whether we never sent anything), from
    `IndicatorReads.moments`: the client's oldest message at or after our last one."""
    moments = list(moments)
    last_sent = max((m.occurred_at for m in moments if m.direction == Direction.SENT), default=None)
    unanswered = (
        m.occurred_at
        for m in moments
        if m.direction == Direction.RECEIVED and (last_sent is None or m.occurred_at >= last_sent)
    )
    return min(unanswered, default=None), last_sent is None


def sync_wait(
    session: Session, dit: Dit, reads: IndicatorReads, now: datetime | None = None
) -> None:
    """Set `dit.waiting_since` from its live exchanges and open or end its wait row to match,
    from what `reads` read of it (its live exchanges, figures and waits).

    Called with the DIT's row lock held (ditbot.domain.exchanges.refresh_indicators). A wait
    that comes back (our answer was deleted) is the same wait: what was sent for it stays sent.
    """
    now = now or utcnow()
    moments = reads.moments[dit.id]
    sync_figures(session, dit, moments, reads.figures[dit.id])
    since, never_answered = (None, False)
    if dit.last_direction == Direction.RECEIVED:
        since, never_answered = waiting_since(moments)
    dit.waiting_since = since
    # The open waits and the one that starts at `since` (it may have ended).
    rows = [w for w in reads.waits[dit.id] if w.ended_at is None or w.started_at == since]
    row = next((current for current in rows if current.started_at == since), None)
    for current in rows:
        if current.ended_at is None and current.started_at != since:
            current.ended_at, current.next_check_at = now, None
    if since is None or dit.state.closed:
        return
    if row is None:
        # next_check_at = its start: the next scan works out its due times.
        session.add(
            ResponseWait(dit_id=dit.id, started_at=since, first=never_answered, next_check_at=since)
        )
    elif row.ended_at is not None:
        row.ended_at, row.next_check_at = None, row.started_at
    elif dit.last_is_relance and row.escalated_at is None:
        # A relance escalates at once: the next scan looks at it.
        row.next_check_at = min(row.next_check_at or since, dit.last_exchange_at or since)


# -- the figures of each exchange, kept for the manager's figures ----------------------------


@dataclass(frozen=True)
class Figure:
    """What the figures need of one live exchange (storage.models.ExchangeFigure)."""

    exchange_id: int
    occurred_at: datetime
    received: bool
    relance: bool
    first: bool = False  # a client message with no answer of ours before it
    answered_at: datetime | None = None  # our first live exchange at or after it


def figures_of(moments: Iterable[tuple[int, str, datetime, bool]]) -> list[Figure]:
    """The figures of one DIT's live exchanges, given as (id, direction, occurred_at, relance):
    a client message is answered by our first exchange sent at or after it."""
    moments = list(moments)
    sent = sorted(at for _id, direction, at, _relance in moments if direction == Direction.SENT)
    found = []
    for exchange_id, direction, at, relance in moments:
        if direction != Direction.RECEIVED:
            found.append(Figure(exchange_id, at, False, bool(relance)))
            continue
        position = bisect_left(sent, at)
        answer = sent[position] if position < len(sent) else None
        found.append(Figure(exchange_id, at, True, bool(relance), position == 0, answer))
    return found


_calendars = threading.local()  # a calendar caches days as it goes: one per thread


def calendar_of(session: Session) -> BusinessCalendar | None:
    """The company's calendar, from the settings the context shares with its sessions (None:
    a session without them; its figures' business times are worked out when read)."""
    settings = session.info.get("settings")
    if settings is None:
        return None
    key = (settings.timezone, settings.working_days, settings.working_hours, settings.holidays)
    cached = getattr(_calendars, "by_key", None)
    if cached is None:
        cached = _calendars.by_key = {}
    if key not in cached:
        cached[key] = BusinessCalendar.from_settings(settings)
    calendar: BusinessCalendar = cached[key]
    return calendar


def sync_figures(
    session: Session, dit: Dit, moments: Sequence[Any], stored: dict[int, Any]
) -> None:
    """Rewrite the stored figures of the DIT's live exchanges (`moments`) where they changed
    from what is `stored` (both read by `IndicatorReads`; called with the DIT's row lock held,
    with its indicators)."""
    figure = ExchangeFigure.__table__.c
    wanted = figures_of(moments)
    gone = stored.keys() - {f.exchange_id for f in wanted}
    if gone:
        session.execute(delete(ExchangeFigure).where(figure.exchange_id.in_(gone)))
    calendar = calendar_of(session)
    added, changed = [], []
    for item in wanted:
        old = stored.get(item.exchange_id)
        seconds = None
        if old is not None and (old.occurred_at, old.answered_at) == (
            item.occurred_at,
            item.answered_at,
        ):
            seconds = old.response_seconds
        elif item.answered_at is not None and calendar is not None:
            seconds = calendar.elapsed(item.occurred_at, item.answered_at).total_seconds()
        values = _figure_row(item, dit.id, dit.client_id, dit.technician_id, seconds)
        if old is None:
            added.append(values)
        elif any(getattr(old, name) != value for name, value in values.items()):
            changed.append(values)
    if added:
        session.execute(insert(ExchangeFigure), added)
    if changed:
        session.execute(update(ExchangeFigure), changed)


def _figure_row(
    item: Figure, dit_id: int, client_id: int, technician_id: int | None, seconds: float | None
) -> dict[str, Any]:
    return {
        "exchange_id": item.exchange_id,
        "dit_id": dit_id,
        "occurred_at": item.occurred_at,
        "client_id": client_id,
        "technician_id": technician_id,
        "received": item.received,
        "relance": item.relance,
        "first": item.first,
        "answered_at": item.answered_at,
        "response_seconds": seconds,
    }


def fill_response_seconds(session: Session, calendar: BusinessCalendar) -> int:
    """Work out the business time of the answered messages that lack it (those recorded by
    a session without the settings); how many. Indexed: none or few in a running ditbot."""
    figure = ExchangeFigure.__table__.c
    rows = session.execute(
        select(figure.exchange_id, figure.occurred_at, figure.answered_at).where(
            figure.answered_at.is_not(None), figure.response_seconds.is_(None)
        )
    ).all()
    if rows:
        session.execute(
            update(ExchangeFigure),
            [
                {
                    "exchange_id": exchange_id,
                    "response_seconds": calendar.elapsed(at, answered_at).total_seconds(),
                }
                for exchange_id, at, answered_at in rows
            ],
        )
    return len(rows)


BACKFILL_CHUNK = 5000


def backfill_figures(connection: Connection, calendar: BusinessCalendar) -> int:
    """The figures of every live exchange already recorded (migration 0008, the benchmark's
    synthetic data); how many rows. Streams the exchanges DIT by DIT."""
    result = connection.execute(
        select(
            Exchange.dit_id,
            Dit.client_id,
            Dit.technician_id,
            Exchange.id,
            Exchange.direction,
            Exchange.occurred_at,
            ExchangeType.is_relance,
        )
        .join(Dit, Dit.id == Exchange.dit_id)
        .join(ExchangeType, ExchangeType.code == Exchange.type_code)
        .where(Exchange.deleted_at.is_(None))
        .order_by(Exchange.dit_id)
        .execution_options(stream_results=True, yield_per=BACKFILL_CHUNK)
    )
    written = 0
    batch: list[dict[str, Any]] = []
    for rows in _by_dit(result):
        dit_id, client_id, technician_id = rows[0][:3]
        for item in figures_of(row[3:] for row in rows):
            seconds = None
            if item.answered_at is not None:
                seconds = calendar.business_seconds(item.answered_at) - calendar.business_seconds(
                    item.occurred_at
                )
            batch.append(_figure_row(item, dit_id, client_id, technician_id, seconds))
        if len(batch) >= BACKFILL_CHUNK:
            written += _write(connection, batch)
    written += _write(connection, batch)
    return written


def _by_dit(rows: Iterable[Any]) -> Iterator[list[Any]]:
    group: list[Any] = []
    for row in rows:
        if group and group[0][0] != row[0]:
            yield group
            group = []
        group.append(row)
    if group:
        yield group


def _write(connection: Connection, batch: list[dict[str, Any]]) -> int:
    if not batch:
        return 0
    connection.execute(insert(ExchangeFigure), batch)
    count = len(batch)
    batch.clear()
    return count


# -- due times ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitClock:
    """The due times of one wait."""

    started_at: datetime
    target: timedelta
    due_at: datetime  # the target itself
    remind_at: datetime
    escalate_at: datetime


def clock_of(
    started_at: datetime,
    *,
    first: bool,
    targets: Targets,
    calendar: BusinessCalendar,
    settings: TimerSettings,
    relance: bool = False,
) -> WaitClock:
    """When the reminder and the escalation of a wait fall due (a relance escalates at once)."""
    target = targets.for_wait(first)
    remind = calendar.add(started_at, target * settings.reminder_percent / 100)
    escalate = (
        started_at
        if relance
        else calendar.add(started_at, target * settings.escalation_percent / 100)
    )
    return WaitClock(
        started_at=started_at,
        target=target,
        due_at=calendar.add(started_at, target),
        remind_at=remind,
        escalate_at=escalate,
    )


def relance_since(session: Session, dit_id: int, since: datetime) -> bool:
    """A live relance came from the client during the wait that began at `since`."""
    return bool(relances_during(session, [(dit_id, since)]))


def relances_during(
    session: Session, waits: Iterable[tuple[int, datetime]]
) -> set[tuple[int, datetime]]:
    """Those of the waits, given as (DIT id, start), during which a live relance came from
    the client: one read for all of them."""
    waits = list(waits)
    if not waits:
        return set()
    # The DITs' received relances through the DIT index (a DIT has a few dozen exchanges),
    # compared with each start here: with `occurred_at >= since` in SQL, SQLite's planner
    # walks the date index instead.
    rows = session.execute(
        select(Exchange.dit_id, Exchange.occurred_at)
        .join(ExchangeType, ExchangeType.code == Exchange.type_code)
        .where(
            Exchange.dit_id.in_({dit_id for dit_id, _since in waits}),
            Exchange.deleted_at.is_(None),
            Exchange.direction == Direction.RECEIVED,
            ExchangeType.is_relance.is_(True),
        )
    ).all()
    latest: dict[int, datetime] = {}
    for dit_id, at in rows:
        if dit_id not in latest or at > latest[dit_id]:
            latest[dit_id] = at
    return {
        (dit_id, since) for dit_id, since in waits if dit_id in latest and latest[dit_id] >= since
    }


# -- response times of answered messages ----------------------------------------------------


@dataclass(frozen=True)
class Response:
    """A client message and how long the first answer after it took (None: not answered)."""

    exchange_id: int
    received_at: datetime
    first: bool  # no answer of ours before it on the DIT
    answered_at: datetime | None
    business: timedelta | None

    def within(self, target: timedelta) -> bool:
        return self.business is not None and self.business <= target


@dataclass(frozen=True)
class Moment:
    """One live exchange as the timers see it."""

    exchange_id: int
    direction: Direction
    occurred_at: datetime


def responses(moments: Iterable[Moment], calendar: BusinessCalendar) -> list[Response]:
    """The first-response time of each client message of one DIT (its exchanges in any order):
    the business time until the next exchange we sent."""
    ordered = sorted(moments, key=lambda m: (m.occurred_at, m.exchange_id))
    found: list[Response] = []
    pending: list[Moment] = []
    answered_once = False
    for moment in ordered:
        if moment.direction == Direction.RECEIVED:
            pending.append(moment)
            continue
        for message in pending:
            found.append(
                Response(
                    message.exchange_id,
                    message.occurred_at,
                    not answered_once,
                    moment.occurred_at,
                    calendar.elapsed(message.occurred_at, moment.occurred_at),
                )
            )
        pending = []
        answered_once = True
    found.extend(
        Response(m.exchange_id, m.occurred_at, not answered_once, None, None) for m in pending
    )
    return found


def percentile(values: Sequence[float], share: float) -> float | None:
    """The `share` percentile (0.5: the median) by linear interpolation; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class WaitCard:
    """One client's wait as the reminder and the escalation show it."""

    wait_id: int
    number: str
    title: str
    client: str
    technician: str | None
    since: datetime
    waited: timedelta  # business time so far
    target: timedelta
    relance: bool = False
    acked_by: str | None = None
    acked_at: datetime | None = None
    snoozed_until: datetime | None = None


def wait_card(
    session: Session,
    wait: ResponseWait,
    calendar: BusinessCalendar,
    settings: TimerSettings,
    now: datetime,
) -> WaitCard:
    """What the messages show of `wait` at `now`."""
    dit = wait.dit
    return WaitCard(
        wait_id=wait.id,
        number=dit.number,
        title=dit.title,
        client=dit.client.name,
        technician=dit.technician.name if dit.technician else None,
        since=wait.started_at,
        waited=calendar.elapsed(wait.started_at, now),
        target=targets_for(dit.client, settings).for_wait(wait.first),
        relance=relance_since(session, dit.id, wait.started_at),
        acked_by=wait.acked_by.name if wait.acked_by else None,
        acked_at=wait.acked_at,
        snoozed_until=wait.snoozed_until,
    )


# -- the reminder scan ----------------------------------------------------------------------


class ScanSettings(TimerSettings, Protocol):
    @property
    def reminders_off_hours(self) -> bool: ...


@dataclass(frozen=True)
class ScanResult:
    looked_at: int
    enqueued: list[tuple[int, WaitStep]]


# The days a scan's due times fall on: waits begun up to a year ago, targets a few days long.
WARM_DAYS_BEFORE = 400
WARM_DAYS_AFTER = 60


def scan_calendar(settings: TimerSettings, now: datetime) -> BusinessCalendar:
    """The company's calendar with its days around `now` already worked out, for a worker
    to build once: the holidays library computes a year when first asked, and a calendar
    keeps each day's opening, which would otherwise be done in the first scan's transaction."""
    calendar = BusinessCalendar.from_settings(settings)
    today = now.astimezone(calendar.zone).date()
    for offset in range(-WARM_DAYS_BEFORE, WARM_DAYS_AFTER):
        calendar.opening(today + timedelta(days=offset))
    return calendar


_STEPS = (WaitStep.REMINDER, WaitStep.ESCALATION, WaitStep.SNOOZE)  # in the order enqueued
_CLAIMS = {
    WaitStep.REMINDER: ResponseWait.reminded_at,
    WaitStep.ESCALATION: ResponseWait.escalated_at,
}


def _claim(session: Session, step: WaitStep, wait_ids: list[int], now: datetime) -> set[int]:
    """Mark the step done on the waits where nobody did already: the ids that are ours to
    send (one conditional update for all of them)."""
    if not wait_ids:
        return set()
    table = ResponseWait.__table__.c
    statement = update(WAITS).where(table.id.in_(wait_ids))
    if step is WaitStep.SNOOZE:
        # A snooze moved meanwhile to a later time is not ripe any more: not ours.
        statement = statement.where(
            table.snoozed_until.is_not(None), table.snoozed_until <= now
        ).values(snoozed_until=None)
    else:
        column = table[_CLAIMS[step].key]
        statement = statement.where(column.is_(None)).values({column: now})
    return set(session.scalars(statement.returning(table.id)))


def scan(
    session: Session,
    *,
    now: datetime,
    calendar: BusinessCalendar,
    settings: ScanSettings,
    limit: int = 200,
) -> ScanResult:
    """Look at the waits due for a check at `now`; enqueue each reminder, snoozed reminder and
    escalation that falls due, once per wait, in this transaction (the outbox delivers them).

    The steps are marked on the wait rows by conditional updates, so two processes scanning at
    once (PostgreSQL) or one after a crash enqueue each step once. Outside working hours
    nothing is enqueued (unless DITBOT_REMINDERS_OFF_HOURS): the wait is looked at again when
    the company opens. A constant number of statements whatever the number of due waits.
    """
    wait = ResponseWait.__table__.c
    due = (
        select(wait.id)
        .where(wait.next_check_at <= now, wait.ended_at.is_(None))
        .order_by(wait.next_check_at, wait.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(session.scalars(due))
    if not ids:
        return ScanResult(looked_at=0, enqueued=[])
    rows = session.execute(
        select(
            wait.id,
            wait.started_at,
            wait.first,
            wait.reminded_at,
            wait.escalated_at,
            wait.snoozed_until,
            Dit.id.label("dit_id"),
            Dit.number,
            Dit.state,
            Dit.waiting_since,
            Dit.technician_id,
            Client.first_response_hours,
            Client.next_response_hours,
        )
        .join(Dit, Dit.id == wait.dit_id)
        .join(Client, Client.id == Dit.client_id)
        .where(wait.id.in_(ids))
        .order_by(wait.id)
    ).all()
    live, ended = [], []
    for row in rows:
        if row.state.closed or row.waiting_since != row.started_at:
            ended.append(row.id)
        else:
            live.append(row)
    relances = relances_during(session, [(row.dit_id, row.started_at) for row in live])
    open_now = settings.reminders_off_hours or calendar.is_open(now)
    next_checks: dict[int, datetime | None] = {}
    ripe: dict[WaitStep, list[int]] = {step: [] for step in _STEPS}
    for row in live:
        clock = clock_of(
            row.started_at,
            first=row.first,
            targets=targets_of(row.first_response_hours, row.next_response_hours, settings),
            calendar=calendar,
            settings=settings,
            relance=(row.dit_id, row.started_at) in relances,
        )
        steps: list[tuple[WaitStep, datetime]] = []
        if row.reminded_at is None:
            steps.append((WaitStep.REMINDER, clock.remind_at))
        if row.escalated_at is None:
            steps.append((WaitStep.ESCALATION, clock.escalate_at))
        if row.snoozed_until is not None:
            steps.append((WaitStep.SNOOZE, row.snoozed_until))
        now_due = [step for step, when in steps if when <= now]
        later = [when for _step, when in steps if when > now]
        if now_due and not open_now:
            next_checks[row.id] = min([calendar.next_open(now), *later])
            continue
        next_checks[row.id] = min(later) if later else None
        for step in now_due:
            ripe[step].append(row.id)
    if ended:
        session.execute(
            update(WAITS).where(wait.id.in_(ended)).values(ended_at=now, next_check_at=None)
        )
    if next_checks:
        session.execute(
            update(WAITS)
            .where(wait.id == bindparam("wait_id"))
            .values(next_check_at=bindparam("check_at")),
            [{"wait_id": key, "check_at": when} for key, when in next_checks.items()],
        )
    ours = {step: _claim(session, step, ripe[step], now) for step in _STEPS}
    enqueued: list[tuple[int, WaitStep]] = []
    for row in live:
        for step in _STEPS:
            if row.id not in ours[step]:
                continue
            if step is WaitStep.ESCALATION or row.technician_id is not None:
                enqueue(session, WaitNotice(wait_id=row.id, dit=row.number, step=step))
                enqueued.append((row.id, step))
    return ScanResult(looked_at=len(ids), enqueued=enqueued)


# -- what the technician does with a reminder -----------------------------------------------


def open_wait(session: Session, wait_id: int) -> ResponseWait | None:
    """The wait, while the client still waits (None once answered, closed or unknown)."""
    wait = session.get(ResponseWait, wait_id)
    if wait is None or wait.ended_at is not None:
        return None
    return wait


def acknowledge(session: Session, wait_id: int, collaborator_id: int, now: datetime) -> bool:
    """ "I'm on it": the collaborateur takes the wait (the timer keeps running). False when
    the client was answered meanwhile. A second click keeps the first taker."""
    wait = open_wait(session, wait_id)
    if wait is None:
        return False
    if wait.acked_at is None:
        wait.acked_by_id, wait.acked_at = collaborator_id, now
    return True


def snooze(session: Session, wait_id: int, until: datetime) -> bool:
    """Remind again at `until` (the escalation keeps its own time). False when answered."""
    wait = open_wait(session, wait_id)
    if wait is None:
        return False
    wait.snoozed_until = until
    if wait.next_check_at is None or until < wait.next_check_at:
        wait.next_check_at = until
    return True
