"""Small builders shared by every surface."""

from __future__ import annotations

from typing import Any

from bot.ids import Callback
from bot.views.text import mrkdwn, title
from ditbot.core.i18n import Translator, _


def notice_modal(text: str, t: Translator) -> dict[str, Any]:
    """A modal that only says `text` (errors raised by a button inside a modal)."""
    return {
        "type": "modal",
        "callback_id": Callback.NOTICE,
        "title": title(t(_("ditbot"))),
        "close": title(t(_("OK"))),
        "blocks": [{"type": "section", "text": mrkdwn(text)}],
    }


def ephemeral(text: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Keyword arguments of an ephemeral answer (respond / ack) with fallback text."""
    answer: dict[str, Any] = {"response_type": "ephemeral", "text": text}
    if blocks:
        answer["blocks"] = blocks
    return answer
