"""A small, realistic demo data set: three clients, staff, a dozen DITs with exchanges."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from ditbot.domain.exchanges import Actor, ExchangeInput, Party, log_exchange
from ditbot.domain.reference import Summary, import_data
from storage import repositories as repo
from storage.types import utcnow
from storage.vocabulary import Direction, DitState, PartyKind, Source

STAFF: list[dict[str, Any]] = [
    {"code": "JDU", "name": "Jeanne Dupuis", "mail1": "j.dupuis@sav.example", "mail2": None},
    {
        "code": "MLE",
        "name": "Marc Lefèvre",
        "mail1": "m.lefevre@sav.example",
        "mail2": "marc.lefevre@gmail.example",
    },
    {
        "code": "SBE",
        "name": "Sophie Bernard",
        "mail1": "s.bernard@sav.example",
        "mail2": None,
        "manager": True,
    },
    {"code": "DIS", "name": "Dispatch SAV", "mail1": "dispatch@sav.example", "mail2": None},
]
CLIENTS = [
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
                "mail2": "claire.lambert@acme.example",
            },
        ],
    },
    {
        "code": "BOULANGE",
        "name": "Boulangerie Léon",
        "contacts": [
            {
                "code": "BOUL-LL",
                "name": "Léon Lemaire",
                "mail1": "leon@boulangerie-leon.example",
                "mail2": None,
            },
            {
                "code": "BOUL-AG",
                "name": "Agnès Giraud",
                "mail1": "agnes@boulangerie-leon.example",
                "mail2": "a.giraud@mail.example",
            },
        ],
    },
    {
        "code": "HOPSUD",
        "name": "Clinique du Sud",
        "contacts": [
            {
                "code": "HOP-TR",
                "name": "Thomas Roux",
                "mail1": "t.roux@clinique-sud.example",
                "mail2": None,
            },
            {
                "code": "HOP-ND",
                "name": "Nadia Dubois",
                "mail1": "n.dubois@clinique-sud.example",
                "mail2": "secretariat@clinique-sud.example",
            },
        ],
    },
]
DITS = [
    ("DIT-2026-0001", "ACME", "ACME-PM", "Copieur en panne au 2e étage", DitState.EN_COURS, "JDU"),
    (
        "DIT-2026-0002",
        "ACME",
        "ACME-CL",
        "Bourrage papier récurrent",
        DitState.SAISIE_EXTERNE,
        "MLE",
    ),
    ("DIT-2026-0003", "BOULANGE", "BOUL-LL", "Chambre froide à 9 °C", DitState.EN_COURS, "MLE"),
    (
        "DIT-2026-0004",
        "BOULANGE",
        "BOUL-AG",
        "Entretien annuel climatisation",
        DitState.TRAVAIL_TERMINE,
        "JDU",
    ),
    ("DIT-2026-0005", "HOPSUD", "HOP-TR", "Ascenseur B bloqué au 3e", DitState.EN_COURS, "JDU"),
    (
        "DIT-2026-0006",
        "HOPSUD",
        "HOP-ND",
        "Ligne téléphonique du standard coupée",
        DitState.EN_COURS,
        "MLE",
    ),
    (
        "DIT-2026-0007",
        "ACME",
        "ACME-PM",
        "Installation d'un nouveau copieur",
        DitState.CLOTUREE,
        "JDU",
    ),
    (
        "DIT-2026-0008",
        "HOPSUD",
        "HOP-TR",
        "Bruit anormal ventilation bloc opératoire",
        DitState.TRAVAIL_NON_TERMINE,
        "MLE",
    ),
    (
        "DIT-2026-0009",
        "BOULANGE",
        "BOUL-LL",
        "Four : thermostat défaillant",
        DitState.ANNULEE,
        None,
    ),
    ("DIT-2026-0010", "ACME", "ACME-CL", "Scanner réseau introuvable", DitState.EN_COURS, "JDU"),
    (
        "DIT-2026-0011",
        "HOPSUD",
        "HOP-ND",
        "Contrat de maintenance ascenseurs 2027",
        DitState.SAISIE_EXTERNE,
        None,
    ),
    (
        "DIT-2026-0012",
        "BOULANGE",
        "BOUL-AG",
        "Climatisation du fournil en panne",
        DitState.EN_COURS,
        "MLE",
    ),
]
# (dit, hours ago, direction, type, from, to, subject, detail)
EXCHANGES = [
    (
        "DIT-2026-0001",
        50,
        Direction.RECEIVED,
        "appel",
        "ACME-PM",
        "JDU",
        None,
        "Le copieur affiche l'erreur E-503 depuis ce matin.",
    ),
    (
        "DIT-2026-0001",
        48,
        Direction.SENT,
        "rdv",
        "JDU",
        "ACME-PM",
        "Passage technicien",
        "Passage prévu demain entre 9 h et 11 h.",
    ),
    (
        "DIT-2026-0001",
        26,
        Direction.RECEIVED,
        "relance",
        "ACME-PM",
        "JDU",
        None,
        "Personne n'est venu ce matin, pouvez-vous confirmer le passage ?",
    ),
    (
        "DIT-2026-0003",
        30,
        Direction.RECEIVED,
        "appel",
        "BOUL-LL",
        "MLE",
        None,
        "La chambre froide est montée à 9 °C pendant la nuit, marchandise à risque.",
    ),
    (
        "DIT-2026-0003",
        29,
        Direction.SENT,
        "appel",
        "MLE",
        "BOUL-LL",
        None,
        "Conseil : fermer la porte et transférer les produits sensibles ; arrivée dans 2 h.",
    ),
    (
        "DIT-2026-0004",
        200,
        Direction.SENT,
        "courriel",
        "JDU",
        "BOUL-AG",
        "Compte rendu d'entretien",
        "Entretien annuel réalisé, filtres remplacés.",
    ),
    (
        "DIT-2026-0005",
        5,
        Direction.RECEIVED,
        "appel",
        "HOP-TR",
        "JDU",
        None,
        "Ascenseur B bloqué au 3e étage, personne à l'intérieur.",
    ),
    (
        "DIT-2026-0006",
        72,
        Direction.RECEIVED,
        "complement",
        "HOP-ND",
        "MLE",
        "Numéro de ligne",
        "La ligne concernée est le 04 00 00 00 01.",
    ),
    (
        "DIT-2026-0006",
        20,
        Direction.RECEIVED,
        "relance",
        "HOP-ND",
        "MLE",
        None,
        "Toujours pas de tonalité au standard, c'est urgent.",
    ),
    (
        "DIT-2026-0008",
        96,
        Direction.SENT,
        "rdv",
        "MLE",
        "HOP-TR",
        None,
        "Intervention programmée lundi 7 h, avant le premier bloc.",
    ),
    (
        "DIT-2026-0010",
        3,
        Direction.RECEIVED,
        "courriel",
        "ACME-CL",
        "JDU",
        "Scanner",
        "Le scanner n'apparaît plus dans la liste des imprimantes.",
    ),
    (
        "DIT-2026-0012",
        10,
        Direction.RECEIVED,
        "appel",
        "BOUL-AG",
        "MLE",
        None,
        "La clim du fournil souffle de l'air chaud.",
    ),
    (
        "DIT-2026-0012",
        9,
        Direction.SENT,
        "autre",
        "MLE",
        "BOUL-AG",
        None,
        "Pièce commandée, livraison sous 48 h.",
    ),
]


def demo_file(slack_user_id: str | None = None) -> dict[str, Any]:
    """The demo set in the import shape; `slack_user_id` links Jeanne Dupuis to your Slack user."""
    staff: list[dict[str, Any]] = [{**member} for member in STAFF]
    if slack_user_id:
        staff[0]["slack_user_id"] = slack_user_id
    now = utcnow()
    return {
        "collaborators": staff,
        "clients": CLIENTS,
        "dits": [
            {
                "number": n,
                "client": c,
                "contact": ct,
                "title": t,
                "state": s,
                "technician": tech,
                "created_at": (now - timedelta(days=12 - i)).isoformat(),
            }
            for i, (n, c, ct, t, s, tech) in enumerate(DITS)
        ],
    }


def load_demo(session: Session, slack_user_id: str | None = None) -> Summary:
    """Load the demo set (again: references are upserted, exchanges only added once).

    The demo exchanges are all on open DITs, so loading twice changes nothing (no DIT is
    reopened and closed again on the way).
    """
    data = demo_file(slack_user_id)
    technician = repo.collaborator_by_code(session, data["collaborators"][0]["code"])
    if technician is not None and not slack_user_id:
        data["collaborators"][0]["slack_user_id"] = technician.slack_user_id  # keep the link
    for dit in data["dits"]:
        if repo.dit_by_number(session, dit["number"]) is not None:
            del dit["created_at"]  # the dates are relative to the first load
    summary = import_data(session, data)
    now = utcnow()
    for index, (number, hours, direction, kind, sender, receiver, subject, detail) in enumerate(
        EXCHANGES
    ):
        sender_kind = (
            PartyKind.CONTACT if direction == Direction.RECEIVED else PartyKind.COLLABORATOR
        )
        receiver_kind = (
            PartyKind.COLLABORATOR if direction == Direction.RECEIVED else PartyKind.CONTACT
        )
        author = repo.collaborator_by_code(
            session, receiver if direction == Direction.RECEIVED else sender
        )
        log_exchange(
            session,
            number,
            ExchangeInput(
                direction=direction,
                detail=detail,
                type_code=kind,
                sent_by=Party(sender_kind, sender),
                received_by=Party(receiver_kind, receiver),
                subject=subject,
                occurred_at=now - timedelta(hours=hours),
            ),
            Actor(source=Source.SLACK, collaborator=author),
            external_key=f"demo:{index}",
        )
    return summary
