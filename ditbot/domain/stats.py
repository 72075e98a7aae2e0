"""The manager's figures (`/dit stats [team] [period]`, the weekly digest, the Home).

Over a period: exchanges, relances, and for the client messages of the period their
first-response time in business time (median, 90th percentile) and the share answered within
the target, in all and per technician and per client. A team narrows it to the DITs of the
team (its clients', else its technicians').
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from ditbot.core.i18n import _
from ditbot.domain.business_time import BusinessCalendar
from ditbot.domain.errors import DomainError, NotFound
from ditbot.domain.teams import team_by_code
from ditbot.domain.timers import Targets, TimerSettings, percentile, targets_for
from storage.models import Client, Collaborator, Dit, Exchange, ExchangeType, Team
from storage.vocabulary import OPEN_STATES, Direction

DEFAULT_DAYS = 7
MAX_DAYS = 366
NO_TECHNICIAN = "—"


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, and how the user wrote it."""

    start: datetime
    end: datetime
    label: str
    first_day: date | None = None  # the days it covers, in the company's zone
    last_day: date | None = None

    def previous(self) -> Period:
        span = self.end - self.start
        shift = timedelta(days=span.days)
        return Period(
            self.start - span,
            self.start,
            self.label,
            self.first_day - shift if self.first_day else None,
            self.last_day - shift if self.last_day else None,
        )


def parse_period(text: str | None, now: datetime, zone: Any) -> Period:
    """`week` / `7d` (the last 7 days, the default), `month` / `30d`, `Nd`, or `YYYY-MM` (that
    calendar month, in the company's zone)."""
    value = (text or "").strip().lower()
    if value in ("", "week", "semaine"):
        days = DEFAULT_DAYS
    elif value in ("month", "mois"):
        days = 30
    elif match := re.fullmatch(r"(\d{1,3})d|(\d{1,3})j", value):
        days = int(match.group(1) or match.group(2))
        if not 1 <= days <= MAX_DAYS:
            raise DomainError(_("A period is 1 to 366 days, e.g. 7d or 30d."), "period")
    elif match := re.fullmatch(r"(\d{4})-(\d{2})", value):
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise DomainError(_("A month is written 2026-11."), "period")
        first = datetime.combine(date(year, month, 1), time(0), tzinfo=zone)
        following = date(year + (month == 12), month % 12 + 1, 1)
        last = datetime.combine(following, time(0), tzinfo=zone)
        return Period(
            first.astimezone(UTC),
            last.astimezone(UTC),
            value,
            first.date(),
            following - timedelta(days=1),
        )
    else:
        raise DomainError(
            _("Unknown period '{period}': use week, month, 30d or 2026-11."),
            "period",
            period=value[:20],
        )
    start = now - timedelta(days=days)
    return Period(
        start, now, value or "week", start.astimezone(zone).date(), now.astimezone(zone).date()
    )


@dataclass
class Figures:
    """The figures of one group (all, one technician, one client)."""

    exchanges: int = 0
    received: int = 0
    sent: int = 0
    relances: int = 0
    messages: int = 0  # client messages of the period whose response time counts
    answered: int = 0
    within: int = 0
    hours: list[float] = field(default_factory=list, repr=False)

    @property
    def median_hours(self) -> float | None:
        return percentile(self.hours, 0.5)

    @property
    def p90_hours(self) -> float | None:
        return percentile(self.hours, 0.9)

    @property
    def within_share(self) -> float | None:
        """The share of client messages answered within their target (None: no message)."""
        return self.within / self.messages if self.messages else None


@dataclass(frozen=True)
class Stats:
    team: str | None
    period: Period
    total: Figures
    by_technician: list[tuple[str, Figures]]
    by_client: list[tuple[str, Figures]]


def _team_filter(team: Team | None) -> Any:
    if team is None:
        return True
    technician_team = (
        select(Collaborator.team_id).where(Collaborator.id == Dit.technician_id).scalar_subquery()
    )
    return or_(
        Client.team_id == team.id,
        and_(Client.team_id.is_(None), technician_team == team.id),
    )


def resolve_team(session: Session, code: str | None) -> Team | None:
    if not code:
        return None
    team = team_by_code(session, code)
    if team is None:
        raise NotFound(_("Unknown team '{code}'."), "team", code=code[:40])
    return team


def compute(
    session: Session,
    period: Period,
    calendar: BusinessCalendar,
    settings: TimerSettings,
    team: Team | None = None,
) -> Stats:
    """The figures of `period` (for `team`, else for everyone)."""
    live = Exchange.deleted_at.is_(None)
    in_period = and_(Exchange.occurred_at >= period.start, Exchange.occurred_at < period.end)
    scope = _team_filter(team)
    total = Figures()
    per_tech: dict[str, Figures] = defaultdict(Figures)
    per_client: dict[str, Figures] = defaultdict(Figures)

    counts = session.execute(
        select(
            Collaborator.name,
            Client.name,
            func.count(Exchange.id),
            func.sum(case((Exchange.direction == Direction.RECEIVED, 1), else_=0)),
            func.sum(case((ExchangeType.is_relance.is_(True), 1), else_=0)),
        )
        .select_from(Exchange)
        .join(Dit, Dit.id == Exchange.dit_id)
        .join(Client, Client.id == Dit.client_id)
        .join(ExchangeType, ExchangeType.code == Exchange.type_code)
        .outerjoin(Collaborator, Collaborator.id == Dit.technician_id)
        .where(live, in_period, scope)
        .group_by(Collaborator.name, Client.name)
    ).all()
    for tech, client, count, received, relances in counts:
        for figures in (total, per_tech[tech or NO_TECHNICIAN], per_client[client]):
            figures.exchanges += int(count)
            figures.received += int(received or 0)
            figures.sent += int(count) - int(received or 0)
            figures.relances += int(relances or 0)

    rows = session.execute(
        select(
            Exchange.dit_id,
            Collaborator.name,
            Client.name,
            Client.first_response_hours,
            Client.next_response_hours,
            Exchange.occurred_at,
        )
        .select_from(Exchange)
        .join(Dit, Dit.id == Exchange.dit_id)
        .join(Client, Client.id == Dit.client_id)
        .outerjoin(Collaborator, Collaborator.id == Dit.technician_id)
        .where(live, in_period, scope, Exchange.direction == Direction.RECEIVED)
    ).all()
    answers, first_sent = _answers_of(session, sorted({row[0] for row in rows}), period.start)
    targets: dict[tuple[float | None, float | None], Targets] = {}
    for dit_id, tech, client, first_hours, next_hours, received_at in rows:
        key = (first_hours, next_hours)
        if key not in targets:
            targets[key] = targets_for(
                Client(first_response_hours=first_hours, next_response_hours=next_hours), settings
            )
        sent = answers.get(dit_id, [])
        position = bisect_left(sent, received_at)
        earliest = first_sent.get(dit_id)
        answered_before = earliest is not None and earliest < received_at
        target = targets[key].for_wait(not answered_before).total_seconds()
        groups = (total, per_tech[tech or NO_TECHNICIAN], per_client[client])
        for figures in groups:
            figures.messages += 1
        if position == len(sent):
            continue  # not answered yet
        answered_at = sent[position]
        seconds = calendar.business_seconds(answered_at) - calendar.business_seconds(received_at)
        for figures in groups:
            figures.answered += 1
            figures.hours.append(seconds / 3600)
            figures.within += seconds <= target
    return Stats(
        team=team.code if team else None,
        period=period,
        total=total,
        by_technician=_ranked(per_tech),
        by_client=_ranked(per_client),
    )


ANSWERS_CHUNK = 500


def _answers_of(
    session: Session, dit_ids: Sequence[int], since: datetime
) -> tuple[dict[int, list[datetime]], dict[int, datetime]]:
    """For these DITs: the times of our live sent exchanges from `since` on, in order, and the
    time of our first one ever (whether a message was answered before: its target)."""
    later: dict[int, list[datetime]] = defaultdict(list)
    for dit_id, at in session.execute(
        select(Exchange.dit_id, Exchange.occurred_at).where(
            Exchange.occurred_at >= since,
            Exchange.deleted_at.is_(None),
            Exchange.direction == Direction.SENT,
        )
    ):
        later[dit_id].append(at)
    for times in later.values():
        times.sort()
    first: dict[int, datetime] = {}
    for offset in range(0, len(dit_ids), ANSWERS_CHUNK):
        chunk = list(dit_ids[offset : offset + ANSWERS_CHUNK])
        for dit_id, at in session.execute(
            select(Exchange.dit_id, func.min(Exchange.occurred_at))
            .where(
                Exchange.dit_id.in_(chunk),
                Exchange.deleted_at.is_(None),
                Exchange.direction == Direction.SENT,
            )
            .group_by(Exchange.dit_id)
        ):
            first[dit_id] = at
    return later, first


def _ranked(groups: dict[str, Figures]) -> list[tuple[str, Figures]]:
    """Most exchanges first, then by name."""
    return sorted(groups.items(), key=lambda item: (-item[1].exchanges, item[0]))


# -- the manager's Home ---------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """A DIT waiting on us, as the manager's Home and the digest show it."""

    number: str
    title: str
    client: str
    technician: str | None
    since: datetime
    waited: timedelta  # business time
    over: timedelta  # beyond the target (zero or negative: still within it)


def longest_waits(
    session: Session,
    now: datetime,
    calendar: BusinessCalendar,
    settings: TimerSettings,
    team: Team | None = None,
    limit: int = 10,
) -> list[Waiting]:
    """The DITs waiting on us, longest wait first (indexed on `dits.waiting_since`)."""
    dits = session.scalars(
        select(Dit)
        .join(Client, Client.id == Dit.client_id)
        .where(Dit.waiting_since.is_not(None), Dit.state.in_(OPEN_STATES), _team_filter(team))
        .order_by(Dit.waiting_since, Dit.id)
        .limit(limit)
    ).all()
    found = []
    for dit in dits:
        since = dit.waiting_since
        assert since is not None
        never = (
            session.scalar(
                select(Exchange.id)
                .where(
                    Exchange.dit_id == dit.id,
                    Exchange.deleted_at.is_(None),
                    Exchange.direction == Direction.SENT,
                )
                .limit(1)
            )
            is None
        )
        waited = calendar.elapsed(since, now)
        target = targets_for(dit.client, settings).for_wait(never)
        found.append(
            Waiting(
                number=dit.number,
                title=dit.title,
                client=dit.client.name,
                technician=dit.technician.name if dit.technician else None,
                since=since,
                waited=waited,
                over=waited - target,
            )
        )
    return found


@dataclass(frozen=True)
class RecentRelance:
    number: str
    client: str
    at: datetime


def recent_relances(
    session: Session, now: datetime, team: Team | None = None, days: int = 7, limit: int = 10
) -> Sequence[RecentRelance]:
    """The relances of the last `days` days, newest first."""
    rows = session.execute(
        select(Dit.number, Client.name, Exchange.occurred_at)
        .select_from(Exchange)
        .join(ExchangeType, ExchangeType.code == Exchange.type_code)
        .join(Dit, Dit.id == Exchange.dit_id)
        .join(Client, Client.id == Dit.client_id)
        .where(
            Exchange.deleted_at.is_(None),
            ExchangeType.is_relance.is_(True),
            Exchange.occurred_at >= now - timedelta(days=days),
            _team_filter(team),
        )
        .order_by(Exchange.occurred_at.desc())
        .limit(limit)
    ).all()
    return [RecentRelance(number, client, at) for number, client, at in rows]


def team_of_manager(session: Session, collaborator: Collaborator | None) -> Team | None:
    if collaborator is None or collaborator.team_id is None:
        return None
    return session.get(Team, collaborator.team_id)


def all_teams(session: Session) -> Iterable[Team]:
    return session.scalars(select(Team).order_by(Team.code)).all()


def period_moments(
    session: Session, period: Period, team: Team | None = None
) -> list[tuple[datetime, bool]]:
    """(when, is a follow-up) of each live exchange of `period` (the digest's chart)."""
    rows = session.execute(
        select(Exchange.occurred_at, ExchangeType.is_relance)
        .select_from(Exchange)
        .join(ExchangeType, ExchangeType.code == Exchange.type_code)
        .join(Dit, Dit.id == Exchange.dit_id)
        .join(Client, Client.id == Dit.client_id)
        .where(
            Exchange.deleted_at.is_(None),
            Exchange.occurred_at >= period.start,
            Exchange.occurred_at < period.end,
            _team_filter(team),
        )
    ).all()
    return [(moment, bool(relance)) for moment, relance in rows]
