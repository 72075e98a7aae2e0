"""Mail that is not someone writing: automatic answers and delivery status notifications.

An automatic answer (RFC 3834 `Auto-Submitted`, the `X-Autoreply`/`X-Autorespond` headers of
older responders, `Precedence: auto_reply/bulk/list/junk`, a list's `List-Id`, or the subject
French and English out-of-office replies carry) never becomes the client speaking. A delivery
status notification (RFC 3464: `multipart/report; report-type=delivery-status`) names the mail
that could not be delivered and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message

AUTO_PRECEDENCE = {"auto_reply", "bulk", "list", "junk"}
# Subjects of out-of-office answers (Outlook, Exchange, Gmail, Thunderbird, OVH, Zimbra).
AUTO_SUBJECT = re.compile(
    r"^\s*\[?(?:automatic reply|auto[- ]?reply|auto[- ]?response|autoreply|out of (?:the )?office"
    r"|r[ée]ponse automatique|r[ée]ponse en votre absence|absence du bureau|message d'absence"
    r"|hors du bureau|absent(?:e)?\s*:|auto\s*:)",
    re.IGNORECASE,
)
MESSAGE_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class Bounce:
    """A mail that could not be delivered: the Message-ID it had, to whom, and why."""

    original_message_id: str | None
    recipient: str | None
    reason: str
    final: bool  # "failed"; False for "delayed" (the server is still trying)


def auto_reply_reason(message: Message, subject: str) -> str | None:
    """Why `message` is an automatic answer (the header or subject that says so), or None."""
    submitted = str(message.get("Auto-Submitted") or "").strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if message.get(name) is not None:
            return f"{name}: {str(message.get(name)).strip()}"
    precedence = str(message.get("Precedence") or "").strip().lower()
    if precedence in AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    if message.get("List-Id") is not None:
        return f"List-Id: {str(message.get('List-Id')).strip()}"
    if AUTO_SUBJECT.match(subject):
        return f"Subject: {subject}"
    return None


def bounce_of(message: Message) -> Bounce | None:
    """The delivery failure `message` reports (RFC 3464), or None when it is no such report."""
    if message.get_content_type() != "multipart/report":
        return None
    if str(message.get_param("report-type") or "").lower() != "delivery-status":
        return None
    status: Message | None = None
    original: Message | None = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status" and status is None:
            status = part
        elif kind in ("message/rfc822", "text/rfc822-headers") and original is None:
            original = _original_headers(part)
    fields = _recipient_fields(status) if status is not None else {}
    action = fields.get("action", "failed").lower()
    code = fields.get("status", "")
    diagnostic = " ".join(fields.get("diagnostic-code", "").split())
    if diagnostic.lower().startswith("smtp;"):
        diagnostic = diagnostic[5:].strip()
    recipient = fields.get("final-recipient") or fields.get("original-recipient")
    if recipient and ";" in recipient:
        recipient = recipient.split(";", 1)[1].strip()
    reason = diagnostic or (f"status {code}" if code else "the mail could not be delivered")
    if code and code not in reason:
        reason = f"{reason} (status {code})"
    original_id = None
    if original is not None:
        found = MESSAGE_ID.findall(str(original.get("Message-ID") or ""))
        original_id = found[0] if found else None
    return Bounce(
        original_message_id=original_id,
        recipient=recipient,
        reason=reason[:1000],
        final=action not in ("delayed", "relayed", "delivered", "expanded"),
    )


def _recipient_fields(status: Message) -> dict[str, str]:
    """The fields of the first per-recipient block of a message/delivery-status part."""
    blocks = status.get_payload()
    if isinstance(blocks, list):
        for block in blocks[1:] or blocks:  # the first block is per-message
            if isinstance(block, Message) and (block.get("Action") or block.get("Status")):
                return {name.lower(): str(value) for name, value in block.items()}
        return {}
    # Not parsed into blocks (a malformed report): read "Name: value" lines.
    text = str(blocks or "")
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() not in fields:
            fields[name.strip().lower()] = value.strip()
    return fields


def _original_headers(part: Message) -> Message | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    if isinstance(payload, str):
        return message_from_bytes(payload.encode("utf-8", "surrogateescape"))
    return None
