"""The manager's figures (`/dit stats [team] [period]`, the weekly digest, the Home).

Over a period: exchanges, relances, and for the client messages of the period their
first-response time in business time (median, 90th percentile) and the share answered within
the target, in all and per technician and per client. A team narrows it to the DITs of the
team (its clients', else its technicians').
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from ditbot.core.i18n import _
from ditbot.domain import timers
from ditbot.domain.business_time import BusinessCalendar
from ditbot.domain.errors import DomainError, NotFound
from ditbot.domain.teams import team_by_code
from ditbot.domain.timers import TimerSettings, percentile, targets_for
from storage.models import Client, Collaborator, Dit, Exchange, ExchangeFigure, ExchangeType, Team
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


def _figures_of_team(team: Team | None) -> Any:
    """The stored figures of the team's DITs (its clients', else its technicians')."""
    if team is None:
        return True
    figure = ExchangeFigure.__table__.c
    return or_(
        figure.client_id.in_(select(Client.id).where(Client.team_id == team.id)),
        and_(
            figure.client_id.in_(select(Client.id).where(Client.team_id.is_(None))),
            figure.technician_id.in_(
                select(Collaborator.id).where(Collaborator.team_id == team.id)
            ),
        ),
    )


def resolve_team(session: Session, code: str | None) -> Team | None:
    if not code:
        return None
    team = team_by_code(session, code)
    if team is None:
        raise NotFound(_("Unknown team '{code}'."), "team", code=code[:40])
    return team


@dataclass
class _Pair:
    """The figures of one (technician, client) pair, merged into the groups at the end."""

    exchanges: int = 0
    received: int = 0
    relances: int = 0
    messages: int = 0
    within: int = 0
    hours: list[float] = field(default_factory=list)

    def add_to(self, figures: Figures) -> None:
        figures.exchanges += self.exchanges
        figures.received += self.received
        figures.sent += self.exchanges - self.received
        figures.relances += self.relances
        figures.messages += self.messages
        figures.answered += len(self.hours)
        figures.within += self.within
        figures.hours.extend(self.hours)


def compute(
    session: Session,
    period: Period,
    calendar: BusinessCalendar,
    settings: TimerSettings,
    team: Team | None = None,
) -> Stats:
    """The figures of `period` (for `team`, else for everyone), from the figures stored with
    each exchange (ditbot.domain.timers.sync_figures): two reads of one index range."""
    timers.fill_response_seconds(session, calendar)
    figure = ExchangeFigure.__table__.c
    where = (
        figure.occurred_at >= period.start,
        figure.occurred_at < period.end,
        _figures_of_team(team),
    )
    pairs: dict[tuple[int | None, int], _Pair] = defaultdict(_Pair)
    for tech_id, client_id, count, received, relances in session.execute(
        select(
            figure.technician_id,
            figure.client_id,
            func.count(),
            func.sum(case((figure.received, 1), else_=0)),
            func.sum(case((figure.relance, 1), else_=0)),
        )
        .where(*where)
        .group_by(figure.technician_id, figure.client_id)
    ):
        pair = pairs[tech_id, client_id]
        pair.exchanges, pair.received, pair.relances = count, received or 0, relances or 0

    clients = {
        client_id: (
            name,
            targets_for(Client(first_response_hours=first, next_response_hours=later), settings),
        )
        for client_id, name, first, later in session.execute(
            select(Client.id, Client.name, Client.first_response_hours, Client.next_response_hours)
        )
    }
    targets = {
        client_id: (
            target.for_wait(True).total_seconds(),
            target.for_wait(False).total_seconds(),
        )
        for client_id, (_name, target) in clients.items()
    }
    for tech_id, client_id, first, seconds in session.execute(
        select(figure.technician_id, figure.client_id, figure.first, figure.response_seconds).where(
            *where, figure.received.is_(True)
        )
    ):
        pair = pairs[tech_id, client_id]
        pair.messages += 1
        if seconds is None:
            continue  # not answered yet
        pair.hours.append(seconds / 3600)
        pair.within += seconds <= targets[client_id][0 if first else 1]

    names: dict[int, str] = dict(session.execute(select(Collaborator.id, Collaborator.name)).all())
    total = Figures()
    per_tech: dict[str, Figures] = defaultdict(Figures)
    per_client: dict[str, Figures] = defaultdict(Figures)
    for (tech_id, client_id), pair in pairs.items():
        tech = names.get(tech_id) if tech_id is not None else None
        for figures in (total, per_tech[tech or NO_TECHNICIAN], per_client[clients[client_id][0]]):
            pair.add_to(figures)
    return Stats(
        team=team.code if team else None,
        period=period,
        total=total,
        by_technician=_ranked(per_tech),
        by_client=_ranked(per_client),
    )


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
