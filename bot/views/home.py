"""The App Home tab: my open DITs, the DITs waiting on us, my drafts (mail helper)."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, SectionBlock
from slack_sdk.models.views import View

from bot.views.dit import dit_line
from bot.views.search import open_button
from bot.views.text import HEADER_MAX, escape, mrkdwn, plain
from ditbot.core.i18n import Translator, _
from storage.models import Dit

VIEW_BLOCKS = 100
SECTION_MAX = 20  # DITs per list


def _dit_blocks(t: Translator, dits: Sequence[Dit]) -> list[Block]:
    return [
        SectionBlock(text=mrkdwn(dit_line(t, d)), accessory=open_button(t, d.number))
        for d in dits[:SECTION_MAX]
    ]


def _heading(text: str) -> HeaderBlock:
    return HeaderBlock(text=plain(text, HEADER_MAX))


def _empty(text: str) -> ContextBlock:
    return ContextBlock(elements=[mrkdwn(text)])


def home_view(
    t: Translator,
    name: str,
    mine: Sequence[Dit],
    waiting: Sequence[Dit],
    drafts: Sequence[Block],
    manager: Sequence[Block] = (),
) -> View:
    """The Home tab; sections are cut so the whole stays within 100 blocks. `manager`: the
    manager's section (bot/views/stats.py `manager_blocks`), first under the greeting."""
    hello = t(
        _("Hello {name}. Type */dit* followed by a DIT number to open it."), name=escape(name)
    )
    blocks: list[Block] = [SectionBlock(text=mrkdwn(hello)), *manager]
    blocks.append(_heading(t(_("My open DITs"))))
    blocks += _dit_blocks(t, mine) or [_empty(t(_("No open DIT assigned to you.")))]
    blocks.append(DividerBlock())
    blocks.append(_heading(t(_("Waiting on us (the client spoke last)"))))
    blocks += _dit_blocks(t, waiting) or [_empty(t(_("No DIT is waiting on us.")))]
    if drafts:
        blocks.append(DividerBlock())
        room = VIEW_BLOCKS - len(blocks)
        blocks += drafts[:room]
    return View(type="home", blocks=blocks[:VIEW_BLOCKS])


def unlinked_home_view(t: Translator, message: str) -> View:
    return View(
        type="home",
        blocks=[_heading(t(_("ditbot"))), SectionBlock(text=mrkdwn(escape(message)))],
    )
