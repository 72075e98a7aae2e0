"""The reminder DM's buttons: take the wait, snooze it, log a call (load -> build -> one call)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.deps import Deps
from bot.flows.forms import form_view, new_values
from bot.metadata import ExchangeFormMeta
from bot.requester import Requester
from bot.views import reminders as views
from ditbot.domain import timers
from ditbot.domain.business_time import BusinessCalendar
from ditbot.domain.exchanges import ensure_open, get_dit
from storage import repositories as repo
from storage.models import ResponseWait
from storage.vocabulary import Direction

CALL_TYPE = "appel"  # DOMAIN.md: the default type for a phone call


def calendar_of(deps: Deps) -> BusinessCalendar:
    return BusinessCalendar.of(deps.ctx.settings)


def snooze_until(choice: str, now: datetime, calendar: BusinessCalendar) -> datetime:
    """`1`/`2`/`4` hours from now, or the opening of the next working day (`morning`)."""
    if choice == views.SNOOZE_MORNING:
        tomorrow = now.astimezone(calendar.zone).date() + timedelta(days=1)
        return calendar.next_open(datetime.combine(tomorrow, time(0), tzinfo=calendar.zone))
    return now + timedelta(hours=int(choice))


def _redraw(
    deps: Deps, respond: Respond, requester: Requester, wait_id: int, number: str | None
) -> None:
    now = deps.ctx.clock()
    with deps.unit_of_work() as session:
        wait = timers.open_wait(session, wait_id)
        if wait is None:
            message = views.answered_message(requester.t, number or "?")
        else:
            card = timers.wait_card(session, wait, calendar_of(deps), deps.ctx.settings, now)
            message = views.handled_message(requester.t, card)
    respond(replace_original=True, **message)


def acknowledge(deps: Deps, respond: Respond, requester: Requester, wait_id: int) -> None:
    """ "I'm on it": the wait is taken by the requester; the DM says so."""
    with deps.unit_of_work() as session:
        actor = requester.actor(session)
        wait = session.get(ResponseWait, wait_id)
        number = wait.dit.number if wait is not None else None
        if actor.collaborator is not None:
            timers.acknowledge(session, wait_id, actor.collaborator.id, deps.ctx.clock())
    _redraw(deps, respond, requester, wait_id, number)


def snooze(deps: Deps, respond: Respond, requester: Requester, wait_id: int, choice: str) -> None:
    """Remind the requester again at the chosen time; the DM says when."""
    until = snooze_until(choice, deps.ctx.clock(), calendar_of(deps))
    with deps.unit_of_work() as session:
        requester.actor(session)
        wait = session.get(ResponseWait, wait_id)
        number = wait.dit.number if wait is not None else None
        timers.snooze(session, wait_id, until)
    _redraw(deps, respond, requester, wait_id, number)


def open_call_form(
    deps: Deps, client: WebClient, requester: Requester, number: str, *, trigger_id: str
) -> None:
    """ "Log a call now": the sent-exchange form of the DIT, type call."""
    with deps.unit_of_work() as session:
        actor = requester.actor(session)
        dit = get_dit(session, number)
        ensure_open(dit)
        values = new_values(dit, Direction.SENT, actor)
        if repo.exchange_type(session, CALL_TYPE) is not None:
            values = replace(values, type_code=CALL_TYPE)
        meta = ExchangeFormMeta(direction=Direction.SENT, panel=None)
        view = form_view(session, deps.secret, requester.t, dit, values, meta)
    client.views_open(trigger_id=trigger_id, view=view)
