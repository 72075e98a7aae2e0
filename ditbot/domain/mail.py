"""Send a mail to the client from a DIT (DOMAIN.md, "Mail").

The mail is recorded at once as a sent exchange of type `courriel` with mail status `queued`,
and its delivery is written to the outbox in the same transaction: the exchange and its
delivery exist together or not at all. The outbox worker of `ditbot.mail.worker` sends it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr

from sqlalchemy import select
from sqlalchemy.orm import Session

from ditbot.core.i18n import _
from ditbot.domain import drafts
from ditbot.domain.errors import Conflict, DomainError, NotAllowed, ValidationFailed
from ditbot.domain.exchanges import (
    Actor,
    ExchangeInput,
    Party,
    ensure_open,
    get_dit,
    get_exchange,
    log_exchange,
)
from ditbot.domain.validation import SUBJECT_MAX, clean_detail, clean_email, clean_subject
from storage import repositories as repo
from storage.models import Contact, Dit, Exchange, InboundMail
from storage.outbox import enqueue
from storage.outbox_payloads import MailDelivery, MailFailed
from storage.vocabulary import Direction, InboundStatus, MailStatus, PartyKind

MAIL_TYPE = "courriel"
# References of a long conversation: the first mail and the latest ones (RFC 5322 3.6.4 lets
# a client trim the middle; threading needs the root and the parent).
REFERENCES_KEPT = 20


@dataclass(frozen=True)
class MailInput:
    """What the user typed in the mail form; `to` is a Recipient.value or an e-mail address."""

    detail: str
    to: str | None = None
    subject: str | None = None


@dataclass(frozen=True)
class Recipient:
    """One address of one interlocuteur, as offered in the To list."""

    contact_code: str
    contact_name: str
    slot: int  # 1 = Mail 1, 2 = Mail 2
    email: str

    @property
    def value(self) -> str:
        """`<contact code>:<1|2>`: short (codes are at most 40 characters) and stable."""
        return f"{self.contact_code}:{self.slot}"


def recipients_of(session: Session, dit: Dit) -> list[Recipient]:
    """Every address of every interlocuteur of the DIT's client, the DIT's own first."""
    contacts = list(repo.contacts_of_client(session, dit.client_id))
    contacts.sort(key=lambda c: (c.id != dit.contact_id, c.name.lower()))
    found: list[Recipient] = []
    for contact in contacts:
        for slot, address in ((1, contact.mail1), (2, contact.mail2)):
            if address:
                found.append(Recipient(contact.code, contact.name, slot, address))
    return found


def default_recipient(dit: Dit) -> Recipient | None:
    """The DIT's interlocuteur: Mail 1, else Mail 2."""
    contact = dit.contact
    if contact is None:
        return None
    if contact.mail1:
        return Recipient(contact.code, contact.name, 1, contact.mail1)
    if contact.mail2:
        return Recipient(contact.code, contact.name, 2, contact.mail2)
    return None


def default_subject(dit: Dit) -> str:
    """`[<DIT number>] <DIT title>`, cut to the subject limit."""
    return f"[{dit.number}] {dit.title}"[:SUBJECT_MAX]


def resolve_recipient(session: Session, dit: Dit, value: str | None) -> Recipient:
    """The recipient named by `value` (None: the default); refuses anyone not of this client."""
    if value is None or not value.strip():
        chosen = default_recipient(dit)
        if chosen is None:
            raise DomainError(
                _("The DIT's contact has no e-mail address: choose a recipient."), "to"
            )
        return chosen
    value = value.strip()
    choices = recipients_of(session, dit)
    for choice in choices:
        if choice.value == value:
            return choice
    address = clean_email(value, "to") if "@" in value else None
    if address is not None:
        for choice in choices:
            if choice.email.lower() == address.lower():
                return choice
    raise DomainError(
        _("Choose the recipient among the contacts of {client}."),
        "to",
        client=dit.client.name,
    )


def check_can_send(mail_from: str | None) -> None:
    if not mail_from:
        raise Conflict(
            _("Sending mail is not set up: ask an administrator to set DITBOT_MAIL_FROM."),
            "mail",
        )


def send_mail(
    session: Session,
    dit_number: str,
    data: MailInput,
    actor: Actor,
    *,
    mail_from: str | None,
    external_key: str | None = None,
) -> tuple[Exchange, bool]:
    """Record the mail as a queued `courriel` exchange and enqueue its delivery.

    Returns (exchange, created). A repeated `external_key` (Slack delivering the same
    submission twice) returns the first exchange and enqueues nothing: one mail, ever.
    The author's draft for this DIT is removed in the same transaction.
    """
    if external_key is not None:
        existing = session.scalar(select(Exchange.id).where(Exchange.external_key == external_key))
        if existing is not None:
            return get_exchange(session, existing), False
    check_can_send(mail_from)
    if actor.collaborator is None:
        raise NotAllowed(_("Only a collaborator can send a mail from a DIT."), "user")
    dit = get_dit(session, dit_number)
    ensure_open(dit)
    errors: dict[str, DomainError] = {}
    recipient: Recipient | None = None
    subject: str | None = None
    detail = ""
    try:
        recipient = resolve_recipient(session, dit, data.to)
    except DomainError as error:
        errors["to"] = error
    try:
        subject = clean_subject(data.subject)
    except DomainError as error:
        errors["subject"] = error
    try:
        detail = clean_detail(data.detail)
    except DomainError as error:
        errors["detail"] = error
    if errors or recipient is None:
        raise ValidationFailed(errors)
    exchange, created = log_exchange(
        session,
        dit.number,
        ExchangeInput(
            direction=Direction.SENT,
            type_code=MAIL_TYPE,
            sent_by=Party(PartyKind.COLLABORATOR, actor.collaborator.code),
            received_by=Party(PartyKind.CONTACT, recipient.contact_code),
            recipient_email=recipient.email,
            subject=subject or default_subject(dit),
            detail=detail,
        ),
        actor,
        external_key=external_key,
        mail_status=MailStatus.QUEUED,
    )
    if created:
        # Fixed now, not at the first attempt: a second mail queued before the first went out
        # still names it in its References, and every attempt sends the same message.
        exchange.mail_message_id = new_message_id(mail_from, exchange.id)
        exchange.mail_references = " ".join(thread_before(session, exchange)) or None
        enqueue(session, MailDelivery(exchange_id=exchange.id, dit=dit.number))
        drafts.remove_for(session, actor.collaborator.id, dit.id)
    return exchange, created


def author_to_tell(exchange: Exchange) -> str | None:
    """The Slack user id of whoever should hear about this mail's failure."""
    for person in (exchange.author_collaborator, exchange.sent_by_collaborator):
        if person is not None and person.slack_user_id:
            return person.slack_user_id
    return None


def failure_notice(session: Session, exchange: Exchange) -> None:
    """Enqueue the DM that tells the author their mail was not delivered (same transaction)."""
    user = author_to_tell(exchange)
    if user is None:
        return
    enqueue(session, MailFailed(user=user, exchange_id=exchange.id))


def new_message_id(mail_from: str | None, exchange_id: int) -> str:
    """`<ditbot.<exchange id>.<random>@<sender domain>>`; the random part survives DB resets."""
    domain = parseaddr(mail_from or "")[1].rpartition("@")[2] or "localhost"
    return f"<ditbot.{exchange_id}.{secrets.token_hex(6)}@{domain}>"


def thread_before(session: Session, exchange: Exchange) -> list[str]:
    """The Message-IDs of the mails of `exchange`'s DIT with its contact before it, oldest first.

    Mails ditbot sent to that contact and the contact's mails that became exchanges: what the
    client's program holds of this conversation, so that `In-Reply-To` (the last one) and
    `References` thread the new mail with them.
    """
    contact: Contact | None = exchange.received_by_contact
    if contact is None:
        return []
    sent = session.execute(
        select(Exchange.occurred_at, Exchange.id, Exchange.mail_message_id).where(
            Exchange.dit_id == exchange.dit_id,
            Exchange.received_by_contact_id == contact.id,
            Exchange.mail_message_id.is_not(None),
            Exchange.deleted_at.is_(None),
            Exchange.id != exchange.id,
        )
    ).all()
    received = session.execute(
        select(InboundMail.received_at, InboundMail.id, InboundMail.message_id).where(
            InboundMail.dit_id == exchange.dit_id,
            InboundMail.contact_id == contact.id,
            InboundMail.status == InboundStatus.RECORDED,
            InboundMail.message_id.is_not(None),
        )
    ).all()
    timeline: list[tuple[datetime, int, str]] = [
        (when, row_id, message_id) for when, row_id, message_id in [*sent, *received] if message_id
    ]
    ids = [message_id for _, _, message_id in sorted(timeline)]
    if len(ids) > REFERENCES_KEPT:
        ids = ids[:1] + ids[-(REFERENCES_KEPT - 1) :]
    return ids
