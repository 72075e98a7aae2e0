"""Slack messages of the notifications: pure builders, no I/O (STYLE.md, Sentry's model).

Two kinds, both with a fallback `text` naming the DIT and an `open_panel` button:
- the thread's parent, one per DIT per channel: DIT number, client, title, counter, a red
  marker when the DIT has a relance, and the message that opened the thread; kept current
  with chat.update;
- a reply: one or several new messages of the same DIT (a burst is grouped, never dropped).

Client text (names, subjects, details, titles) is escaped (& < >) and only ever put in
plain_text objects, so it can never ping (`<!channel>`, `@here`), link or format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.ids import Action
from bot.views.dit import state_label
from bot.views.text import HEADER_MAX, TEXT_MAX, escape
from bot.views.text import truncate as clip
from ditbot.core.i18n import N_, Translator, _
from ditbot.domain import labels
from storage.vocabulary import DitState, Source

FALLBACK_MAX = 3000  # the top-level text: well under Slack's 40,000 and readable in a push
NOTES_PER_REPLY = 40  # one section each, + context and actions: within 50 blocks
RED = "\U0001f534"  # the red marker of a DIT with a relance (a character: never an emoji code)
DISPLAY_ZONE = "Europe/Paris"


@dataclass(frozen=True)
class DitCard:
    """What the parent message says of the DIT."""

    number: str
    title: str
    client: str
    state: DitState
    count: int
    relance: bool


@dataclass(frozen=True)
class Note:
    """One exchange as a notification shows it."""

    exchange_id: int
    sender: str
    receiver: str
    direction: str
    source: Source
    occurred_at: datetime
    subject: str | None
    detail: str
    relance: bool


def plain(text: str, limit: int = TEXT_MAX) -> PlainTextObject:
    """Client text as plain_text: escaped, clipped, emoji codes left as typed."""
    return PlainTextObject(text=clip(escape(text), limit) or " ", emoji=False)


@cache
def _zone() -> Any:
    try:
        return ZoneInfo(DISPLAY_ZONE)
    except ZoneInfoNotFoundError:
        return ZoneInfo("UTC")


def when(value: datetime, locale: str) -> str:
    return format_datetime(value, "d MMM, HH:mm", tzinfo=_zone(), locale=locale)


def counter(card: DitCard, t: Translator) -> str:
    """`3 exchanges`; with a relance: `🔴 3 exchanges (relance)` (the Slack panel's words)."""
    text = t(N_("{count} exchange", "{count} exchanges"), count=card.count)
    if card.relance:
        text = f"{RED} {text} " + t(_("(relance)"))
    return text


def title_line(card: DitCard) -> str:
    marker = f"{RED} " if card.relance else ""
    return f"{marker}{card.number} · {card.client}"


def note_text(note: Note, t: Translator, locale: str, limit: int = TEXT_MAX) -> PlainTextObject:
    """One message, all plain text: who, when, how, then the subject and the detail."""
    tags = [t(labels.SOURCE[note.source])]
    if note.relance:
        tags.insert(0, f"{RED} " + t(_("RELANCE")))
    head = (
        f"{note.sender} → {note.receiver} · {when(note.occurred_at, locale)} · {' · '.join(tags)}"
    )
    body = f"{note.subject}\n{note.detail}" if note.subject else note.detail
    return plain(f"{head}\n{body}", limit)


def open_button(number: str, t: Translator) -> ActionsBlock:
    return ActionsBlock(
        elements=[
            ButtonElement(
                text=PlainTextObject(text=t(_("Open the DIT")), emoji=False),
                action_id=Action.OPEN_PANEL.value,
                value=number,
            )
        ]
    )


def card_blocks(card: DitCard, t: Translator) -> list[Block]:
    state = state_label(t, card.state)
    return [
        HeaderBlock(
            text=PlainTextObject(
                text=clip(escape(title_line(card)), HEADER_MAX) or " ", emoji=False
            )
        ),
        SectionBlock(text=plain(card.title, 300)),
        ContextBlock(
            elements=[
                # Our own words and numbers only: mrkdwn, verbatim so nothing is auto-linked.
                MarkdownTextObject(
                    text=f"{escape(counter(card, t))} · {escape(state)}", verbatim=True
                )
            ]
        ),
    ]


def _message(text: str, blocks: Sequence[Block]) -> dict[str, Any]:
    return {
        "text": clip(escape(text), FALLBACK_MAX),
        "blocks": [block.to_dict() for block in blocks],
    }


def parent_message(card: DitCard, root: Note | None, locale: str) -> dict[str, Any]:
    """The parent of a DIT's thread: the card, the opening message, the open button."""
    t = Translator(locale)
    blocks = card_blocks(card, t)
    if root is not None:
        blocks.append(SectionBlock(text=note_text(root, t, locale)))
    blocks.append(open_button(card.number, t))
    fallback = t(
        _("{marker}DIT {number} · {client}: {counter}"),
        marker=f"{RED} " if card.relance else "",
        number=card.number,
        client=card.client,
        counter=counter(card, t),
    )
    if root is not None:
        fallback += "\n" + t(_("{who}: {detail}"), who=root.sender, detail=root.detail)
    return _message(fallback, blocks)


def reply_message(card: DitCard, notes: Sequence[Note], locale: str) -> dict[str, Any]:
    """A reply in the DIT's thread with one or more new messages (at most NOTES_PER_REPLY)."""
    if not notes or len(notes) > NOTES_PER_REPLY:
        raise ValueError(f"a reply carries 1 to {NOTES_PER_REPLY} notes, not {len(notes)}")
    t = Translator(locale)
    relance = any(note.relance for note in notes)
    # Share the room of one message among its notes (a burst of long messages stays under
    # Slack's limits; the whole text is always in the DIT's panel).
    each = max(300, min(TEXT_MAX, 36_000 // len(notes)))
    blocks: list[Block] = [SectionBlock(text=note_text(note, t, locale, each)) for note in notes]
    blocks.append(open_button(card.number, t))
    if len(notes) == 1:
        fallback = t(
            _("{marker}DIT {number} · {client}: new message from {who}: {detail}"),
            marker=f"{RED} " + t(_("RELANCE")) + " " if relance else "",
            number=card.number,
            client=card.client,
            who=notes[0].sender,
            detail=notes[0].detail,
        )
    else:
        fallback = t(
            N_(
                "{marker}DIT {number} · {client}: {count} new message",
                "{marker}DIT {number} · {client}: {count} new messages",
            ),
            marker=f"{RED} " + t(_("RELANCE")) + " " if relance else "",
            number=card.number,
            client=card.client,
            count=len(notes),
        )
    return _message(fallback, blocks)
