"""The portal webhook answers exactly as CONTRACT.md section 6 says; refusals store nothing."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from ditbot.core.context import Context
from ditbot.domain.exchanges import Actor, ExchangeInput, log_exchange
from ditbot.portal import signing
from storage import repositories as repo
from storage.db import Database
from storage.models import Dit, OutboxItem
from storage.types import utcnow
from tests.credentials import API_TOKEN, PORTAL_SECRET
from tests.foundation.openapi_check import CheckedClient
from tests.portal.conftest import WEBHOOK, LiveServer, signed_post, stored

LIMIT = 64 * 1024


@pytest.fixture
def app(app: Flask) -> Flask:
    """Every answer of these tests is checked against the webhook's OpenAPI description."""
    app.test_client_class = CheckedClient
    return app


def message(**changes: Any) -> dict[str, Any]:
    base = {
        "message_id": "msg-1",
        "dit": "DIT-2026-0001",
        "contact": "ACME-PM",
        "subject": "Toujours en panne",
        "detail": "Le copieur affiche encore E42.",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def outbox_lanes(db: Database) -> list[tuple[str, str | None, dict[str, Any]]]:
    with db.session() as session:
        rows = session.scalars(select(OutboxItem).order_by(OutboxItem.id)).all()
        return [(row.kind, row.lane, row.payload) for row in rows]


def finish(db: Database, number: str, state: str, days_ago: float) -> None:
    with db.session() as session:
        session.execute(
            update(Dit)
            .where(Dit.number == number)
            .values(state=state, finished_at=utcnow() - timedelta(days=days_ago))
        )


def test_a_message_becomes_a_received_portal_exchange_and_is_announced(
    client: FlaskClient, db: Database
) -> None:
    answer = signed_post(client, message())  # no bearer token: the signature is enough
    assert answer.status_code == 201, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["dit"] == "DIT-2026-0001"
    assert body["direction"] == "received"
    assert body["source"] == "portal"
    assert body["type"] == "complement"
    assert body["sent_by"] == {"kind": "contact", "code": "ACME-PM", "name": "Paul Martin"}
    assert body["received_by"] == {
        "kind": "collaborator",
        "code": "JDU",
        "name": "Jeanne Dupuis",
    }
    assert body["author"]["code"] == "ACME-PM"
    assert body["subject"] == "Toujours en panne"
    assert body["detail"] == "Le copieur affiche encore E42."
    assert outbox_lanes(db) == [
        (
            "notify",
            "portal",
            {"exchange_id": body["id"], "dit": "DIT-2026-0001", "reason": "portal"},
        )
    ]


def test_a_message_marked_relance_is_a_relance_for_both_channels(
    client: FlaskClient, db: Database
) -> None:
    answer = signed_post(client, message(relance=True, sent_at="2026-11-25T10:00:00+01:00"))
    assert answer.status_code == 201
    body = answer.get_json()
    assert body["type"] == "relance"
    assert body["occurred_at"] == "2026-11-25T09:00:00Z"
    assert [lane for _k, lane, _p in outbox_lanes(db)] == ["portal", "relances"]
    dit = client.get(
        "/api/v1/dits/DIT-2026-0001", headers={"Authorization": f"Bearer {API_TOKEN}"}
    ).get_json()
    assert dit["exchanges"] == {
        "count": 1,
        "relance": True,
        "last_direction": "received",
        "last_is_relance": True,
    }


@pytest.mark.parametrize(
    ("hours_ago", "answered", "expected"),
    [(25, False, "relance"), (23, False, "complement"), (25, True, "complement")],
)
def test_writing_again_while_unanswered_for_a_day_is_a_relance(
    client: FlaskClient, ctx: Context, hours_ago: int, answered: bool, expected: str
) -> None:
    earlier = utcnow() - timedelta(hours=hours_ago)
    first = signed_post(client, message(message_id="first", sent_at=earlier.isoformat()))
    assert first.status_code == 201 and first.get_json()["type"] == "complement"
    if answered:
        with ctx.db.session() as session:
            jdu = repo.collaborator_by_code(session, "JDU")
            log_exchange(
                session,
                "DIT-2026-0001",
                ExchangeInput(
                    direction="sent",
                    detail="Le technicien passe demain.",
                    occurred_at=earlier + timedelta(hours=1),
                ),
                Actor(source="slack", collaborator=jdu),
            )
    second = signed_post(client, message(message_id="second", detail="Et alors ?"))
    assert second.status_code == 201
    assert second.get_json()["type"] == expected


def test_a_repeated_message_id_answers_200_with_the_same_exchange_and_announces_once(
    client: FlaskClient, db: Database
) -> None:
    first = signed_post(client, message(relance=True))
    before = stored(db)
    again = signed_post(client, message(relance=True))
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert stored(db) == before
    assert len(outbox_lanes(db)) == 2


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"{not json", "invalid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "not an object"),
        (json.dumps(message(detail=None)).encode(), "missing detail"),
        (json.dumps(message(detail="   ")).encode(), "blank detail"),
        (json.dumps(message(detail="x" * 3001)).encode(), "detail over 3000 characters"),
        (json.dumps(message(dit=None)).encode(), "missing DIT"),
        (json.dumps(message(message_id=None)).encode(), "missing message id"),
        (json.dumps(message(sent_at="2026-11-25T10:00:00")).encode(), "date without zone"),
        (json.dumps(message(sent_at="yesterday")).encode(), "not a date"),
        (json.dumps(message(sent_at="0001-01-01T00:30:00+01:00")).encode(), "year 0 in UTC"),
        (json.dumps(message(detail="E42\x00")).encode(), "a NUL character"),
    ],
)
def test_an_invalid_body_answers_400_and_stores_nothing(
    client: FlaskClient, db: Database, raw: bytes, why: str
) -> None:
    before = stored(db)
    answer = signed_post(client, raw)
    assert answer.status_code == 400, why
    assert answer.mimetype == "application/problem+json"
    assert answer.get_json()["detail"]
    assert stored(db) == before


def test_missing_detail_names_the_field(client: FlaskClient) -> None:
    answer = signed_post(client, message(detail=None), headers={"Accept-Language": "en"})
    assert answer.status_code == 400
    assert "detail" in answer.get_json()["errors"]


def test_bad_signatures_answer_401_and_store_nothing(client: FlaskClient, db: Database) -> None:
    raw = json.dumps(message()).encode()
    now = int(time.time())
    other = json.dumps(message(detail="Autre chose")).encode()
    attempts = {
        "wrong secret": signing.signed_headers("not-the-secret", raw),
        "old timestamp (replay)": signing.signed_headers(PORTAL_SECRET, raw, now - 301),
        "far future timestamp": signing.signed_headers(PORTAL_SECRET, raw, now + 301),
        "signature over a different body": signing.signed_headers(PORTAL_SECRET, other),
        "no signature": {"Content-Type": "application/json"},
        "not v1": {
            signing.TIMESTAMP_HEADER: str(now),
            signing.SIGNATURE_HEADER: signing.signature(PORTAL_SECRET, now, raw)[3:],
        },
        "timestamp not a number": {
            signing.TIMESTAMP_HEADER: "now",
            signing.SIGNATURE_HEADER: signing.signature(PORTAL_SECRET, "now", raw),
        },
    }
    before = stored(db)
    for why, headers in attempts.items():
        answer = client.post(WEBHOOK, data=raw, headers=headers)
        assert answer.status_code == 401, why
        assert answer.mimetype == "application/problem+json"
    assert stored(db) == before
    # The same body, signed now with the right secret, goes through: the refusals were real.
    assert (
        client.post(
            WEBHOOK, data=raw, headers=signing.signed_headers(PORTAL_SECRET, raw, now)
        ).status_code
        == 201
    )


def test_a_timestamp_within_five_minutes_is_accepted(client: FlaskClient) -> None:
    answer = signed_post(client, message(), timestamp=int(time.time()) - 290)
    assert answer.status_code == 201


@pytest.mark.parametrize(
    "changes",
    [
        {"dit": "DIT-1999-0404"},
        {"contact": "NOBODY"},
        {"contact": "BOUL-LL"},  # a contact of another client
    ],
)
def test_unknown_dit_or_contact_answers_404_and_stores_nothing(
    client: FlaskClient, db: Database, changes: dict[str, str]
) -> None:
    before = stored(db)
    answer = signed_post(client, message(**changes))
    assert answer.status_code == 404
    assert stored(db) == before


def test_a_dit_finished_beyond_the_window_answers_409_and_stores_nothing(
    client: FlaskClient, db: Database
) -> None:
    finish(db, "DIT-2026-0001", "cloturee", days_ago=8)
    before = stored(db)
    answer = signed_post(client, message())
    assert answer.status_code == 409
    assert "DIT-2026-0001" in answer.get_json()["detail"]
    assert stored(db) == before


@pytest.mark.parametrize("state", ["travail_termine", "cloturee"])
def test_a_dit_finished_within_the_window_still_accepts_messages(
    client: FlaskClient, db: Database, state: str
) -> None:
    finish(db, "DIT-2026-0001", state, days_ago=6)
    answer = signed_post(client, message())
    assert answer.status_code == 201
    assert answer.get_json()["dit"] == "DIT-2026-0001"


def test_a_body_over_64_kib_answers_413_and_stores_nothing(
    client: FlaskClient, db: Database
) -> None:
    def padded(size: int) -> bytes:
        raw = json.dumps(message(padding="")).encode()
        raw = json.dumps(message(padding="p" * (size - len(raw)))).encode()
        assert len(raw) == size
        return raw

    before = stored(db)
    answer = signed_post(client, padded(LIMIT + 1))
    assert answer.status_code == 413
    assert answer.mimetype == "application/problem+json"
    assert stored(db) == before
    assert signed_post(client, padded(LIMIT)).status_code == 201


def test_a_chunked_body_over_64_kib_is_refused_too(live_server: LiveServer, db: Database) -> None:
    raw = json.dumps(message(padding="p" * LIMIT)).encode()
    headers = signing.signed_headers(PORTAL_SECRET, raw)

    def chunks() -> Any:  # no Content-Length: the server must count what it reads
        for start in range(0, len(raw), 8192):
            yield raw[start : start + 8192]

    before = stored(db)
    answer = requests.post(live_server.url + WEBHOOK, data=chunks(), headers=headers, timeout=10)
    assert answer.status_code == 413
    assert stored(db) == before


def test_the_answers_speak_the_callers_language(client: FlaskClient) -> None:
    en = signed_post(client, message(dit="DIT-0"), headers={"Accept-Language": "en-GB"})
    fr = signed_post(client, message(dit="DIT-0"), headers={"Accept-Language": "fr-FR"})
    assert en.get_json()["detail"] == "This DIT or this contact is unknown."
    assert fr.get_json()["detail"] == "DIT ou interlocuteur inconnu."


def test_the_same_message_sent_twice_at_once_is_stored_once(
    live_server: LiveServer, db: Database
) -> None:
    raw = json.dumps(message(message_id="twin")).encode()
    barrier = threading.Barrier(4)
    answers: list[tuple[int, int]] = []

    def send() -> None:
        headers = signing.signed_headers(PORTAL_SECRET, raw)
        barrier.wait(5)
        answer = requests.post(live_server.url + WEBHOOK, data=raw, headers=headers, timeout=10)
        answers.append((answer.status_code, answer.json()["id"]))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert sorted(status for status, _id in answers) == [200, 200, 200, 201]
    assert len({exchange_id for _status, exchange_id in answers}) == 1
    assert stored(db).exchanges == 1
    assert stored(db).outbox == 1


def test_messages_at_once_on_one_dit_keep_the_counters_and_the_24h_rule_exact(
    live_server: LiveServer, db: Database
) -> None:
    """Eight messages sent together on one DIT, 30 h after an unanswered one: exactly the
    first written is a relance (the client had waited 24 h), the others follow it by minutes;
    none is lost or doubled, and the counters count them all."""
    now = utcnow()
    first = message(message_id="waiting", sent_at=(now - timedelta(hours=30)).isoformat())
    assert signed_post(live_server.app.test_client(), first).status_code == 201
    barrier = threading.Barrier(8)
    answers: list[dict[str, Any]] = []

    def send(n: int) -> None:
        raw = json.dumps(
            message(message_id=f"together-{n}", sent_at=(now - timedelta(hours=2)).isoformat())
        ).encode()
        barrier.wait(5)
        answer = requests.post(
            live_server.url + WEBHOOK,
            data=raw,
            headers=signing.signed_headers(PORTAL_SECRET, raw),
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        answers.append(answer.json())

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 8
    assert sorted(answer["type"] for answer in answers) == ["complement"] * 7 + ["relance"]
    assert len({answer["id"] for answer in answers}) == 8
    assert stored(db).exchanges == 9
    with db.session() as session:
        dit = repo.dit_by_number(session, "DIT-2026-0001")
        assert dit is not None
        assert (dit.exchange_count, dit.relance_count, dit.last_direction) == (9, 1, "received")
        kinds = [row.kind for row in session.scalars(select(OutboxItem)).all()]
    assert len(kinds) == 9 + 1  # each message to the dispatch channel, the relance to managers
