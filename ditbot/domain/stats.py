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
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    case,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from ditbot.core.i18n import _
from ditbot.domain import timers
from ditbot.domain.business_time import BusinessCalendar
from ditbot.domain.errors import DomainError, NotFound
from ditbot.domain.teams import team_by_code
from ditbot.domain.timers import TimerSettings, targets_for
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
    median_hours: float | None = None  # of the answered messages' first-response times
    p90_hours: float | None = None

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


def compute(
    session: Session,
    period: Period,
    calendar: BusinessCalendar,
    settings: TimerSettings,
    team: Team | None = None,
) -> Stats:
    """The figures of `period` (for `team`, else for everyone), from the figures stored with
    each exchange (ditbot.domain.timers.sync_figures). The database counts, per technician and
    client, from one index range; only the answered client messages are read one by one, and
    on PostgreSQL not even those (it works out the percentiles)."""
    timers.fill_response_seconds(session, calendar)
    figure = ExchangeFigure.__table__.c
    in_period = (
        figure.occurred_at >= period.start,
        figure.occurred_at < period.end,
        _figures_of_team(team),
    )
    clients: dict[int, str] = dict(session.execute(select(Client.id, Client.name)).all())
    names: dict[int, str] = dict(session.execute(select(Collaborator.id, Collaborator.name)).all())
    total = Figures()
    per_tech: dict[str, Figures] = defaultdict(Figures)
    per_client: dict[str, Figures] = defaultdict(Figures)
    # The counts: the covering index's range, grouped by ids (no join on every exchange).
    for tech_id, client_id, count, received, relances in session.execute(
        select(
            figure.technician_id,
            figure.client_id,
            func.count(),
            func.sum(case((figure.received, 1), else_=0)),
            func.sum(case((figure.relance, 1), else_=0)),
        )
        .where(*in_period)
        .group_by(figure.technician_id, figure.client_id)
    ):
        tech = names.get(tech_id, NO_TECHNICIAN) if tech_id is not None else NO_TECHNICIAN
        for figures in (total, per_tech[tech], per_client[clients[client_id]]):
            figures.exchanges += count
            figures.received += received or 0
            figures.sent += count - (received or 0)
            figures.relances += relances or 0
            figures.messages += received or 0

    # The answered client messages (a fraction of the range), with their group's names and
    # whether they were answered within their target.
    # A message's target in seconds: the client's own, else the global one (targets_of);
    # hours * 3600 is exact for the targets people set (whole hours, halves, quarters).
    target = 3600 * case(
        (
            figure.first,
            func.coalesce(Client.first_response_hours, settings.target_first_response_hours),
        ),
        else_=func.coalesce(Client.next_response_hours, settings.target_next_response_hours),
    )
    answered = (
        select(
            func.coalesce(Collaborator.name, NO_TECHNICIAN).label("technician"),
            Client.name.label("client"),
            (figure.response_seconds / 3600.0).label("hours"),
            case((figure.response_seconds <= target, 1), else_=0).label("within"),
        )
        .select_from(ExchangeFigure)
        .join(Client, Client.id == figure.client_id)
        .outerjoin(Collaborator, Collaborator.id == figure.technician_id)
        .where(*in_period, figure.received.is_(True), figure.response_seconds.is_not(None))
    )
    groups = {_ALL: {"": total}, _TECHNICIAN: per_tech, _CLIENT: per_client}
    for (kind, name), (count, within, median, p90) in _answers(session, answered).items():
        figures = groups[kind][name]
        figures.answered, figures.within = count, within
        figures.median_hours, figures.p90_hours = median, p90
    return Stats(
        team=team.code if team else None,
        period=period,
        total=total,
        by_technician=_ranked(per_tech),
        by_client=_ranked(per_client),
    )


_ALL, _TECHNICIAN, _CLIENT = "all", "technician", "client"
SHARES = (0.5, 0.9)  # the median and the 90th percentile
Answers = tuple[int, int, float, float]  # answered, within target, median and p90 hours


def _answers(session: Session, answered: Select[Any]) -> dict[tuple[str, str], Answers]:
    """Of the answered messages (`answered`: technician, client, hours, within), in all and per
    technician and per client: how many, how many within target, and the median and 90th
    percentile of their hours, by linear interpolation between the closest ranks
    (ditbot.domain.timers.percentile).

    PostgreSQL works it all out (percentile_cont interpolates the same way). SQLite has no
    percentile function: it returns these four columns, sorted by hours, and they are split
    into the groups here, already in order.
    """
    if session.get_bind().dialect.name == "postgresql":
        source = answered.cte("answered")
        figures = [
            func.count(),
            func.sum(source.c.within),
            *(func.percentile_cont(share).within_group(source.c.hours) for share in SHARES),
        ]
        parts = [
            select(literal_column(f"'{_ALL}'"), literal_column("''"), *figures),
            select(literal_column(f"'{_TECHNICIAN}'"), source.c.technician, *figures).group_by(
                source.c.technician
            ),
            select(literal_column(f"'{_CLIENT}'"), source.c.client, *figures).group_by(
                source.c.client
            ),
        ]
        return {
            (kind, name): (count, within, median, p90)
            for kind, name, count, within, median, p90 in session.execute(union_all(*parts))
            if count
        }
    ordered: dict[tuple[str, str], list[float]] = defaultdict(list)
    within: dict[tuple[str, str], int] = defaultdict(int)
    for tech, client, hours, on_time in session.execute(answered.order_by(literal_column("hours"))):
        for group in ((_ALL, ""), (_TECHNICIAN, tech), (_CLIENT, client)):
            ordered[group].append(hours)
            within[group] += on_time
    return {
        group: (len(values), within[group], _interpolated(values, 0.5), _interpolated(values, 0.9))
        for group, values in ordered.items()
    }


def _interpolated(ordered: list[float], share: float) -> float:
    """As ditbot.domain.timers.percentile, of values already in order."""
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


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
