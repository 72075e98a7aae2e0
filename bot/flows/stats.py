"""`/dit stats [team] [period]`: the manager's figures, ephemeral (load -> build -> respond)."""

from __future__ import annotations

from slack_bolt import Respond

from bot.deps import Deps
from bot.requester import Requester
from bot.views.stats import stats_message
from ditbot.core.i18n import _
from ditbot.domain import stats
from ditbot.domain.business_time import BusinessCalendar
from ditbot.domain.errors import NotAllowed
from storage.types import utcnow


def split_arguments(text: str) -> tuple[str | None, str | None]:
    """(team code, period) from `[team] [period]` in any order: a period is what parses
    as one (week, month, 30d, 2026-11); the other word is the team."""
    team = period = None
    for word in text.split():
        probe = word.lower()
        is_period = probe in ("week", "semaine", "month", "mois") or (
            probe[:-1].isdigit() and probe[-1:] in ("d", "j")
        )
        is_period = is_period or (len(probe) == 7 and probe[4] == "-" and probe[:4].isdigit())
        if is_period and period is None:
            period = word
        elif team is None:
            team = word
        else:
            period = period or word
    return team, period


def answer_stats(deps: Deps, respond: Respond, requester: Requester, argument: str) -> None:
    settings = deps.ctx.settings
    calendar = BusinessCalendar.from_settings(settings)
    team_code, period_text = split_arguments(argument)
    with deps.unit_of_work() as session:
        actor = requester.actor(session)
        if not actor.is_manager:
            raise NotAllowed(_("The figures are for managers."))
        period = stats.parse_period(period_text, utcnow(), calendar.zone)
        team = stats.resolve_team(session, team_code)
        if team is None and team_code is None:
            team = stats.team_of_manager(session, actor.collaborator)
        figures = stats.compute(session, period, calendar, settings, team)
        message = stats_message(requester.t, figures, team.name if team else None)
    respond(response_type="ephemeral", **message)
