"""The `/dit help` message."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, SectionBlock

from bot.views.text import escape, mrkdwn
from ditbot.core.i18n import Translator, _


def help_blocks(t: Translator, unknown_verb: str | None = None) -> tuple[list[Block], str]:
    """(blocks, fallback text) of the ephemeral help."""
    lines = [
        t(_("*/dit DIT-2026-0042*: open the exchanges of a DIT")),
        t(_("*/dit recu DIT-2026-0042*: log an exchange received from the client")),
        t(_("*/dit envoye DIT-2026-0042*: log an exchange sent to the client")),
        t(_("*/dit mail DIT-2026-0042*: write a mail to the client")),
        t(_("*/dit Acme*: search DITs by number or client name")),
        t(_("*/dit stats [team] [week|month|30d|2026-11]*: the managers' figures")),
    ]
    intro = t(_("What /dit can do:"))
    blocks: list[Block] = []
    if unknown_verb:
        needs = t(_("“{word}” needs a DIT number after it."), word=escape(unknown_verb[:40]))
        blocks.append(SectionBlock(text=mrkdwn(needs)))
    blocks.append(SectionBlock(text=mrkdwn(f"{intro}\n" + "\n".join(lines))))
    return blocks, intro
