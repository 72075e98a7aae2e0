"""DITs, exchanges and reference data as the answers of `ditbot/web/schemas.py` (CONTRACT.md s. 5).

Call these inside the unit of work: they read the rows' relationships.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Response, jsonify
from pydantic import BaseModel

from ditbot.domain.exchanges import Indicators
from ditbot.web.schemas import (
    AttachmentOut,
    ClientOut,
    ClientRefOut,
    CollaboratorOut,
    ContactOut,
    DeletedOut,
    DitOut,
    ExchangeOut,
    IndicatorsOut,
    MailNoteOut,
    MailOut,
    PartyOut,
    TeamOut,
)
from storage.models import Client, Collaborator, Contact, Dit, Exchange, InboundMail, Team
from storage.vocabulary import InboundStatus, PartyKind, Source


def respond(answer: BaseModel, status: int = 200) -> tuple[Response, int]:
    """`answer` as the JSON body of a `status` response."""
    return jsonify(answer.model_dump(mode="json")), status


def party(collaborator: Collaborator | None, contact: Contact | None) -> PartyOut | None:
    if collaborator is not None:
        return PartyOut(kind=PartyKind.COLLABORATOR, code=collaborator.code, name=collaborator.name)
    if contact is not None:
        return PartyOut(kind=PartyKind.CONTACT, code=contact.code, name=contact.name)
    return None


def dit_out(dit: Dit) -> DitOut:
    indicators = Indicators.of(dit)
    return DitOut(
        number=dit.number,
        title=dit.title,
        state=dit.state,
        client=ClientRefOut(code=dit.client.code, name=dit.client.name),
        contact=party(None, dit.contact),
        technician=party(dit.technician, None),
        created_at=dit.created_at,
        updated_at=dit.updated_at,
        exchanges=IndicatorsOut.model_validate(indicators, from_attributes=True),
    )


def exchange_out(exchange: Exchange) -> ExchangeOut:
    mail = None
    if exchange.mail_status is not None:
        mail = MailOut(
            status=exchange.mail_status,
            attempts=exchange.mail_attempts,
            message_id=exchange.mail_message_id,
            error=exchange.mail_error,
        )
    deleted = None
    if exchange.deleted_at is not None:
        deleted = DeletedOut(
            at=exchange.deleted_at,
            by=exchange.deleted_by.code if exchange.deleted_by else None,
            reason=exchange.deleted_reason,
        )
    return ExchangeOut(
        id=exchange.id,
        dit=exchange.dit.number,
        direction=exchange.direction,
        type=exchange.type_code,
        sent_by=party(exchange.sent_by_collaborator, exchange.sent_by_contact),
        received_by=party(exchange.received_by_collaborator, exchange.received_by_contact),
        recipient_email=exchange.recipient_email,
        subject=exchange.subject,
        detail=exchange.detail,
        occurred_at=exchange.occurred_at,
        source=exchange.source,
        author=party(exchange.author_collaborator, exchange.author_contact),
        mail=mail,
        deleted=deleted,
        created_at=exchange.created_at,
        updated_at=exchange.updated_at,
        # only a client's mail has files, only a sent mail has notes: others cost no query
        attachments=_attachments(exchange.inbound_mail) if exchange.source == Source.MAIL else [],
        mail_notes=[_note(row) for row in exchange.mail_notes] if exchange.mail_status else [],
    )


def _attachments(mail: InboundMail | None) -> list[AttachmentOut]:
    if mail is None:
        return []
    return [
        AttachmentOut(
            filename=str(item.get("filename") or ""),
            content_type=str(item.get("content_type") or "application/octet-stream"),
            size=int(item.get("size") or 0),
        )
        for item in mail.attachments or []
    ]


def _note(row: InboundMail) -> MailNoteOut:
    bounce = row.status == InboundStatus.BOUNCE
    return MailNoteOut(
        kind="delivery_report" if bounce else "auto_reply",
        received_at=row.received_at,
        from_address=row.from_address,
        subject=row.subject,
        text=row.reason if bounce else (row.text or row.reason),
    )


def collaborator_out(collaborator: Collaborator) -> CollaboratorOut:
    out = CollaboratorOut.model_validate(
        {
            name: getattr(collaborator, name)
            for name in ("code", "name", "mail1", "mail2", "slack_user_id", "manager")
        }
    )
    return out.model_copy(update={"team": collaborator.team.code if collaborator.team else None})


def client_out(client: Client, contacts: Iterable[Contact]) -> ClientOut:
    return ClientOut(
        code=client.code,
        name=client.name,
        contacts=[ContactOut.model_validate(c, from_attributes=True) for c in contacts],
        team=client.team.code if client.team else None,
        first_response_hours=client.first_response_hours,
        next_response_hours=client.next_response_hours,
    )


def team_out(team: Team) -> TeamOut:
    return TeamOut.model_validate(team, from_attributes=True)


def dit_json(dit: Dit) -> dict[str, Any]:
    """The DIT as a JSON-ready dict (what GET /api/v1/dits/{number} answers)."""
    return dit_out(dit).model_dump(mode="json")


def exchange_json(exchange: Exchange) -> dict[str, Any]:
    """The exchange as a JSON-ready dict (one item of GET /api/v1/dits/{number}/exchanges)."""
    return exchange_out(exchange).model_dump(mode="json")
