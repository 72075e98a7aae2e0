"""Listeners of last resort, registered after every module (see bot/app.py).

`compose_mail` answers "coming soon" until bot/handlers/mail.py registers its own listener
(registered earlier, it wins; this one can then be deleted).
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.deps import Deps
from bot.errors import guarded, tell
from bot.ids import Action
from bot.middleware import Who, ack_at_once
from ditbot.i18n import _


def register(app: App, deps: Deps) -> None:
    @app.action(Action.COMPOSE_MAIL, middleware=[ack_at_once])
    @guarded
    def compose_mail_placeholder(
        body: dict[str, Any], client: WebClient, context: BoltContext, who: Who
    ) -> None:
        text = who.t(_("Sending a mail from Slack is coming soon."))
        tell(client, body, context, text, who.t)
