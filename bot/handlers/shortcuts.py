"""Message shortcut `log_exchange`: log any message (a pasted SMS...) as a received exchange."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.deps import Deps
from bot.errors import guarded
from bot.handlers.forms import shortcut_form
from bot.ids import Callback
from bot.middleware import ack_at_once
from bot.requester import Requester
from ditbot.domain.validation import DETAIL_MAX
from storage import repositories as repo

NUMBER_LIKE = re.compile(r"\b[A-Za-z]{2,6}-\d{2,4}-\d{1,8}\b")


def dit_named_in(deps: Deps, text: str) -> str | None:
    """The first existing DIT number written in `text`, to preselect it."""
    candidates = NUMBER_LIKE.findall(text)[:5]
    if not candidates:
        return None
    with deps.unit_of_work() as session:
        for candidate in candidates:
            dit = repo.dit_by_number(session, candidate.upper())
            if dit is not None:
                return dit.number
    return None


def register(app: App, deps: Deps) -> None:
    @app.message_shortcut(Callback.LOG_EXCHANGE, middleware=[ack_at_once])
    @guarded
    def on_log_exchange(shortcut: dict[str, Any], client: WebClient, requester: Requester) -> None:
        text = str((shortcut.get("message") or {}).get("text") or "")[:DETAIL_MAX]
        view = shortcut_form(deps, requester, text, dit_named_in(deps, text))
        client.views_open(trigger_id=shortcut["trigger_id"], view=view)
