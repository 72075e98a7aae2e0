"""Slack messages of the notifications: pure builders, no I/O (STYLE.md, Sentry's model).

Two kinds, both with a fallback `text` naming the DIT and an `open_panel` button:
- the thread's parent, one per DIT per channel: DIT number, client, title, counter, a red
  marker when the DIT has a relance, and the message that opened the thread; kept current
  with chat.update;
- a reply: one or several new messages of the same DIT (a burst is grouped, never dropped).

Each message stays within what Slack accepts: at most 50 blocks, and at most
`BLOCKS_TEXT_BUDGET` characters of text in its blocks (Slack refuses a message whose blocks
add up to about 11,000-12,000 characters with `msg_blocks_too_long`; ../shared/SLACK.md). A
note longer than one section (3000) goes on in the next sections. `notes_per_reply` says how
many notes of a burst fit in one reply; the worker posts the others in the next replies, so
every note is shown whole.

What clients wrote (subjects, details, titles) goes into plain_text objects as typed, never
escaped (bot/views/text.py: Slack shows plain_text as given), so it reads exactly as written
and can never ping (`<!channel>`, `@here`), link or format. A note's first line (who, when,
how) is verbatim mrkdwn with the names escaped, for its date token: Slack shows the time in
each reader's own time zone, as the modals do. The fallback `text` is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    SectionBlock,
)

from bot.ids import Action
from bot.views.dit import state_label
from bot.views.text import BUTTON_MAX, HEADER_MAX, TEXT_MAX, escape, mrkdwn, plain, slack_date
from bot.views.text import truncate as clip
from ditbot.core.i18n import N_, Translator, _
from ditbot.domain import labels
from storage.models import Collaborator, Contact, Dit, Exchange, ExchangeType
from storage.vocabulary import DitState, Source

FALLBACK_MAX = 3000  # the top-level text: under Slack's msg_too_long (~4,000), readable in a push
NOTES_PER_REPLY = 40  # the most notes one burst groups (each reply shows as many as fit)
MESSAGE_BLOCKS = 50  # Slack's limit per message
BLOCKS_TEXT_BUDGET = 10_000  # the text of one message's blocks, added up (msg_blocks_too_long)
NOTE_SECTIONS = 3  # a note goes on over at most 3 sections (9,000 characters)
RED = "\U0001f534"  # the red marker of a DIT with a relance (a character: never an emoji code)


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


def counter(card: DitCard, t: Translator) -> str:
    """`3 exchanges`; with a relance: `🔴 3 exchanges (follow-up)` (the Slack panel's words)."""
    text = t(N_("{count} exchange", "{count} exchanges"), count=card.count)
    if card.relance:
        text = f"{RED} {text} " + t(_("(follow-up)"))
    return text


def title_line(card: DitCard) -> str:
    marker = f"{RED} " if card.relance else ""
    return f"{marker}{card.number} · {card.client}"


def note_head(note: Note, t: Translator) -> str:
    """Who, when, how: the first line of a note, mrkdwn (names escaped, a date token)."""
    tags = [t(labels.SOURCE[note.source])]
    if note.relance:
        tags.insert(0, f"{RED} " + t(_("FOLLOW-UP")))
    who = f"{escape(clip(note.sender, 200))} → {escape(clip(note.receiver, 200))}"
    return f"{who} · {slack_date(note.occurred_at)} · {escape(' · '.join(tags))}"


def _cut_at(text: str, limit: int) -> int:
    """Where to end a piece of at most `limit` characters of `text`: after a line break or a
    space near the end when there is one."""
    if len(text) <= limit:
        return len(text)
    for mark in ("\n", " "):
        at = text.rfind(mark, limit * 3 // 4, limit)
        if at != -1:
            return at + 1
    return limit


def note_blocks(note: Note, t: Translator) -> list[Block]:
    """One note: its first line (who, when, how) in a context block, then what was written
    (the subject and the detail) as plain text, over as many sections as it needs (at most
    NOTE_SECTIONS; a longer one is clipped)."""
    rest = f"{note.subject}\n{note.detail}" if note.subject else note.detail
    pieces: list[str] = []
    while rest and len(pieces) < NOTE_SECTIONS - 1 and len(rest) > TEXT_MAX:
        cut = _cut_at(rest, TEXT_MAX)
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(clip(rest, TEXT_MAX))
    blocks: list[Block] = [ContextBlock(elements=[mrkdwn(note_head(note, t))])]
    blocks.extend(SectionBlock(text=plain(piece.strip() or " ")) for piece in pieces)
    return blocks


def open_button(number: str, t: Translator) -> ActionsBlock:
    return ActionsBlock(
        elements=[
            ButtonElement(
                text=plain(t(_("Open the DIT")), BUTTON_MAX),
                action_id=Action.OPEN_PANEL.value,
                value=number,
            )
        ]
    )


def card_blocks(card: DitCard, t: Translator) -> list[Block]:
    state = state_label(t, card.state)
    return [
        HeaderBlock(text=plain(title_line(card), HEADER_MAX)),
        SectionBlock(text=plain(card.title, 300)),
        # Our own words and numbers only: mrkdwn, verbatim so nothing is auto-linked.
        ContextBlock(elements=[mrkdwn(f"{escape(counter(card, t))} · {escape(state)}")]),
    ]


def _message(text: str, blocks: Sequence[Block]) -> dict[str, Any]:
    return {
        "text": clip(escape(text), FALLBACK_MAX),
        "blocks": [block.to_dict() for block in blocks],
    }


def blocks_text(blocks: Sequence[Block]) -> int:
    """The characters of text of `blocks`, added up (what msg_blocks_too_long counts)."""

    def count(node: Any) -> int:
        if isinstance(node, dict):
            return sum(
                len(value) if key == "text" and isinstance(value, str) else count(value)
                for key, value in node.items()
            )
        if isinstance(node, list):
            return sum(count(item) for item in node)
        return 0

    return count([block.to_dict() for block in blocks])


def parent_message(card: DitCard, root: Note | None, locale: str) -> dict[str, Any]:
    """The parent of a DIT's thread: the card, the opening message, the open button."""
    t = Translator(locale)
    blocks = card_blocks(card, t)
    if root is not None:
        blocks.extend(note_blocks(root, t))
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


def notes_per_reply(card: DitCard, notes: Sequence[Note], locale: str) -> int:
    """How many of `notes`, oldest first, one reply carries within Slack's limits (at least
    one: a single note always fits, see NOTE_SECTIONS)."""
    t = Translator(locale)
    fixed = [open_button(card.number, t)]
    blocks, text = len(fixed), blocks_text(fixed)
    fit = 0
    for note in notes[:NOTES_PER_REPLY]:
        sections = note_blocks(note, t)
        blocks += len(sections)
        text += blocks_text(sections)
        if fit and (blocks > MESSAGE_BLOCKS or text > BLOCKS_TEXT_BUDGET):
            break
        fit += 1
    return max(fit, 1)


def reply_message(card: DitCard, notes: Sequence[Note], locale: str) -> dict[str, Any]:
    """A reply in the DIT's thread with one or more new messages, all shown whole: give it
    at most `notes_per_reply(card, notes, locale)` notes."""
    if not notes or len(notes) > notes_per_reply(card, notes, locale):
        raise ValueError(f"{len(notes)} notes do not fit in one reply")
    t = Translator(locale)
    relance = any(note.relance for note in notes)
    blocks: list[Block] = [block for note in notes for block in note_blocks(note, t)]
    blocks.append(open_button(card.number, t))
    if len(notes) == 1:
        fallback = t(
            _("{marker}DIT {number} · {client}: new message from {who}: {detail}"),
            marker=f"{RED} " + t(_("FOLLOW-UP")) + " " if relance else "",
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
            marker=f"{RED} " + t(_("FOLLOW-UP")) + " " if relance else "",
            number=card.number,
            client=card.client,
            count=len(notes),
        )
    return _message(fallback, blocks)


def card_of(dit: Dit) -> DitCard:
    """The card of a DIT's parent message, from its row."""
    return DitCard(
        number=dit.number,
        title=dit.title,
        client=dit.client.name,
        state=dit.state,
        count=dit.exchange_count,
        relance=dit.relance_count > 0,
    )


def _name(collaborator: Collaborator | None, contact: Contact | None) -> str:
    person = collaborator or contact
    return person.name if person is not None else "?"


def note_of(exchange: Exchange) -> Note:
    """An exchange as its notification shows it, from its row."""
    kind: ExchangeType = exchange.type
    return Note(
        exchange_id=exchange.id,
        sender=_name(exchange.sent_by_collaborator, exchange.sent_by_contact),
        receiver=_name(exchange.received_by_collaborator, exchange.received_by_contact),
        direction=exchange.direction,
        source=exchange.source,
        occurred_at=exchange.occurred_at,
        subject=exchange.subject,
        detail=exchange.detail,
        relance=kind.is_relance,
    )
