"""Listeners of the reminder DM: "I'm on it", snooze, "log a call now" ("open the DIT" is
the panel's `open_panel`)."""

from __future__ import annotations

from slack_bolt import App, Respond
from slack_sdk import WebClient

from bot.deps import Deps
from bot.errors import guarded
from bot.flows import reminders
from bot.ids import Action
from bot.middleware import ack_at_once
from bot.parsing import ActionPayload, Body, action_value
from bot.requester import Requester
from bot.views.reminders import parse_snooze
from ditbot.core.i18n import _
from ditbot.domain.errors import NotFound


def ack_clicked(action: ActionPayload, respond: Respond, deps: Deps, requester: Requester) -> None:
    value = action_value(action)
    if not value.isdigit():
        raise NotFound(_("This reminder is unknown."))
    reminders.acknowledge(deps, respond, requester, int(value))


def snooze_chosen(
    action: ActionPayload, respond: Respond, deps: Deps, requester: Requester
) -> None:
    chosen = parse_snooze(str((action.get("selected_option") or {}).get("value") or ""))
    if chosen is None:
        raise NotFound(_("This reminder is unknown."))
    reminders.snooze(deps, respond, requester, chosen[0], chosen[1])


def call_clicked(
    body: Body, action: ActionPayload, client: WebClient, deps: Deps, requester: Requester
) -> None:
    reminders.open_call_form(
        deps, client, requester, action_value(action), trigger_id=body.get("trigger_id", "")
    )


def register(app: App) -> None:
    app.action(Action.REMINDER_ACK, middleware=[ack_at_once])(guarded(ack_clicked))
    app.action(Action.REMINDER_SNOOZE, middleware=[ack_at_once])(guarded(snooze_chosen))
    app.action(Action.REMINDER_CALL, middleware=[ack_at_once])(guarded(call_clicked))
