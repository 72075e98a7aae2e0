"""DITs and exchanges as JSON (CONTRACT.md section 5)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ditbot.domain.exchanges import Indicators
from storage.models import Collaborator, Contact, Dit, Exchange
from storage.vocabulary import PartyKind


def when(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z (whatever zone the value was given in)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def party(collaborator: Collaborator | None, contact: Contact | None) -> dict[str, str] | None:
    if collaborator is not None:
        return {
            "kind": PartyKind.COLLABORATOR,
            "code": collaborator.code,
            "name": collaborator.name,
        }
    if contact is not None:
        return {"kind": PartyKind.CONTACT, "code": contact.code, "name": contact.name}
    return None


def dit_json(dit: Dit) -> dict[str, Any]:
    indicators = Indicators.of(dit)
    return {
        "number": dit.number,
        "title": dit.title,
        "state": dit.state,
        "client": {"code": dit.client.code, "name": dit.client.name},
        "contact": party(None, dit.contact),
        "technician": party(dit.technician, None),
        "created_at": when(dit.created_at),
        "updated_at": when(dit.updated_at),
        "exchanges": {
            "count": indicators.count,
            "relance": indicators.relance,
            "last_direction": indicators.last_direction,
            "last_is_relance": indicators.last_is_relance,
        },
    }


def exchange_json(exchange: Exchange) -> dict[str, Any]:
    mail = None
    if exchange.mail_status is not None:
        mail = {
            "status": exchange.mail_status,
            "attempts": exchange.mail_attempts,
            "message_id": exchange.mail_message_id,
            "error": exchange.mail_error,
        }
    deleted = None
    if exchange.deleted_at is not None:
        deleted = {
            "at": when(exchange.deleted_at),
            "by": exchange.deleted_by.code if exchange.deleted_by else None,
            "reason": exchange.deleted_reason,
        }
    return {
        "id": exchange.id,
        "dit": exchange.dit.number,
        "direction": exchange.direction,
        "type": exchange.type_code,
        "sent_by": party(exchange.sent_by_collaborator, exchange.sent_by_contact),
        "received_by": party(exchange.received_by_collaborator, exchange.received_by_contact),
        "recipient_email": exchange.recipient_email,
        "subject": exchange.subject,
        "detail": exchange.detail,
        "occurred_at": when(exchange.occurred_at),
        "source": exchange.source,
        "author": party(exchange.author_collaborator, exchange.author_contact),
        "mail": mail,
        "deleted": deleted,
        "created_at": when(exchange.created_at),
        "updated_at": when(exchange.updated_at),
    }
