"""The send-mail service: defaults, recipients, refusals, one transaction with the outbox."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from ditbot.domain.errors import Conflict, ValidationFailed
from ditbot.domain.exchanges import Actor, get_dit
from ditbot.domain.mail import MailInput, default_recipient, resolve_recipient, send_mail
from storage import repositories as repo
from storage.db import Database
from storage.models import Exchange, OutboxItem


def actor(session: Any, code: str = "JDU") -> Actor:
    return Actor(source="slack", collaborator=repo.collaborator_by_code(session, code))


def test_default_recipient_is_mail_1_else_mail_2(db: Database, seeded: Any) -> None:
    with db.session() as session:
        paul = default_recipient(get_dit(session, "DIT-2026-0001"))
        claire = default_recipient(get_dit(session, "DIT-2026-0002"))
        assert paul is not None and (paul.value, paul.email) == (
            "ACME-PM:1",
            "p.martin@acme.example",
        )
        assert claire is not None and (claire.value, claire.email) == (
            "ACME-CL:2",
            "claire@acme.example",
        )
        # An address typed as such is matched to the interlocuteur who has it.
        dit = get_dit(session, "DIT-2026-0001")
        assert resolve_recipient(session, dit, "PAUL@acme.example").value == "ACME-PM:2"


def test_defaults_and_the_outbox_item_come_with_the_exchange(db: Database, seeded: Any) -> None:
    with db.session() as session:
        exchange, created = send_mail(
            session,
            "DIT-2026-0002",
            MailInput(detail="Bonjour"),
            actor(session),
            mail_from="DIT <sav@sav.example>",
        )
        assert created
        exchange_id = exchange.id
    with db.session() as session:
        stored = session.get(Exchange, exchange_id)
        assert stored is not None
        assert stored.subject == "[DIT-2026-0002] Bourrage papier"
        assert stored.recipient_email == "claire@acme.example"
        assert stored.received_by_contact.code == "ACME-CL"
        assert stored.sent_by_collaborator.code == "JDU"
        assert (stored.type_code, stored.mail_status, stored.mail_attempts) == (
            "courriel",
            "queued",
            0,
        )
        [item] = session.scalars(select(OutboxItem).where(OutboxItem.kind == "mail")).all()
        assert item.payload["exchange_id"] == exchange_id and item.status == "pending"


def test_refusals_record_nothing(db: Database, seeded: Any) -> None:
    with db.session() as session:
        with pytest.raises(Conflict):
            send_mail(
                session, "DIT-2026-0001", MailInput(detail="x"), actor(session), mail_from=None
            )
        with pytest.raises(Conflict):  # closed DIT
            send_mail(
                session,
                "DIT-2026-0004",
                MailInput(detail="x"),
                actor(session),
                mail_from="sav@sav.example",
            )
        with pytest.raises(ValidationFailed) as caught:
            send_mail(
                session,
                "DIT-2026-0001",
                MailInput(detail=" ", to="BOUL-LL:1", subject="x" * 301),
                actor(session),
                mail_from="sav@sav.example",
            )
        assert set(caught.value.errors) == {"to", "detail", "subject"}
    with db.session() as session:
        assert session.scalars(select(Exchange)).all() == []
        assert session.scalars(select(OutboxItem)).all() == []
