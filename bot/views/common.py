"""Small builders shared by every surface."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block, SectionBlock
from slack_sdk.models.views import View

from bot.ids import Callback
from bot.views.text import mrkdwn, title
from ditbot.core.i18n import Translator, _


def notice_modal(text: str, t: Translator) -> View:
    """A modal that only says `text` (errors raised by a button inside a modal)."""
    return View(
        type="modal",
        callback_id=Callback.NOTICE,
        title=title(t(_("ditbot"))),
        close=title(t(_("OK"))),
        blocks=[SectionBlock(text=mrkdwn(text))],
    )


def ephemeral(text: str, blocks: Sequence[Block] | None = None) -> dict[str, Any]:
    """Keyword arguments of an ephemeral answer (respond / ack) with fallback text."""
    answer: dict[str, Any] = {"response_type": "ephemeral", "text": text}
    if blocks:
        answer["blocks"] = list(blocks)
    return answer
