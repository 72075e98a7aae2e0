"""Ephemeral lists of DITs with an `open_panel` button each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.ids import Action
from bot.views.dit import dit_line, state_label
from bot.views.text import escape, mrkdwn, plain
from ditbot.core.i18n import N_, Translator, _
from storage.models import Dit


def open_button(t: Translator, number: str, label: str | None = None) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": Action.OPEN_PANEL,
        "text": plain(label or t(_("Open")), 75),
        "value": number,
    }


def results(
    t: Translator, query: str, dits: Sequence[Dit], total: int
) -> tuple[list[dict[str, Any]], str]:
    """One section per DIT (with its button); says when there are more than shown."""
    head = t(_("DITs matching “{query}”:"), query=escape(query[:60]))
    blocks: list[dict[str, Any]] = [{"type": "section", "text": mrkdwn(head)}]
    for dit in dits:
        blocks.append(
            {
                "type": "section",
                "text": mrkdwn(dit_line(t, dit)),
                "accessory": open_button(t, dit.number),
            }
        )
    if total > len(dits):
        more = t(_("More DITs match: type more of the number or of the client's name."))
        blocks.append({"type": "context", "elements": [mrkdwn(more)]})
    return blocks, t(N_("{count} DIT found", "{count} DITs found"), count=len(dits))


def closed_dit(t: Translator, dit: Dit) -> tuple[list[dict[str, Any]], str]:
    """A closed or cancelled DIT: say so, and offer its history read-only."""
    text = t(
        _(
            "DIT {number} is {state}: exchanges can no longer be logged on it. "
            "You can still read its history."
        ),
        number=escape(dit.number),
        state=state_label(t, dit.state),
    )
    blocks = [
        {
            "type": "section",
            "text": mrkdwn(text),
            "accessory": open_button(t, dit.number, t(_("See history"))),
        }
    ]
    return blocks, text
