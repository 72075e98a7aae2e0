"""Reference data for tests, loaded through the same import path users use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ditbot.domain.reference import import_data
from storage.models import OutboxItem

REFERENCE: dict[str, Any] = {
    "collaborators": [
        {
            "code": "JDU",
            "name": "Jeanne Dupuis",
            "mail1": "j.dupuis@sav.example",
            "slack_user_id": "UJDU",
        },
        {
            "code": "MLE",
            "name": "Marc Lefèvre",
            "mail1": None,
            "mail2": "marc@sav.example",
            "slack_user_id": "UMLE",
        },
        {
            "code": "SBE",
            "name": "Sophie Bernard",
            "mail1": "s.bernard@sav.example",
            "slack_user_id": "USBE",
            "manager": True,
        },
        {"code": "NEW", "name": "Nora Nouvelle", "mail1": "nora@sav.example"},
    ],
    "clients": [
        {
            "code": "ACME",
            "name": "Acme SA",
            "contacts": [
                {
                    "code": "ACME-PM",
                    "name": "Paul Martin",
                    "mail1": "p.martin@acme.example",
                    "mail2": "paul@acme.example",
                },
                {
                    "code": "ACME-CL",
                    "name": "Claire Lambert",
                    "mail1": None,
                    "mail2": "claire@acme.example",
                },
            ],
        },
        {
            "code": "BOUL",
            "name": "Boulangerie Léon",
            "contacts": [
                {"code": "BOUL-LL", "name": "Léon Lemaire", "mail1": "leon@boulangerie.example"},
                {"code": "BOUL-AG", "name": "Agnès Giraud", "mail1": "agnes@boulangerie.example"},
            ],
        },
    ],
    "dits": [
        {
            "number": "DIT-2026-0001",
            "client": "ACME",
            "contact": "ACME-PM",
            "title": "Copieur en panne",
            "state": "en_cours",
            "technician": "JDU",
            "created_at": "2026-11-20T08:00:00Z",
        },
        {
            "number": "DIT-2026-0002",
            "client": "ACME",
            "contact": "ACME-CL",
            "title": "Bourrage papier",
            "state": "saisie_externe",
            "technician": "MLE",
            "created_at": "2026-11-21T08:00:00Z",
        },
        {
            "number": "DIT-2026-0003",
            "client": "BOUL",
            "contact": "BOUL-LL",
            "title": "Chambre froide à 9 °C",
            "state": "en_cours",
            "technician": "MLE",
            "created_at": "2026-11-22T08:00:00Z",
        },
        {
            "number": "DIT-2026-0004",
            "client": "BOUL",
            "contact": "BOUL-AG",
            "title": "Four réparé",
            "state": "cloturee",
            "technician": "JDU",
            "created_at": "2026-11-01T08:00:00Z",
        },
        {
            "number": "DIT-2026-0005",
            "client": "ACME",
            "contact": "ACME-PM",
            "title": "Annulée",
            "state": "annulee",
            "technician": "JDU",
            "created_at": "2026-11-02T08:00:00Z",
        },
    ],
}


def seed_reference(session: Session) -> dict[str, Any]:
    import_data(session, REFERENCE)
    return REFERENCE


def raw_outbox_row(session: Session, kind: str, payload: Any, *, lane: str | None = None) -> int:
    """An outbox row with this JSON exactly, as an earlier ditbot (or a bug) wrote it."""
    return session.execute(
        insert(OutboxItem)
        .values(kind=kind, lane=lane, payload=payload, status="pending")
        .returning(OutboxItem.id)
    ).scalar_one()
