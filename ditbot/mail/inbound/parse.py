"""Read one raw RFC 5322 message into what ditbot needs of it.

French mail comes in UTF-8, ISO-8859-1/15 and Windows-1252 (Outlook often declares
ISO-8859-1 and writes Windows-1252: "€" and "œ" live only there), quoted-printable or base64,
with headers in RFC 2047 words and attachment names in RFC 2231. A part whose declared charset
is wrong or unknown is read as UTF-8 when it is valid UTF-8, else as Windows-1252: a letter may
be wrong, the message is never refused for it.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from ditbot.mail.inbound.strip import html_to_text, new_text

LATIN = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii", "cp819"}
# Signature logos: small inline images named by a Content-ID in the HTML.
INLINE_LOGO_MAX = 16 * 1024
MESSAGE_ID = re.compile(r"<[^<>\s]+>")


class NotAMail(ValueError):
    """The input is not a mail ditbot can read; `reason` says why (for the MTA's bounce)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMail:
    """What the pipeline uses of a message; `message` is the parsed message itself."""

    message: Message
    key: str
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    from_name: str
    from_address: str
    recipients: list[str]
    subject: str
    sent_at: datetime | None
    body: str  # the whole text (HTML turned into text), quotes included
    text: str  # the new text only
    attachments: list[Attachment] = field(default_factory=list)


def parse(raw: bytes) -> ParsedMail:
    """The mail in `raw`; NotAMail when it has no headers or no sender."""
    if not raw.strip():
        raise NotAMail("empty message")
    head = raw.lstrip()[:2000]
    if not re.match(rb"^[!-9;-~]+:", head):
        raise NotAMail("no header fields: this is not an RFC 5322 message")
    # compat32: the "default" policy's header objects cost ten times more, for nothing here.
    message = message_from_bytes(raw)
    from_name, from_address = _sender(message)
    if not from_address:
        raise NotAMail("no sender address in From")
    message_id = _first_id(_header(message, "Message-ID"))
    body = _body_text(message)
    return ParsedMail(
        message=message,
        key=f"mid:{message_id}" if message_id else f"sha256:{hashlib.sha256(raw).hexdigest()}",
        message_id=message_id,
        in_reply_to=_ids(_header(message, "In-Reply-To")),
        references=_ids(_header(message, "References")),
        from_name=from_name,
        from_address=from_address,
        recipients=recipients_of(message),
        subject=" ".join(_header(message, "Subject").split()),
        sent_at=_date(message),
        body=body,
        text=new_text(body),
        attachments=attachments_of(message),
    )


def _header(message: Message, name: str) -> str:
    """A header as text, RFC 2047 words decoded; a malformed one as its raw text."""
    value = message.get(name)
    return "" if value is None else decoded(value)


def decoded(value: object) -> str:
    """RFC 2047 encoded words (`=?utf-8?q?...?=`) decoded; unknown charsets read leniently."""
    text = str(value)
    if any("\udc80" <= char <= "\udcff" for char in text):
        # Raw 8-bit bytes in a header (not RFC 2047): the parser kept them as surrogates.
        text = _utf8_else_windows(text.encode("utf-8", "surrogateescape"))
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except (HeaderParseError, LookupError, UnicodeDecodeError, ValueError):
        parts = []
        for chunk, _charset in decode_header(text):
            if isinstance(chunk, bytes):
                parts.append(_utf8_else_windows(chunk))
            else:
                parts.append(chunk)
        return "".join(parts)


def _sender(message: Message) -> tuple[str, str]:
    name, address = parseaddr(_header(message, "From"))
    if "@" not in address:
        name, address = parseaddr(_header(message, "Sender"))
    if "@" not in address:
        return "", ""
    return " ".join(name.split()), address.strip()


def _first_id(value: str) -> str | None:
    found = MESSAGE_ID.findall(value)
    return found[0][:300] if found else None


def _ids(value: str) -> list[str]:
    return [found[:300] for found in MESSAGE_ID.findall(value)]


def recipients_of(message: Message) -> list[str]:
    """Every address the mail was sent to, the envelope's first (where MTAs record it)."""
    names = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To", "Cc")
    values: list[str] = []
    for name in names:
        for value in message.get_all(name) or []:
            values.append(decoded(value))
    return [address for _, address in getaddresses(values) if "@" in address]


def _date(message: Message) -> datetime | None:
    value = _header(message, "Date")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def decode(part: Message) -> str:
    """The text of a text/* part, whatever its charset and transfer encoding claim."""
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    charset = (part.get_content_charset() or "").strip().lower()
    if charset in ("utf-8", "utf8"):
        return _utf8_else_windows(data)
    if not charset or charset in LATIN or charset in ("windows-1252", "cp1252"):
        # Undeclared, ASCII or Latin-1: Outlook's "ISO-8859-1" is really Windows-1252, and a
        # mail with no charset is nowadays UTF-8 more often than not.
        return _utf8_else_windows(data) if charset in ("", "us-ascii", "ascii") else _windows(data)
    try:
        codecs.lookup(charset)
    except LookupError:
        return _utf8_else_windows(data)
    return data.decode(charset, "replace")


def _utf8_else_windows(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _windows(data)


def _windows(data: bytes) -> str:
    return data.decode("cp1252", "replace")


def _body_text(message: Message) -> str:
    """The readable text: the text/plain alternative, else the HTML one turned into text."""
    plain: list[str] = []
    markup: list[str] = []
    for part in _leaves(message):
        if _is_attachment(part):
            continue
        kind = part.get_content_type()
        if kind == "text/plain":
            plain.append(decode(part))
        elif kind == "text/html":
            markup.append(decode(part))
    if plain and any(text.strip() for text in plain):
        return "\n\n".join(text.strip("\n") for text in plain)
    return "\n\n".join(html_to_text(text) for text in markup).strip()


def _leaves(message: Message) -> list[Message]:
    """The parts that are not containers, not descending into attached messages (message/*
    parts, which the email package also calls multipart)."""
    if message.is_multipart() and message.get_content_maintype() == "multipart":
        found: list[Message] = []
        payload = message.get_payload()
        for part in payload if isinstance(payload, list) else []:
            if isinstance(part, Message):
                found.extend(_leaves(part))
        return found
    return [message]


REPORT_PARTS = (
    "message/delivery-status",
    "text/rfc822-headers",
    "message/disposition-notification",
)


def _is_attachment(part: Message) -> bool:
    """A file the sender attached (the body's text and HTML, and report parts, are not)."""
    kind = part.get_content_type()
    if (part.get_content_disposition() or "").lower() == "attachment":
        return kind not in REPORT_PARTS
    return kind not in ("text/plain", "text/html") and kind not in REPORT_PARTS


def attachments_of(message: Message) -> list[Attachment]:
    """The attached files (attached mails as .eml), without the signature logos."""
    found: list[Attachment] = []
    for part in _leaves(message):
        if not _is_attachment(part):
            continue
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            attached = inner[0] if isinstance(inner, list) and inner else None
            data = attached.as_bytes() if isinstance(attached, Message) else b""
            name = decoded(part.get_filename() or "message.eml")
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            name = decoded(part.get_filename() or "")
        if part.get("Content-ID") and kind.startswith("image/") and len(data) <= INLINE_LOGO_MAX:
            continue
        found.append(Attachment(filename=name or "piece-jointe", content_type=kind, data=data))
    return found
