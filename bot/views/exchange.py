"""How one exchange reads: a line in the panel, the detail modal, the delete confirmation."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    BlockElement,
    ContextBlock,
    InputBlock,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.ids import Callback, Field, block_id
from bot.views.dit import when
from bot.views.text import LABEL_MAX, escape, mrkdwn, one_line, plain, title, truncate
from ditbot.core.i18n import N_, Translator, _
from ditbot.domain import labels
from storage.models import Collaborator, Contact, Exchange, ExchangeType, InboundMail
from storage.vocabulary import Direction, InboundStatus, MailStatus

PREVIEW = 280  # characters of the detail shown in the panel


def type_label(t: Translator, kind: ExchangeType) -> str:
    return kind.label_fr if t.locale == "fr" else kind.label_en


def person(collaborator: Collaborator | None, contact: Contact | None) -> str:
    if collaborator is not None:
        return collaborator.name
    if contact is not None:
        return contact.name
    return "?"


def sender(exchange: Exchange) -> str:
    return person(exchange.sent_by_collaborator, exchange.sent_by_contact)


def receiver(exchange: Exchange) -> str:
    return person(exchange.received_by_collaborator, exchange.received_by_contact)


def direction_label(t: Translator, exchange: Exchange) -> str:
    if exchange.direction == Direction.RECEIVED:
        return t(_("Received"))
    return t(_("Sent"))


def summary(t: Translator, exchange: Exchange) -> str:
    """mrkdwn of one exchange's facts: direction, type, date, who, mail status (names escaped).

    What was written (subject, detail) is not in it: see `written`, shown as plain_text.
    """
    arrow = ":inbox_tray:" if exchange.direction == Direction.RECEIVED else ":outbox_tray:"
    relance = " :red_circle:" if exchange.type.is_relance else ""
    head = (
        f"{arrow} *{direction_label(t, exchange)} · {escape(type_label(t, exchange.type))}*"
        f"{relance} · {when(t, exchange.occurred_at)}"
    )
    who = f"{escape(truncate(sender(exchange), 60))} → {escape(truncate(receiver(exchange), 60))}"
    if exchange.recipient_email:
        who += f" ({escape(truncate(exchange.recipient_email, 80))})"
    lines = [head, who]
    if exchange.mail_status:
        status = t(labels.MAIL_STATUS[exchange.mail_status])
        if exchange.mail_status == MailStatus.FAILED and exchange.mail_error:
            status += f": {escape(truncate(one_line(exchange.mail_error), 120))}"
        lines.append(f":email: {status}")
    return "\n".join(lines)


def written(exchange: Exchange, preview: int = PREVIEW) -> PlainTextObject:
    """Subject and detail, truncated, as plain_text: a client's `*`, `_`, `@here` or URL
    shows as typed and can never format, ping or link."""
    subject = truncate(one_line(exchange.subject), 150) if exchange.subject else ""
    detail = truncate(one_line(exchange.detail), preview)
    return plain(f"{subject}\n{detail}" if subject else detail)


def exchange_blocks(
    t: Translator,
    exchange: Exchange,
    preview: int = PREVIEW,
    *,
    block_id: str | None = None,
    accessory: BlockElement | None = None,
) -> list[Block]:
    """One exchange as two blocks: its facts (mrkdwn, with the optional `block_id` and
    `accessory`) and what was written (plain_text)."""
    return [
        SectionBlock(text=mrkdwn(summary(t, exchange)), block_id=block_id, accessory=accessory),
        SectionBlock(text=written(exchange, preview)),
    ]


def detail_modal(t: Translator, exchange: Exchange) -> View:
    """The whole exchange, read-only (client text in plain_text: never formatted)."""
    facts = [
        t(_("*DIT:* {number}"), number=escape(exchange.dit.number)),
        t(_("*Direction:* {direction}"), direction=direction_label(t, exchange)),
        t(_("*Type:* {type}"), type=escape(type_label(t, exchange.type))),
        t(_("*Date:* {date}"), date=when(t, exchange.occurred_at)),
        t(_("*From:* {sender}"), sender=escape(truncate(sender(exchange), 200))),
        t(_("*To:* {receiver}"), receiver=escape(truncate(receiver(exchange), 200))),
    ]
    if exchange.recipient_email:
        facts.append(t(_("*Recipient e-mail:* {email}"), email=escape(exchange.recipient_email)))
    facts.append(t(_("*Logged from:* {source}"), source=t(labels.SOURCE[exchange.source])))
    if exchange.author_collaborator is not None:
        facts.append(t(_("*Author:* {author}"), author=escape(exchange.author_collaborator.name)))
    if exchange.mail_status:
        status = t(labels.MAIL_STATUS[exchange.mail_status])
        facts.append(t(_("*Mail:* {status}"), status=status))
    blocks: list[Block] = [SectionBlock(text=mrkdwn("\n".join(facts)))]
    if exchange.subject:
        blocks.append(SectionBlock(text=plain(exchange.subject)))
    blocks.append(SectionBlock(text=plain(exchange.detail)))
    blocks.extend(mail_note_blocks(t, exchange.mail_notes))
    if exchange.updated_at and exchange.created_at and exchange.updated_at > exchange.created_at:
        note = t(_("Last changed {date}"), date=when(t, exchange.updated_at))
        blocks.append(ContextBlock(elements=[mrkdwn(note)]))
    return View(
        type="modal",
        callback_id=Callback.EXCHANGE_DETAIL,
        title=title(t(_("Exchange"))),
        close=title(t(_("Back"))),
        blocks=blocks,
    )


MAIL_NOTES_SHOWN = 5  # automatic answers and delivery reports shown under a sent mail


def mail_note_blocks(t: Translator, notes: Sequence[InboundMail]) -> list[Block]:
    """What came back about a sent mail without the client speaking: each out-of-office or
    delivery report, when it came (mrkdwn) and what it said (plain_text: never formatted)."""
    blocks: list[Block] = []
    for note in notes[-MAIL_NOTES_SHOWN:]:
        if note.status == InboundStatus.BOUNCE:
            head = t(_(":warning: Delivery report received {date}"), date=when(t, note.received_at))
            said = note.reason
        else:
            head = t(_(":zzz: Automatic answer received {date}"), date=when(t, note.received_at))
            said = note.text or note.reason
        blocks.append(ContextBlock(elements=[mrkdwn(head)]))
        if said:
            blocks.append(SectionBlock(text=plain(truncate(said.strip(), 600))))
    if len(notes) > MAIL_NOTES_SHOWN:
        more = len(notes) - MAIL_NOTES_SHOWN
        line = t(
            N_(
                "{count} earlier automatic answer not shown",
                "{count} earlier automatic answers not shown",
            ),
            count=more,
        )
        blocks.append(ContextBlock(elements=[plain(line)]))
    return blocks


def delete_modal(t: Translator, exchange: Exchange, metadata: str) -> View:
    """The confirmation of a delete, with an optional reason (kept in the trace)."""
    question = t(
        _("Delete this exchange of DIT {number}? It leaves the counter; its trace is kept."),
        number=escape(exchange.dit.number),
    )
    return View(
        type="modal",
        callback_id=Callback.EXCHANGE_DELETE,
        title=title(t(_("Delete exchange"))),
        submit=title(t(_("Delete"))),
        close=title(t(_("Keep it"))),
        private_metadata=metadata,
        blocks=[
            SectionBlock(text=mrkdwn(question)),
            *exchange_blocks(t, exchange, preview=600),
            InputBlock(
                block_id=block_id(Field.REASON),
                optional=True,
                label=plain(t(_("Reason")), LABEL_MAX),
                element=PlainTextInputElement(action_id=Field.REASON, max_length=500),
            ),
        ],
    )
