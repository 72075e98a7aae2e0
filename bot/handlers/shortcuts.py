"""Message shortcut `log_exchange`: log any message (a pasted SMS...) as a received exchange."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot.deps import Deps
from bot.errors import guarded
from bot.flows.forms import open_shortcut_form
from bot.ids import Callback
from bot.middleware import ack_at_once
from bot.parsing import ShortcutPayload
from bot.requester import Requester
from ditbot.domain.validation import DETAIL_MAX


def log_exchange_shortcut(
    shortcut: ShortcutPayload, client: WebClient, deps: Deps, requester: Requester
) -> None:
    """The received form, its detail the message, its DIT the one the message names."""
    # Slack sends a message's text with & < > escaped (as &amp; &lt; &gt;): the detail is what
    # the person wrote, so the three entities are decoded (ampersand last).
    raw = str((shortcut.get("message") or {}).get("text") or "")
    text = raw.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")[:DETAIL_MAX]
    open_shortcut_form(deps, client, requester, text, trigger_id=shortcut.get("trigger_id", ""))


def register(app: App) -> None:
    app.message_shortcut(Callback.LOG_EXCHANGE, middleware=[ack_at_once])(
        guarded(log_exchange_shortcut)
    )
