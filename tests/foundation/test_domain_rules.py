"""Domain rules of exchanges (DOMAIN.md): one test per rule, each failing if the rule breaks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from ditbot.domain.errors import (
    Conflict,
    DomainError,
    NotAllowed,
    NotFound,
    NotLinked,
    ValidationFailed,
)
from ditbot.domain.exchanges import (
    Actor,
    ExchangeInput,
    defaults_for,
    delete_exchange,
    edit_exchange,
    get_exchange,
    log_exchange,
)
from ditbot.domain.people import collaborator_for_slack_user
from storage import repositories as repo
from storage.db import Database
from storage.models import Collaborator, Dit, Exchange, ExchangeType, OutboxItem
from storage.types import utcnow
from storage.vocabulary import OPEN_STATES
from tests.foundation.helpers import (
    client_actor,
    collaborator,
    contact,
    indicators,
    log,
    row_counts,
    staff,
)

pytestmark = pytest.mark.usefixtures("seeded")


def refused(db: Database, number: str, data: ExchangeInput, by: str = "JDU") -> DomainError:
    """Log `data` and return the refusal; asserts that nothing at all was written."""
    before = row_counts(db)
    with pytest.raises(DomainError) as caught, db.session() as session:
        log_exchange(session, number, data, staff(session, by))
    assert row_counts(db) == before
    return caught.value


def field_errors(error: DomainError, locale: str = "en") -> dict[str, str]:
    assert isinstance(error, ValidationFailed), error
    return error.messages(locale)


def load(db: Database, exchange_id: int) -> Exchange:
    with db.session() as session:
        return get_exchange(session, exchange_id)


def set_state(db: Database, number: str, state: str) -> None:
    with db.session() as session:
        session.execute(update(Dit).where(Dit.number == number).values(state=state))


def set_mail(db: Database, exchange_id: int, status: str | None, attempts: int) -> None:
    with db.session() as session:
        session.execute(
            update(Exchange)
            .where(Exchange.id == exchange_id)
            .values(mail_status=status, mail_attempts=attempts)
        )


def outbox(db: Database) -> list[tuple[str, str | None, dict[str, Any]]]:
    with db.session() as session:
        items = session.scalars(select(OutboxItem).order_by(OutboxItem.id)).all()
        return [(item.kind, item.lane, item.payload) for item in items]


# --- defaults (DOMAIN.md rule 6 and "received form mirrors the sent form") ---


def test_received_defaults_from_the_dit_contact_to_the_current_user(db: Database) -> None:
    exchange = load(db, log(db, "DIT-2026-0001", "received", by="MLE"))
    assert exchange.sent_by_contact is not None and exchange.sent_by_contact.code == "ACME-PM"
    assert exchange.received_by_collaborator is not None
    assert exchange.received_by_collaborator.code == "MLE"
    assert exchange.sent_by_collaborator is None and exchange.received_by_contact is None
    assert exchange.recipient_email is None  # no recipient e-mail on a received exchange
    assert exchange.type_code == "appel"
    assert exchange.author_collaborator is not None and exchange.author_collaborator.code == "MLE"
    assert exchange.source == "slack"


def test_received_never_keeps_a_recipient_email(db: Database) -> None:
    exchange = load(
        db, log(db, "DIT-2026-0001", "received", recipient_email="p.martin@acme.example")
    )
    assert exchange.recipient_email is None


def test_sent_defaults_from_the_current_user_to_the_dit_contact_mail1(db: Database) -> None:
    exchange = load(db, log(db, "DIT-2026-0001", "sent", by="JDU"))
    assert exchange.sent_by_collaborator is not None and exchange.sent_by_collaborator.code == "JDU"
    assert exchange.received_by_contact is not None
    assert exchange.received_by_contact.code == "ACME-PM"
    assert exchange.recipient_email == "p.martin@acme.example"  # Mail 1 before Mail 2


def test_sent_recipient_falls_back_to_mail2(db: Database) -> None:
    # DIT-2026-0002's interlocuteur, Claire Lambert (ACME-CL), has only a Mail 2.
    exchange = load(db, log(db, "DIT-2026-0002", "sent", by="MLE"))
    assert exchange.received_by_contact is not None
    assert exchange.received_by_contact.code == "ACME-CL"
    assert exchange.recipient_email == "claire@acme.example"


def test_sent_recipient_follows_the_chosen_receiver(db: Database) -> None:
    exchange = load(db, log(db, "DIT-2026-0001", "sent", received_by=contact("ACME-CL")))
    assert exchange.recipient_email == "claire@acme.example"


def test_sent_keeps_a_typed_recipient(db: Database) -> None:
    exchange = load(db, log(db, "DIT-2026-0001", "sent", recipient_email=" paul@acme.example "))
    assert exchange.recipient_email == "paul@acme.example"


def test_defaults_for_a_form(db: Database) -> None:
    with db.session() as session:
        dit = repo.dit_by_number(session, "DIT-2026-0002")
        assert dit is not None
        sent = defaults_for(dit, "sent", staff(session, "MLE"))
        received = defaults_for(dit, "received", staff(session, "MLE"))
    assert (sent.sent_by, sent.received_by) == (collaborator("MLE"), contact("ACME-CL"))
    assert sent.recipient_email == "claire@acme.example"
    assert (received.sent_by, received.received_by) == (contact("ACME-CL"), collaborator("MLE"))
    assert received.recipient_email is None


# --- detail ---


@pytest.mark.parametrize("detail", ["", "   \n\t "])
def test_detail_is_required(db: Database, detail: str) -> None:
    error = refused(db, "DIT-2026-0001", ExchangeInput("received", detail))
    assert field_errors(error) == {"detail": "The detail is required: write what was said."}
    assert field_errors(error, "fr") == {
        "detail": "Le détail est obligatoire\u202f: écrivez ce qui a été dit."
    }


def test_detail_of_3000_characters_is_accepted(db: Database) -> None:
    detail = "x" * 3000
    assert load(db, log(db, "DIT-2026-0001", "received", detail)).detail == detail


def test_detail_of_3001_characters_is_refused(db: Database) -> None:
    error = refused(db, "DIT-2026-0001", ExchangeInput("received", "x" * 3001))
    assert field_errors(error)["detail"] == (
        "The detail is 3001 characters long; the limit is 3000. Shorten it."
    )
    assert "3001" in field_errors(error, "fr")["detail"]


def test_detail_is_stripped(db: Database) -> None:
    assert load(db, log(db, "DIT-2026-0001", "received", "  Bonjour  \n")).detail == "Bonjour"


def test_subject_over_300_characters_is_refused(db: Database) -> None:
    error = refused(db, "DIT-2026-0001", ExchangeInput("sent", "ok", subject="s" * 301))
    assert "301" in field_errors(error)["subject"]


# --- e-mail syntax ---


@pytest.mark.parametrize(
    "address", ["paul@", "paul at acme.example", "paul@acme", "paul..m@acme.example", "@acme.fr"]
)
def test_recipient_email_syntax(db: Database, address: str) -> None:
    error = refused(db, "DIT-2026-0001", ExchangeInput("sent", "ok", recipient_email=address))
    message = field_errors(error)["recipient_email"]
    assert address.strip() in message and "name@domain.tld" in message


# --- people belong to the DIT's client or to the staff ---


def test_contact_of_another_client_is_refused(db: Database) -> None:
    error = refused(
        db, "DIT-2026-0001", ExchangeInput("received", "ok", sent_by=contact("BOUL-LL"))
    )
    assert field_errors(error) == {
        "sent_by": "Léon Lemaire is not a contact of Acme SA: choose one of this client's contacts."
    }
    assert "n’est pas un interlocuteur de Acme SA" in field_errors(error, "fr")["sent_by"]


def test_collaborator_as_receiver_of_a_sent_exchange_is_refused(db: Database) -> None:
    error = refused(
        db, "DIT-2026-0001", ExchangeInput("sent", "ok", received_by=collaborator("MLE"))
    )
    assert "received_by" in field_errors(error)
    assert "Acme SA" in field_errors(error)["received_by"]


def test_contact_as_sender_of_a_sent_exchange_is_refused(db: Database) -> None:
    error = refused(db, "DIT-2026-0001", ExchangeInput("sent", "ok", sent_by=contact("ACME-PM")))
    assert field_errors(error) == {"sent_by": "Choose a collaborator of our staff here."}


def test_collaborator_as_sender_of_a_received_exchange_is_refused(db: Database) -> None:
    error = refused(
        db, "DIT-2026-0001", ExchangeInput("received", "ok", sent_by=collaborator("MLE"))
    )
    assert "sent_by" in field_errors(error)


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        (ExchangeInput("received", "ok", sent_by=contact("ZZZ")), "sent_by", "'ZZZ'"),
        (ExchangeInput("received", "ok", received_by=collaborator("ZZZ")), "received_by", "ZZZ"),
    ],
)
def test_unknown_people_are_refused(
    db: Database, data: ExchangeInput, field: str, text: str
) -> None:
    assert text in field_errors(refused(db, "DIT-2026-0001", data))[field]


def test_every_field_error_comes_at_once(db: Database) -> None:
    error = refused(
        db,
        "DIT-2026-0001",
        ExchangeInput(
            "sent", "", type_code="fax", received_by=contact("BOUL-LL"), recipient_email="x@"
        ),
    )
    assert set(field_errors(error)) == {"detail", "type", "received_by", "recipient_email"}


def test_an_unknown_direction_is_refused(db: Database) -> None:
    error = refused(db, "DIT-2026-0001", ExchangeInput("sideways", "ok"))  # type: ignore[arg-type]
    assert "direction" in field_errors(error)


# --- type ---


def test_unknown_type_is_refused(db: Database) -> None:
    error = refused(db, "DIT-2026-0001", ExchangeInput("received", "ok", type_code="fax"))
    assert field_errors(error) == {"type": "Unknown exchange type 'fax'."}
    assert field_errors(error, "fr") == {"type": "Type d’échange inconnu\u202f: «\u202ffax\u202f»."}


def test_inactive_type_is_refused(db: Database) -> None:
    with db.session() as session:
        session.execute(update(ExchangeType).where(ExchangeType.code == "rdv").values(active=False))
    try:
        error = refused(db, "DIT-2026-0001", ExchangeInput("received", "ok", type_code="rdv"))
        assert "type" in field_errors(error)
    finally:  # exchange_types survives between PostgreSQL tests
        with db.session() as session:
            session.execute(
                update(ExchangeType).where(ExchangeType.code == "rdv").values(active=True)
            )


# --- date ---


def test_future_date_is_refused(db: Database) -> None:
    error = refused(
        db,
        "DIT-2026-0001",
        ExchangeInput("received", "ok", occurred_at=utcnow() + timedelta(hours=1)),
    )
    assert "in the future" in field_errors(error)["occurred_at"]


def test_a_clock_a_little_ahead_is_tolerated(db: Database) -> None:
    when = utcnow() + timedelta(minutes=1)
    assert load(db, log(db, "DIT-2026-0001", occurred_at=when)).occurred_at == when


def test_date_without_time_zone_is_refused(db: Database) -> None:
    error = refused(
        db, "DIT-2026-0001", ExchangeInput("received", "ok", occurred_at=datetime(2026, 1, 1))
    )
    assert "time zone" in field_errors(error)["occurred_at"]


# --- closed and cancelled DITs ---


@pytest.mark.parametrize(
    ("number", "en", "fr"),
    [
        ("DIT-2026-0004", "DIT DIT-2026-0004 is closed", "La DIT DIT-2026-0004 est clôturée"),
        ("DIT-2026-0005", "DIT DIT-2026-0005 is cancelled", "La DIT DIT-2026-0005 est annulée"),
    ],
)
def test_closed_or_cancelled_dit_refuses_new_exchanges(
    db: Database, number: str, en: str, fr: str
) -> None:
    error = refused(db, number, ExchangeInput("received", "ok"))
    assert isinstance(error, Conflict) and error.status == 409
    assert error.message("en").startswith(en)
    assert error.message("fr").startswith(fr)


@pytest.mark.parametrize("state", ["cloturee", "annulee"])
def test_closed_or_cancelled_dit_refuses_edit_and_delete(db: Database, state: str) -> None:
    exchange_id = log(db, "DIT-2026-0001")
    set_state(db, "DIT-2026-0001", state)
    with db.session() as session:
        manager = staff(session, "SBE")
        with pytest.raises(Conflict) as edit:
            edit_exchange(session, exchange_id, ExchangeInput("received", "changé"), manager)
        with pytest.raises(Conflict) as delete:
            delete_exchange(session, exchange_id, manager)
    assert "can no longer be changed" in edit.value.message("en")
    assert "can no longer be deleted" in delete.value.message("en")
    assert load(db, exchange_id).detail == "Le client a appelé."
    assert indicators(db, "DIT-2026-0001")["count"] == 1


def test_every_open_state_accepts_exchanges(db: Database) -> None:
    for state in OPEN_STATES:
        set_state(db, "DIT-2026-0001", state)
        log(db, "DIT-2026-0001", detail=state)
    assert indicators(db, "DIT-2026-0001")["count"] == len(OPEN_STATES)


def test_unknown_dit(db: Database) -> None:
    error = refused(db, "DIT-9999", ExchangeInput("received", "ok"))
    assert isinstance(error, NotFound) and error.status == 404
    assert error.message("en") == (
        "DIT DIT-9999 does not exist. Check the number, or search with /dit <client name>."
    )
    assert error.message("fr").startswith("La DIT DIT-9999 n’existe pas.")


# --- edit ---


def test_edit_keeps_the_previous_version(db: Database) -> None:
    exchange_id = log(db, "DIT-2026-0001", "sent", "Passage prévu lundi.", subject="RDV")
    with db.session() as session:
        edit_exchange(
            session,
            exchange_id,
            ExchangeInput("sent", "Passage prévu mardi.", type_code="rdv", subject="RDV"),
            staff(session, "JDU"),
        )
    with db.session() as session:
        exchange = get_exchange(session, exchange_id)
        versions = repo.versions_of(session, exchange_id)
        assert (exchange.detail, exchange.type_code) == ("Passage prévu mardi.", "rdv")
        assert len(versions) == 1
        snapshot = versions[0].snapshot
        assert snapshot["detail"] == "Passage prévu lundi."
        assert snapshot["type"] == "appel"
        assert snapshot["sent_by"]["code"] == "JDU"
        assert snapshot["received_by"]["code"] == "ACME-PM"
        assert versions[0].edited_by_id == staff(session, "JDU").collaborator.id  # type: ignore[union-attr]


def test_edit_keeps_what_the_form_leaves_out(db: Database) -> None:
    """An edit without date, type or people keeps them (it does not take the new-form defaults)."""
    when = utcnow() - timedelta(days=2)
    exchange_id = log(
        db,
        "DIT-2026-0001",
        "received",
        "Appel.",
        by="JDU",
        type_code="relance",
        sent_by=contact("ACME-CL"),
        occurred_at=when,
    )
    with db.session() as session:
        edit_exchange(
            session,
            exchange_id,
            ExchangeInput("received", "Appel (corrigé)."),
            staff(session, "SBE"),
        )
    exchange = load(db, exchange_id)
    assert exchange.occurred_at == when
    assert exchange.type_code == "relance"
    assert exchange.sent_by_contact is not None and exchange.sent_by_contact.code == "ACME-CL"
    assert exchange.received_by_collaborator is not None
    assert exchange.received_by_collaborator.code == "JDU"  # not the manager who edited it
    assert indicators(db, "DIT-2026-0001")["last_at"] == when


def test_edit_is_validated_like_a_new_exchange(db: Database) -> None:
    exchange_id = log(db, "DIT-2026-0001")
    with pytest.raises(ValidationFailed) as caught, db.session() as session:
        edit_exchange(session, exchange_id, ExchangeInput("received", " "), staff(session, "JDU"))
    assert "detail" in caught.value.errors
    assert load(db, exchange_id).detail == "Le client a appelé."


def test_edit_never_flips_the_direction(db: Database) -> None:
    exchange_id = log(db, "DIT-2026-0001", "received")
    with db.session() as session:
        edit_exchange(session, exchange_id, ExchangeInput("sent", "corrigé"), staff(session, "JDU"))
    assert load(db, exchange_id).direction == "received"


def test_only_the_author_or_a_manager_may_edit(db: Database) -> None:
    exchange_id = log(db, "DIT-2026-0001", by="JDU")
    with pytest.raises(NotAllowed) as caught, db.session() as session:
        edit_exchange(session, exchange_id, ExchangeInput("received", "x"), staff(session, "MLE"))
    assert caught.value.status == 403
    assert caught.value.message("en") == (
        "Only the author of this exchange or a manager can change it."
    )
    assert caught.value.message("fr").startswith("Seul l’auteur de cet échange")
    with db.session() as session:
        edit_exchange(
            session, exchange_id, ExchangeInput("received", "par la manager"), staff(session, "SBE")
        )
    with db.session() as session:
        edit_exchange(
            session, exchange_id, ExchangeInput("received", "par l'auteur"), staff(session, "JDU")
        )
    with db.session() as session:
        assert len(repo.versions_of(session, exchange_id)) == 2


def test_client_messages_cannot_be_edited(db: Database) -> None:
    exchange_id = log(
        db,
        "DIT-2026-0001",
        "received",
        by="ACME-PM",
        source="portal",
        received_by=collaborator("JDU"),
    )
    with pytest.raises(NotAllowed) as caught, db.session() as session:
        edit_exchange(session, exchange_id, ExchangeInput("received", "x"), staff(session, "SBE"))
    assert "written by the client" in caught.value.message("en")


def test_mails_cannot_be_edited(db: Database) -> None:
    exchange_id = log(db, "DIT-2026-0001", "sent", mail_status="queued", type_code="courriel")
    with pytest.raises(NotAllowed), db.session() as session:
        edit_exchange(session, exchange_id, ExchangeInput("sent", "x"), staff(session, "JDU"))


def test_deleted_exchanges_cannot_be_edited(db: Database) -> None:
    exchange_id = log(db, "DIT-2026-0001")
    with db.session() as session:
        delete_exchange(session, exchange_id, staff(session, "JDU"))
    with pytest.raises(Conflict), db.session() as session:
        edit_exchange(session, exchange_id, ExchangeInput("received", "x"), staff(session, "JDU"))


# --- delete ---


def test_delete_is_soft_and_keeps_the_trace(db: Database) -> None:
    exchange_id = log(db, "DIT-2026-0001", "received", "Le client rappellera.")
    log(db, "DIT-2026-0001", "sent", "Réponse.")
    before = utcnow()
    with db.session() as session:
        delete_exchange(session, exchange_id, staff(session, "JDU"), reason="  doublon  ")
    exchange = load(db, exchange_id)
    assert exchange.deleted_at is not None and exchange.deleted_at >= before - timedelta(seconds=1)
    assert exchange.deleted_by is not None and exchange.deleted_by.code == "JDU"
    assert exchange.deleted_reason == "doublon"
    assert exchange.detail == "Le client rappellera."  # the body stays
    assert indicators(db, "DIT-2026-0001")["count"] == 1
    with db.session() as session:
        assert session.get(Exchange, exchange_id) is not None  # the row stays


def test_only_the_author_or_a_manager_may_delete(db: Database) -> None:
    first = log(db, "DIT-2026-0001", by="JDU")
    second = log(db, "DIT-2026-0001", by="JDU")
    with pytest.raises(NotAllowed) as caught, db.session() as session:
        delete_exchange(session, first, staff(session, "MLE"))
    assert caught.value.message("en") == (
        "Only the author of this exchange or a manager can delete it."
    )
    with db.session() as session:
        delete_exchange(session, first, staff(session, "SBE"))  # a manager
        delete_exchange(session, second, staff(session, "JDU"))  # the author
    assert indicators(db, "DIT-2026-0001")["count"] == 0


def test_an_api_exchange_without_author_is_deletable_only_by_a_manager(db: Database) -> None:
    with db.session() as session:
        exchange, _ = log_exchange(
            session,
            "DIT-2026-0001",
            ExchangeInput("received", "via l'API", received_by=collaborator("JDU")),
            Actor("api"),
        )
        exchange_id = exchange.id
    with pytest.raises(NotAllowed), db.session() as session:
        delete_exchange(session, exchange_id, staff(session, "JDU"))
    with db.session() as session:
        delete_exchange(session, exchange_id, staff(session, "SBE"))


@pytest.mark.parametrize("source", ["portal", "mail"])
def test_client_written_messages_are_never_deleted(db: Database, source: str) -> None:
    exchange_id = log(
        db,
        "DIT-2026-0001",
        "received",
        by="ACME-PM",
        source=source,
        received_by=collaborator("JDU"),
    )
    with pytest.raises(NotAllowed) as caught, db.session() as session:
        delete_exchange(session, exchange_id, staff(session, "SBE"))
    assert caught.value.message("en") == "A message written by the client cannot be deleted."
    assert caught.value.message("fr") == "Un message écrit par le client ne peut pas être supprimé."
    assert indicators(db, "DIT-2026-0001")["count"] == 1


@pytest.mark.parametrize(("status", "attempts"), [("sent", 1), ("queued", 1), ("failed", 3)])
def test_mails_handed_to_smtp_are_never_deleted(db: Database, status: str, attempts: int) -> None:
    exchange_id = log(db, "DIT-2026-0001", "sent", type_code="courriel", mail_status="queued")
    set_mail(db, exchange_id, status, attempts)
    with pytest.raises(NotAllowed) as caught, db.session() as session:
        delete_exchange(session, exchange_id, staff(session, "SBE"))
    assert "mail server" in caught.value.message("en")
    assert load(db, exchange_id).deleted_at is None


def test_a_deleted_exchange_cannot_be_deleted_again(db: Database) -> None:
    exchange_id = log(db, "DIT-2026-0001")
    with db.session() as session:
        delete_exchange(session, exchange_id, staff(session, "JDU"))
    with pytest.raises(Conflict), db.session() as session:
        delete_exchange(session, exchange_id, staff(session, "SBE"))


def test_unknown_exchange(db: Database) -> None:
    with pytest.raises(NotFound) as caught, db.session() as session:
        delete_exchange(session, 987654, staff(session, "SBE"))
    assert caught.value.message("en") == "Exchange 987654 does not exist."


# --- idempotency and notifications ---


def test_external_key_makes_logging_idempotent(db: Database) -> None:
    with db.session() as session:
        first, created = log_exchange(
            session,
            "DIT-2026-0001",
            ExchangeInput("received", "un"),
            staff(session, "JDU"),
            external_key="slack:view:1",
        )
        first_id = first.id
    assert created
    with db.session() as session:
        again, created = log_exchange(
            session,
            "DIT-2026-0001",
            ExchangeInput("received", "deux"),
            staff(session, "JDU"),
            external_key="slack:view:1",
        )
        assert (again.id, again.detail, created) == (first_id, "un", False)
    assert indicators(db, "DIT-2026-0001")["count"] == 1


def test_external_key_of_another_dit_is_a_conflict(db: Database) -> None:
    log(db, "DIT-2026-0001", external_key="api:abc")
    before = row_counts(db)
    with pytest.raises(Conflict) as caught, db.session() as session:
        log_exchange(
            session,
            "DIT-2026-0003",
            ExchangeInput("received", "ok"),
            staff(session, "MLE"),
            external_key="api:abc",
        )
    assert "DIT-2026-0001" in caught.value.message("en")
    assert row_counts(db) == before


def test_a_relance_notifies_the_managers_lane(db: Database) -> None:
    log(db, "DIT-2026-0001", "received", "Rien.")
    assert outbox(db) == []
    exchange_id = log(db, "DIT-2026-0001", "received", "Toujours rien !", type_code="relance")
    assert outbox(db) == [
        (
            "notify",
            "relances",
            {"exchange_id": exchange_id, "dit": "DIT-2026-0001", "reason": "relance"},
        )
    ]


def test_an_edit_into_a_relance_notifies_once(db: Database) -> None:
    exchange_id = log(db, "DIT-2026-0001", "received", "Rien.")
    for detail in ("Relance.", "Relance (corrigée)."):
        with db.session() as session:
            edit_exchange(
                session,
                exchange_id,
                ExchangeInput("received", detail, type_code="relance"),
                staff(session, "JDU"),
            )
    assert [(kind, lane) for kind, lane, _ in outbox(db)] == [("notify", "relances")]


def test_a_portal_message_notifies_the_portal_lane(db: Database) -> None:
    exchange_id = log(
        db,
        "DIT-2026-0001",
        "received",
        "Message du portail.",
        by="ACME-PM",
        source="portal",
        received_by=collaborator("JDU"),
    )
    assert outbox(db) == [
        (
            "notify",
            "portal",
            {"exchange_id": exchange_id, "dit": "DIT-2026-0001", "reason": "portal"},
        )
    ]
    exchange = load(db, exchange_id)
    assert exchange.author_contact is not None and exchange.author_contact.code == "ACME-PM"
    assert exchange.author_collaborator is None


def test_a_portal_relance_notifies_both_lanes(db: Database) -> None:
    log(
        db,
        "DIT-2026-0001",
        "received",
        "Relance portail.",
        by="ACME-PM",
        source="portal",
        type_code="relance",
        received_by=collaborator("JDU"),
    )
    assert sorted(lane for _, lane, _ in outbox(db)) == ["portal", "relances"]


def test_a_refused_exchange_notifies_nobody(db: Database) -> None:
    refused(db, "DIT-2026-0004", ExchangeInput("received", "ok", type_code="relance"))
    assert outbox(db) == []


# --- people (a Slack user acts as their collaborateur) ---


def test_slack_user_linked_by_id(db: Database) -> None:
    with db.session() as session:
        found = collaborator_for_slack_user(session, "UJDU", lambda: pytest.fail("no lookup"))
        assert found.code == "JDU"


def test_slack_user_linked_by_mail2_the_first_time(db: Database) -> None:
    with db.session() as session:
        session.execute(
            update(Collaborator).where(Collaborator.code == "MLE").values(slack_user_id=None)
        )
    with db.session() as session:
        found = collaborator_for_slack_user(session, "UNEWMLE", lambda: "Marc@SAV.example")
        assert found.code == "MLE"
    with db.session() as session:
        again = collaborator_for_slack_user(session, "UNEWMLE", lambda: None)
        assert again.code == "MLE"


def test_unlinked_slack_user_gets_a_clear_refusal(db: Database) -> None:
    with pytest.raises(NotLinked) as caught, db.session() as session:
        collaborator_for_slack_user(session, "UNOBODY", lambda: "stranger@example.com")
    message = caught.value.message("en")
    assert "UNOBODY" in message and "stranger@example.com" in message
    assert "UNOBODY" in caught.value.message("fr")


def test_client_actor_helper_is_a_contact(db: Database) -> None:
    with db.session() as session:
        actor = client_actor(session, "ACME-PM")
        assert actor.contact is not None and not actor.is_manager
