"""What a mail that came in becomes (issue 10): an exchange, a note, a failed mail, or kept.

- A client's reply is a received exchange of type `courriel` (or `relance` when the client's
  previous message waits unanswered since `relance_after_hours`, the portal's rule), source
  `mail`, sent by the contact, received by the DIT's technician, recorded through the same
  path as a portal message (ditbot.domain.exchanges.log_exchange: indicators, notifications
  and the relance rule come along). Like any client message it can be neither edited nor
  deleted. It is accepted on a DIT open or within the portal's window after it finished.
- An automatic answer is a note on the mail it answers, never the client speaking.
- A delivery failure report turns the mail it names `failed`, with the remote reason, and
  tells its author, as a refusal by our own SMTP server does.
- Anything else is kept (`unmatched`, with the reason) until a collaborateur attaches it to a
  DIT or dismisses it.

Every mail is recorded once: `InboundMail.key` is unique, so a mail fetched twice, or by two
processes at the same time, leaves one row (and one exchange).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ditbot.core.i18n import _, gettext
from ditbot.domain import exchanges as service
from ditbot.domain.errors import Conflict, NotAllowed, NotFound
from ditbot.domain.mail import MAIL_TYPE, failure_notice
from ditbot.domain.portal import (
    client_is_waiting,
    ensure_accepts_messages,
    receiver_of,
    types_for_client_messages,
)
from ditbot.domain.validation import DETAIL_MAX, SUBJECT_MAX
from storage import repositories as repo
from storage.models import Contact, Dit, Exchange, InboundMail
from storage.outbox import enqueue
from storage.outbox_payloads import UnmatchedMail
from storage.types import utcnow
from storage.vocabulary import Direction, InboundStatus, MailStatus, PartyKind, Source

KEY_PREFIX = "mail:"
NAMES_MAX = 500  # of the attachments line of a detail


@dataclass(frozen=True)
class InboundFacts:
    """What is kept of every mail that came in, whatever it becomes."""

    key: str
    message_id: str | None
    from_address: str
    from_name: str
    subject: str | None
    sent_at: datetime | None
    text: str
    attachments: list[dict[str, Any]] = field(default_factory=list)
    raw_path: str | None = None


def exchange_key(key: str) -> str:
    """The exchange's external key for a mail key (exchanges.external_key has 200 characters)."""
    return KEY_PREFIX + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class Received:
    """A mail already taken: its row, and the exchange it became (if any)."""

    inbound_id: int
    exchange_id: int | None


def already_received(session: Session, key: str) -> Received | None:
    row = session.execute(
        select(InboundMail.id, InboundMail.exchange_id).where(InboundMail.key == key)
    ).first()
    return None if row is None else Received(row.id, row.exchange_id)


@dataclass(frozen=True)
class MailRef:
    """Where a Message-ID ditbot knows belongs: the DIT, the contact, the mail sent (if ours)."""

    dit_id: int
    contact_id: int | None
    sent_exchange_id: int | None


def contacts_with_address(session: Session, address: str) -> Sequence[Contact]:
    """The contacts whose Mail 1 or Mail 2 is `address` (case does not matter)."""
    wanted = address.strip().lower()
    return session.scalars(
        select(Contact)
        .where((func.lower(Contact.mail1) == wanted) | (func.lower(Contact.mail2) == wanted))
        .order_by(Contact.id)
    ).all()


def sent_mail_by_message_id(session: Session, message_id: str) -> Exchange | None:
    """The mail ditbot sent with this Message-ID."""
    ref = mail_ref(session, message_id)
    if ref is None or ref.sent_exchange_id is None:
        return None
    return session.get(Exchange, ref.sent_exchange_id)


def mail_ref(session: Session, message_id: str) -> MailRef | None:
    """The mail ditbot sent with this Message-ID, else a mail it recorded on a DIT with it.

    Reads ids only (a matched mail loads its DIT once, later): this runs for each id of a
    mail's References.
    """
    sent = session.execute(
        select(Exchange.id, Exchange.dit_id, Exchange.received_by_contact_id)
        .where(Exchange.mail_message_id == message_id, Exchange.direction == Direction.SENT)
        .limit(1)
    ).first()
    if sent is not None:
        return MailRef(sent.dit_id, sent.received_by_contact_id, sent.id)
    received = session.execute(
        select(InboundMail.dit_id, InboundMail.contact_id)
        .where(InboundMail.message_id == message_id, InboundMail.dit_id.is_not(None))
        .limit(1)
    ).first()
    if received is not None and received.dit_id is not None:
        return MailRef(received.dit_id, received.contact_id, None)
    return None


def _row(facts: InboundFacts, status: InboundStatus, **values: Any) -> InboundMail:
    return InboundMail(
        key=facts.key,
        message_id=facts.message_id,
        status=status,
        from_address=facts.from_address[:254] or None,
        from_name=facts.from_name[:200] or None,
        subject=(facts.subject or "")[:SUBJECT_MAX] or None,
        sent_at=facts.sent_at,
        text=facts.text,
        attachments=list(facts.attachments),
        raw_path=facts.raw_path,
        **values,
    )


def detail_of(facts: InboundFacts, locale: str, *, unknown_sender: bool) -> str:
    """The exchange's detail: the new text, who sent it when not on file, the attachments.

    Never over DETAIL_MAX: a longer text is cut with a line that says where the whole text
    is (the pipeline keeps it as an attachment); nothing is cut silently.
    """
    head = (
        gettext(
            locale, _("Sent from {address}, an address not on file."), address=facts.from_address
        )
        if unknown_sender
        else ""
    )
    names = ", ".join(
        f"{item['filename']} ({_size(int(item['size']))})" for item in facts.attachments
    )
    if len(names) > NAMES_MAX:
        names = names[: NAMES_MAX - 1] + "…"
    tail = gettext(locale, _("Attachments: {names}"), names=names) if names else ""
    text = facts.text.strip() or gettext(locale, _("(mail without text)"))
    room = DETAIL_MAX - len(head) - len(tail) - 4
    if len(text) > room:
        notice = gettext(
            locale, _("[cut: the whole text is in the attachment {name}]"), name=FULL_TEXT_NAME
        )
        text = text[: max(room - len(notice) - 2, 0)].rstrip() + "…\n" + notice
    return "\n\n".join(part for part in (head, text, tail) if part)


FULL_TEXT_NAME = "texte-complet.txt"


def needs_full_text(text: str) -> bool:
    """A text this long may be cut in the detail: the pipeline keeps it whole as a file."""
    return len(text.strip()) > DETAIL_MAX - NAMES_MAX - 300


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def record_reply(
    session: Session,
    facts: InboundFacts,
    dit: Dit,
    contact: Contact,
    *,
    unknown_sender: bool,
    window_days: int,
    relance_after_hours: float,
    locale: str,
    now: datetime | None = None,
    existing: InboundMail | None = None,
    key_checked: bool = False,
) -> InboundMail:
    """Record a client's mail as a received exchange of `dit` sent by `contact` (`existing`:
    the kept row of an unmatched mail a collaborateur attaches).

    `key_checked`: the caller found no inbound mail under `facts.key` (`already_received`), so
    no exchange holds its key either (both are written in one transaction): the exchange's own
    replay lookup is skipped. A concurrent writer still hits the unique keys (IntegrityError).

    Raises Conflict when the DIT no longer accepts client messages (the caller keeps the mail
    for triage instead).
    """
    # The exchange happened when the mail arrived: its Date header is the sender's clock (often
    # off, sometimes before the very mail it answers), kept on the inbound mail row.
    when = now or utcnow()
    ensure_accepts_messages(dit, window_days, when)
    relance_code, plain_code = types_for_client_messages(session)
    mail_type = repo.exchange_type(session, MAIL_TYPE)
    plain = MAIL_TYPE if mail_type is not None and mail_type.active else plain_code
    is_relance = client_is_waiting(dit, when, relance_after_hours)
    exchange, _created = service.log_exchange(
        session,
        dit.number,
        service.ExchangeInput(
            direction=Direction.RECEIVED,
            detail=detail_of(facts, locale, unknown_sender=unknown_sender),
            type_code=relance_code if is_relance else plain,
            sent_by=service.Party(PartyKind.CONTACT, contact.code),
            received_by=service.Party(PartyKind.COLLABORATOR, receiver_of(session, dit).code),
            subject=(facts.subject or "")[:SUBJECT_MAX] or None,
            occurred_at=when,
        ),
        service.Actor(source=Source.MAIL, contact=contact),
        external_key=exchange_key(facts.key),
        allow_closed=True,
        dit=dit,
        replay_checked=key_checked,
    )
    values: dict[str, Any] = {
        "dit_id": dit.id,
        "contact_id": contact.id,
        "exchange_id": exchange.id,
        "unknown_sender": unknown_sender,
    }
    row = existing or _row(facts, InboundStatus.RECORDED, **values)
    if existing is not None:
        row.status = InboundStatus.RECORDED
        for name, value in values.items():
            setattr(row, name, value)
    session.add(row)
    session.flush()
    return row


def keep_unmatched(
    session: Session, facts: InboundFacts, reason: str, *, dit: Dit | None = None
) -> InboundMail:
    """Keep a mail no DIT was found for (or whose DIT refuses it), with the reason."""
    row = _row(facts, InboundStatus.UNMATCHED, reason=reason, dit_id=dit.id if dit else None)
    session.add(row)
    session.flush()
    enqueue(session, UnmatchedMail(inbound_id=row.id))  # posted for a collaborateur to sort
    return row


def note_auto_reply(
    session: Session, facts: InboundFacts, answers: Exchange | None, reason: str
) -> InboundMail:
    """Keep an automatic answer as a note on the mail it answers (no exchange, no relance)."""
    row = _row(
        facts,
        InboundStatus.AUTO_REPLY,
        reason=reason,
        answers_exchange_id=answers.id if answers else None,
        dit_id=answers.dit_id if answers else None,
    )
    session.add(row)
    session.flush()
    return row


def record_bounce(
    session: Session, facts: InboundFacts, failed: Exchange | None, reason: str, *, final: bool
) -> InboundMail:
    """A delivery report: the mail it names becomes `failed` with the remote reason, and its
    author is told (once: a second report on a failed mail changes nothing)."""
    if failed is not None and final and failed.mail_status != MailStatus.FAILED:
        failed.mail_status = MailStatus.FAILED
        failed.mail_error = reason[:2000]
        failure_notice(session, failed)
    row = _row(
        facts,
        InboundStatus.BOUNCE,
        reason=reason,
        answers_exchange_id=failed.id if failed else None,
        dit_id=failed.dit_id if failed else None,
    )
    session.add(row)
    session.flush()
    return row


def set_aside(session: Session, facts: InboundFacts, reason: str) -> InboundMail:
    """Keep a message that could not be read, with the reason (its raw text is on disk)."""
    row = _row(facts, InboundStatus.REJECTED, reason=reason)
    session.add(row)
    session.flush()
    return row


def notes_on(session: Session, exchange_id: int) -> Sequence[InboundMail]:
    """The automatic answers and delivery reports received about a mail ditbot sent."""
    return session.scalars(
        select(InboundMail)
        .where(InboundMail.answers_exchange_id == exchange_id)
        .order_by(InboundMail.received_at, InboundMail.id)
    ).all()


def attachments_of(session: Session, exchange_id: int) -> list[dict[str, Any]]:
    """The attachments of a received mail exchange (empty for any other exchange)."""
    row = session.scalar(select(InboundMail).where(InboundMail.exchange_id == exchange_id))
    return list(row.attachments) if row is not None else []


def unmatched(session: Session, inbound_id: int) -> InboundMail:
    """An unmatched mail still waiting for triage; NotFound or Conflict otherwise."""
    row = session.get(InboundMail, inbound_id)
    if row is None:
        raise NotFound(_("This mail is no longer kept."), "mail")
    if row.status != InboundStatus.UNMATCHED:
        raise Conflict(_("This mail was already attached to a DIT or dismissed."), "mail")
    return row


def facts_of(row: InboundMail) -> InboundFacts:
    return InboundFacts(
        key=row.key,
        message_id=row.message_id,
        from_address=row.from_address or "",
        from_name=row.from_name or "",
        subject=row.subject,
        sent_at=row.sent_at,
        text=row.text or "",
        attachments=list(row.attachments or []),
        raw_path=row.raw_path,
    )


def attach(
    session: Session,
    inbound_id: int,
    dit_number: str,
    actor: service.Actor,
    *,
    window_days: int,
    relance_after_hours: float,
    locale: str,
) -> InboundMail:
    """A collaborateur attaches an unmatched mail to a DIT: it becomes the client's exchange
    there, from the contact whose address it came from, else flagged as the DIT's contact."""
    if actor.collaborator is None:
        raise NotAllowed(_("Only a collaborator can attach a mail to a DIT."), "user")
    row = unmatched(session, inbound_id)
    dit = service.get_dit(session, dit_number)
    sender = next(
        (
            c
            for c in contacts_with_address(session, row.from_address or "")
            if c.client_id == dit.client_id
        ),
        None,
    )
    contact = sender or dit.contact
    if contact is None:
        raise Conflict(
            _("DIT {number} has no contact and {address} is not a contact of {client}."),
            "dit",
            number=dit.number,
            address=row.from_address or "?",
            client=dit.client.name,
        )
    recorded = record_reply(
        session,
        facts_of(row),
        dit,
        contact,
        unknown_sender=sender is None,
        window_days=window_days,
        relance_after_hours=relance_after_hours,
        locale=locale,
        now=row.received_at,
        existing=row,
    )
    recorded.handled_by_id = actor.collaborator.id
    recorded.handled_at = utcnow()
    return recorded


def dismiss(session: Session, inbound_id: int, actor: service.Actor) -> InboundMail:
    """A collaborateur sets an unmatched mail aside (spam, not for us): kept, never shown again."""
    if actor.collaborator is None:
        raise NotAllowed(_("Only a collaborator can dismiss a mail."), "user")
    row = unmatched(session, inbound_id)
    row.status = InboundStatus.DISMISSED
    row.handled_by_id = actor.collaborator.id
    row.handled_at = utcnow()
    session.flush()
    return row
