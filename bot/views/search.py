"""Ephemeral lists of DITs with an `open_panel` button each."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ButtonElement, ContextBlock, SectionBlock

from bot.ids import Action
from bot.views.dit import dit_line, state_label
from bot.views.text import BUTTON_MAX, escape, mrkdwn, plain
from ditbot.core.i18n import N_, Translator, _
from storage.models import Dit


def open_button(t: Translator, number: str, label: str | None = None) -> ButtonElement:
    return ButtonElement(
        action_id=Action.OPEN_PANEL,
        text=plain(label or t(_("Open")), BUTTON_MAX),
        value=number,
    )


def results(t: Translator, query: str, dits: Sequence[Dit], total: int) -> tuple[list[Block], str]:
    """One section per DIT (with its button); says when there are more than shown."""
    head = t(_("DITs matching “{query}”:"), query=escape(query[:60]))
    blocks: list[Block] = [SectionBlock(text=mrkdwn(head))]
    for dit in dits:
        blocks.append(
            SectionBlock(text=mrkdwn(dit_line(t, dit)), accessory=open_button(t, dit.number))
        )
    if total > len(dits):
        more = t(_("More DITs match: type more of the number or of the client's name."))
        blocks.append(ContextBlock(elements=[mrkdwn(more)]))
    return blocks, t(N_("{count} DIT found", "{count} DITs found"), count=len(dits))


def closed_dit(t: Translator, dit: Dit) -> tuple[list[Block], str]:
    """A closed or cancelled DIT: say so, and offer its history read-only."""
    text = t(
        _(
            "DIT {number} is {state}: exchanges can no longer be logged on it. "
            "You can still read its history."
        ),
        number=escape(dit.number),
        state=state_label(t, dit.state),
    )
    blocks: list[Block] = [
        SectionBlock(text=mrkdwn(text), accessory=open_button(t, dit.number, t(_("See history"))))
    ]
    return blocks, text
