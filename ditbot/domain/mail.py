"""Send a mail to the client from a DIT (DOMAIN.md, "Mail").

The mail is recorded at once as a sent exchange of type `courriel` with mail status `queued`,
and its delivery is written to the outbox in the same transaction: the exchange and its
delivery exist together or not at all. The outbox worker of `ditbot.mail.worker` sends it.
"""

from __future__ import annotations

from dataclasses import dataclass

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
from storage.models import Dit, Exchange
from storage.outbox import enqueue
from storage.vocabulary import Direction, MailStatus, OutboxKind, PartyKind

MAIL_TYPE = "courriel"


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
                _("The DIT's interlocuteur has no e-mail address: choose a recipient."), "to"
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
        _("Choose the recipient among the interlocuteurs of {client}."),
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
        raise NotAllowed(_("Only a collaborateur can send a mail from a DIT."), "user")
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
        enqueue(session, OutboxKind.MAIL, {"exchange_id": exchange.id, "dit": dit.number})
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
    enqueue(
        session,
        OutboxKind.SLACK_DM,
        {"reason": "mail_failed", "user": user, "exchange_id": exchange.id},
    )
