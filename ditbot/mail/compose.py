"""Turn a queued mail exchange into the RFC 5322 message that goes to the SMTP server.

The message is rebuilt identically on every attempt: its Date is when the user clicked Send,
its Message-ID is stored on the exchange at the first attempt, and the portal link's expiry
counts from the Send too. A retry therefore hands the server the same mail, which lets the
receiving side deduplicate it if a previous attempt did get through.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime, parseaddr

from ditbot.core.i18n import normalize_locale
from ditbot.core.settings import Settings
from ditbot.domain import mail as domain_mail
from ditbot.mail.render import MailContext, RenderedMail, render
from ditbot.mail.reply_address import reply_address
from ditbot.portal.tokens import portal_url
from storage.models import Collaborator, Contact, Exchange


@dataclass(frozen=True)
class Outgoing:
    """A built message and its SMTP envelope."""

    message: EmailMessage
    envelope_from: str
    recipients: list[str]


def sender_address(settings: Settings) -> tuple[str, str]:
    """(display name, address) of DITBOT_MAIL_FROM."""
    if not settings.mail_from:
        raise ValueError("DITBOT_MAIL_FROM is not set")
    name, address = parseaddr(settings.mail_from)
    return name, address


def new_message_id(settings: Settings, exchange_id: int) -> str:
    """A new Message-ID for a mail queued before they were fixed at queue time."""
    sender_address(settings)  # refuses an unset DITBOT_MAIL_FROM
    return domain_mail.new_message_id(settings.mail_from, exchange_id)


def mail_locale(settings: Settings, author: Collaborator | None) -> str:
    """Mails are written in the author's language (their Slack locale), else the default."""
    return normalize_locale(author.locale if author else None, settings.locale)


def portal_link(settings: Settings, exchange: Exchange, contact: Contact | None) -> str | None:
    """The client's portal link, valid `portal_link_days` from the Send; None without a secret."""
    if contact is None or not settings.portal_secret:
        return None
    return portal_url(settings, exchange.dit.number, contact.code, now=exchange.occurred_at)


def context_of(settings: Settings, exchange: Exchange) -> MailContext:
    """The template variables for one mail exchange."""
    author = exchange.sent_by_collaborator or exchange.author_collaborator
    contact = exchange.received_by_contact
    company, _ = sender_address(settings)
    return MailContext(
        subject=exchange.subject or f"[{exchange.dit.number}] {exchange.dit.title}",
        message=exchange.detail,
        dit_number=exchange.dit.number,
        dit_title=exchange.dit.title,
        contact_name=contact.name if contact else None,
        sender_name=author.name if author else company,
        sender_email=(author.mail1 or author.mail2) if author else None,
        company=company or None,
        portal_url=portal_link(settings, exchange, contact),
    )


def build(settings: Settings, exchange: Exchange, message_id: str) -> Outgoing:
    """The multipart (text + HTML) message of a queued mail exchange."""
    context = context_of(settings, exchange)
    author = exchange.sent_by_collaborator or exchange.author_collaborator
    rendered: RenderedMail = render(
        context, mail_locale(settings, author), settings.mail_templates_dir
    )
    _, from_address = sender_address(settings)
    recipient = exchange.recipient_email or ""
    contact = exchange.received_by_contact
    message = EmailMessage()
    message["From"] = _address(context.sender_name, from_address)
    message["To"] = _address(contact.name if contact else "", recipient)
    answer_to = reply_to(settings, exchange, from_address, context.sender_email)
    if answer_to is not None:
        message["Reply-To"] = _address(context.sender_name, answer_to)
    message["Subject"] = one_line(context.subject)
    message["Date"] = format_datetime(exchange.occurred_at)
    message["Message-ID"] = message_id
    references = (exchange.mail_references or "").split()
    if references:
        message["In-Reply-To"] = references[-1]
        message["References"] = " ".join(references)
    message["X-Ditbot-Dit"] = exchange.dit.number
    message.set_content(rendered.text, charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    for part in message.iter_parts():
        _protect_from_lines(part)
    return Outgoing(message=message, envelope_from=from_address, recipients=[recipient])


def reply_to(
    settings: Settings, exchange: Exchange, from_address: str, author_email: str | None
) -> str | None:
    """Where the client's answer goes; None: to the sender address itself.

    With DITBOT_MAIL_REPLY_TO, the signed reply address of this mail: the answer comes back
    into the DIT. The technician is neither in Cc nor the Reply-To: their name is the From's
    display name, and the answer reaches them in the DIT's Slack thread; a copy in their own
    mailbox would split the conversation (a "reply all" reaches them outside the DIT), and a
    Reply-To at a freemail address with a company From is scored as forged by spam filters
    (SpamAssassin's FREEMAIL_FORGED_REPLYTO).
    Without it, the author's own address when it is of the sender's domain (their colleague's
    mailbox, as before), else nothing.
    """
    token_address = reply_address(settings, exchange.id)
    if token_address is not None:
        return token_address
    if not author_email or author_email.lower() == from_address.lower():
        return None
    same_domain = author_email.rpartition("@")[2].lower() == from_address.rpartition("@")[2].lower()
    return author_email if same_domain else None


def _protect_from_lines(part: MIMEPart) -> None:
    """Write a body line starting with "From " as "=46rom " (quoted-printable for the same
    text, RFC 2049 section 3): a server that stores mail in mbox files then has nothing to
    mangle, and the client reads "From " as written."""
    payload = part.get_payload()
    if isinstance(payload, str) and "From " in payload:
        lines = payload.split("\n")
        part.set_payload(
            "\n".join("=46" + line[1:] if line.startswith("From ") else line for line in lines)
        )


def one_line(text: str) -> str:
    """Header text on one line: a newline (a DIT title or name from an import) would make the
    email package refuse the message, and every retry of the mail would fail the same way."""
    return " ".join(text.split())


def _address(name: str, address: str) -> Address:
    local, _, domain = address.rpartition("@")
    return Address(display_name=one_line(name), username=local, domain=domain)
