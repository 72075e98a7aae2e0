"""Slack's modal stack: at most 3 views (an open and two pushes; SLACK.md), and the age of the
trigger_id that opens them."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.deps import Deps
from bot.requester import Requester
from ditbot.core.i18n import _
from ditbot.domain.errors import DomainError

TOO_SLOW = _("Slack took too long to hand over your request. Try again.")


class TriggerExpired(DomainError):
    """The request's trigger_id is too old for views.open (bot/deps.py TRIGGER_BUDGET)."""

    def __init__(self) -> None:
        super().__init__(TOO_SLOW)


def ensure_fresh(deps: Deps, requester: Requester) -> None:
    """Raise TriggerExpired when the request waited too long for its trigger_id to work: the
    modal is then not attempted (no unit of work, no Slack call that would be refused)."""
    if deps.trigger_expired(requester.received_at):
        raise TriggerExpired()


def open_or_push(
    client: WebClient,
    view: View,
    *,
    trigger_id: str,
    over: str | None,
    instead: Callable[[], View] | None = None,
) -> None:
    """Open `view`, or push it on the modal `over` (a view id) when given.

    On a full stack (`push_limit_reached`) the modal `over` is replaced: by `instead()` when the
    view must read differently alone, else by `view` itself.
    """
    if over is None:
        client.views_open(trigger_id=trigger_id, view=view)
        return
    try:
        client.views_push(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        if error.response.get("error") != "push_limit_reached":
            raise
        client.views_update(view_id=over, view=instead() if instead else view)
