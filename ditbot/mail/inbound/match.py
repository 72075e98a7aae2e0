"""Which DIT a mail is about, in the order of issue 10:

1. `In-Reply-To`, then `References` (latest first), naming a mail ditbot sent or a mail it
   recorded: the client answered in the conversation;
2. a reply address whose signed token names a mail ditbot sent (the client's program dropped
   the threading headers, or the client wrote a new mail to the address);
3. a DIT number in the subject, only when the sender is a contact of that DIT's client: a
   number is easy to type or copy, so it is trusted only from someone who may write about it.

The sender is the contact whose Mail 1 or Mail 2 is the From address, among the contacts of the
DIT's client. When the mail came through the conversation or a token from an address not on
file (a colleague, a personal address), it is recorded as the contact the conversation was
with, flagged, and the address is written in the exchange.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ditbot.core.i18n import _, gettext
from ditbot.core.settings import Settings
from ditbot.domain.inbound import contacts_with_address, mail_ref, sent_mail_by_message_id
from ditbot.mail.inbound.parse import ParsedMail
from ditbot.mail.reply_address import exchange_named_by
from storage import repositories as repo
from storage.models import Contact, Dit, Exchange
from storage.vocabulary import Direction

BRACKETED = re.compile(r"\[\s*([^\[\]\s][^\[\]]{1,38}?)\s*\]")
NUMBER_LIKE = re.compile(r"\b([A-Za-z]{2,10}[-_ ]?\d[\w-]{1,30})\b")


@dataclass(frozen=True)
class Match:
    dit: Dit
    contact: Contact  # who wrote, or the contact of the conversation when unknown_sender
    unknown_sender: bool
    answers: int | None  # the exchange id of the mail ditbot sent that this one answers
    how: str  # "thread", "token" or "subject"


@dataclass(frozen=True)
class NoMatch:
    """Why no DIT was found: a catalog message, said in the company's language where the team
    reads it (the dispatch channel) and in English in the log."""

    message: str
    params: dict[str, str] = field(default_factory=dict)

    def reason(self, locale: str) -> str:
        return gettext(locale, self.message, **self.params)


def thread_ids(mail: ParsedMail) -> list[str]:
    """The Message-IDs this mail answers, the closest first."""
    seen: list[str] = []
    for message_id in [*mail.in_reply_to, *reversed(mail.references)]:
        if message_id not in seen and message_id != mail.message_id:
            seen.append(message_id)
    return seen


def answered_mail(session: Session, mail: ParsedMail, settings: Settings) -> Exchange | None:
    """The mail ditbot sent that `mail` answers (by thread, else by reply token)."""
    for message_id in thread_ids(mail):
        sent = sent_mail_by_message_id(session, message_id)
        if sent is not None:
            return sent
    exchange_id = exchange_named_by(settings, mail.recipients)
    if exchange_id is not None:
        named = repo.exchange_by_id(session, exchange_id)
        if named is not None and named.direction == Direction.SENT:
            return named
    return None


def find_dit(session: Session, mail: ParsedMail, settings: Settings) -> Match | NoMatch:
    for message_id in thread_ids(mail):
        ref = mail_ref(session, message_id)
        if ref is not None:
            dit = session.get(Dit, ref.dit_id)
            contact = session.get(Contact, ref.contact_id) if ref.contact_id else None
            if dit is not None:
                return _with_sender(session, mail, dit, contact, ref.sent_exchange_id, "thread")
    exchange_id = exchange_named_by(settings, mail.recipients)
    if exchange_id is not None:
        named = repo.exchange_by_id(session, exchange_id)
        if named is not None and named.direction == Direction.SENT:
            return _with_sender(
                session, mail, named.dit, named.received_by_contact, named.id, "token"
            )
    return _by_subject(session, mail)


def _with_sender(
    session: Session,
    mail: ParsedMail,
    dit: Dit,
    conversation_contact: Contact | None,
    answers: int | None,
    how: str,
) -> Match | NoMatch:
    for contact in contacts_with_address(session, mail.from_address):
        if contact.client_id == dit.client_id:
            return Match(dit, contact, False, answers, how)
    fallback = conversation_contact or dit.contact
    if fallback is None:
        return NoMatch(
            _(
                "answers a mail of {number}, but {address} is not a contact of {client} and "
                "the DIT has no contact"
            ),
            {"number": dit.number, "address": mail.from_address, "client": dit.client.name},
        )
    return Match(dit, fallback, True, answers, how)


def subject_numbers(subject: str) -> list[str]:
    """The words of a subject that may be a DIT number, bracketed ones first."""
    found: list[str] = []
    for candidate in [*BRACKETED.findall(subject), *NUMBER_LIKE.findall(subject)]:
        if candidate not in found:
            found.append(candidate)
    return found


def _by_subject(session: Session, mail: ParsedMail) -> Match | NoMatch:
    senders = contacts_with_address(session, mail.from_address)
    refused: NoMatch | None = None
    for number in subject_numbers(mail.subject):
        dit = repo.dit_by_number(session, number) or repo.dit_by_number(session, number.upper())
        if dit is None:
            continue
        for contact in senders:
            if contact.client_id == dit.client_id:
                return Match(dit, contact, False, None, "subject")
        refused = refused or NoMatch(
            _("the subject names {number}, but {address} is not a contact of {client}"),
            {"number": dit.number, "address": mail.from_address, "client": dit.client.name},
        )
    return refused or NoMatch(
        _("no DIT found: not an answer to a mail of ditbot, and no DIT number in the subject")
    )
