"""The App Home tab: my open DITs, the DITs waiting on us, my drafts (mail helper)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.views.dit import dit_line
from bot.views.search import open_button
from bot.views.text import escape, mrkdwn, plain
from ditbot.core.i18n import Translator, _
from storage.models import Dit

VIEW_BLOCKS = 100
SECTION_MAX = 20  # DITs per list


def _dit_blocks(t: Translator, dits: Sequence[Dit]) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": mrkdwn(dit_line(t, d)), "accessory": open_button(t, d.number)}
        for d in dits[:SECTION_MAX]
    ]


def _heading(text: str) -> dict[str, Any]:
    return {"type": "header", "text": plain(text, 150)}


def _empty(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(text)]}


def home_view(
    t: Translator,
    name: str,
    mine: Sequence[Dit],
    waiting: Sequence[Dit],
    drafts: list[dict[str, Any]],
) -> dict[str, Any]:
    """The Home tab; sections are cut so the whole stays within 100 blocks."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": mrkdwn(
                t(
                    _("Hello {name}. Type */dit* followed by a DIT number to open it."),
                    name=escape(name),
                )
            ),
        },
        _heading(t(_("My open DITs"))),
    ]
    blocks += _dit_blocks(t, mine) or [_empty(t(_("No open DIT assigned to you.")))]
    blocks.append({"type": "divider"})
    blocks.append(_heading(t(_("Waiting on us (the client spoke last)"))))
    blocks += _dit_blocks(t, waiting) or [_empty(t(_("No DIT is waiting on us.")))]
    if drafts:
        blocks.append({"type": "divider"})
        room = VIEW_BLOCKS - len(blocks)
        blocks += drafts[:room]
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS]}


def unlinked_home_view(t: Translator, message: str) -> dict[str, Any]:
    return {
        "type": "home",
        "blocks": [
            _heading(t(_("ditbot"))),
            {"type": "section", "text": mrkdwn(escape(message))},
        ],
    }
