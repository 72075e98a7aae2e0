"""The REST API (CONTRACT.md sections 3 and 5) through Flask's test client."""

from __future__ import annotations

import ast
import json
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from sqlalchemy import update

from ditbot.core.context import Context
from ditbot.domain.exchanges import delete_exchange
from ditbot.portal import signing
from ditbot.web.api import PUBLIC
from ditbot.web.api import api as api_blueprint
from ditbot.web.app import create_web_app
from ditbot.web.openapi import ROUTES, document
from storage import repositories as repo
from storage.db import Database
from storage.models import Dit
from storage.types import utcnow
from tests.credentials import API_TOKEN
from tests.foundation import openapi_check
from tests.foundation.helpers import collaborator, log, row_counts, staff
from tests.foundation.openapi_check import CheckedClient

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
EN = {**AUTH, "Accept-Language": "en-GB,en;q=0.8"}
PROBLEM = "application/problem+json"
EXCHANGE_FIELDS = {
    "id",
    "dit",
    "direction",
    "type",
    "sent_by",
    "received_by",
    "recipient_email",
    "subject",
    "detail",
    "occurred_at",
    "source",
    "author",
    "mail",
    "deleted",
    "created_at",
    "updated_at",
    "attachments",
    "mail_notes",
}
DIT_BODY = {
    "client": "ACME",
    "contact": "ACME-PM",
    "title": "Copieur en panne",
    "state": "en_cours",
    "technician": "JDU",
    "created_at": "2026-11-20T08:00:00Z",
}


def checked_app(ctx: Context) -> Flask:
    """The web app whose test clients check every answer against the OpenAPI document."""
    app = create_web_app(ctx)
    app.test_client_class = CheckedClient
    return app


@pytest.fixture
def app(ctx: Context) -> Flask:
    return checked_app(ctx)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def seeded_client(client: FlaskClient, seeded: Any) -> FlaskClient:
    return client


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["detail"]
    return body


# --- reference data ---


def test_put_collaborator_creates_then_updates(client: FlaskClient) -> None:
    body = {"name": "Jeanne Dupuis", "mail1": "j.dupuis@sav.example", "slack_user_id": "U024BE7LH"}
    created = client.put("/api/v1/collaborators/JDU", json=body, headers=AUTH)
    assert created.status_code == 201
    assert created.get_json() == {
        "code": "JDU",
        "name": "Jeanne Dupuis",
        "mail1": "j.dupuis@sav.example",
        "mail2": None,
        "slack_user_id": "U024BE7LH",
        "manager": False,
        "team": None,
    }
    again = client.put("/api/v1/collaborators/JDU", json=body, headers=AUTH)
    assert again.status_code == 200 and again.get_json() == created.get_json()
    changed = client.put("/api/v1/collaborators/JDU", json={**body, "manager": True}, headers=AUTH)
    assert changed.status_code == 200 and changed.get_json()["manager"] is True


def test_put_client_with_contacts(client: FlaskClient) -> None:
    body = {
        "name": "Acme SA",
        "contacts": [
            {"code": "ACME-PM", "name": "Paul Martin", "mail1": "p.martin@acme.example"},
            {"code": "ACME-CL", "name": "Claire Lambert", "mail2": "claire@acme.example"},
        ],
    }
    created = client.put("/api/v1/clients/ACME", json=body, headers=AUTH)
    assert created.status_code == 201
    assert created.get_json() == {
        "code": "ACME",
        "name": "Acme SA",
        "contacts": [
            {
                "code": "ACME-CL",
                "name": "Claire Lambert",
                "mail1": None,
                "mail2": "claire@acme.example",
            },
            {
                "code": "ACME-PM",
                "name": "Paul Martin",
                "mail1": "p.martin@acme.example",
                "mail2": None,
            },
        ],
        "team": None,
        "first_response_hours": None,
        "next_response_hours": None,
    }
    assert client.put("/api/v1/clients/ACME", json=body, headers=AUTH).status_code == 200
    body["contacts"].append({"code": "ACME-NV", "name": "Nouveau Venu"})
    added = client.put("/api/v1/clients/ACME", json=body, headers=AUTH)
    assert added.status_code == 200 and len(added.get_json()["contacts"]) == 3


def test_put_dit_then_get_it_with_its_indicators(seeded_client: FlaskClient, db: Database) -> None:
    created = seeded_client.put("/api/v1/dits/DIT-2026-0100", json=DIT_BODY, headers=AUTH)
    assert created.status_code == 201
    again = seeded_client.put("/api/v1/dits/DIT-2026-0100", json=DIT_BODY, headers=AUTH)
    assert again.status_code == 200
    got = seeded_client.get("/api/v1/dits/DIT-2026-0100", headers=AUTH)
    assert got.status_code == 200
    dit = got.get_json()
    assert set(dit) == set(document("http://x")["components"]["schemas"]["Dit"]["properties"])
    assert dit["number"] == "DIT-2026-0100"
    assert dit["client"] == {"code": "ACME", "name": "Acme SA"}
    assert dit["contact"] == {"kind": "contact", "code": "ACME-PM", "name": "Paul Martin"}
    assert dit["technician"] == {"kind": "collaborator", "code": "JDU", "name": "Jeanne Dupuis"}
    assert dit["created_at"] == "2026-11-20T08:00:00Z"
    assert dit["exchanges"] == {
        "count": 0,
        "relance": False,
        "last_direction": None,
        "last_is_relance": False,
    }
    log(db, "DIT-2026-0100", "received", "Relance !", type_code="relance")
    dit = seeded_client.get("/api/v1/dits/DIT-2026-0100", headers=AUTH).get_json()
    assert dit["exchanges"] == {
        "count": 1,
        "relance": True,
        "last_direction": "received",
        "last_is_relance": True,
    }


def test_put_dit_refuses_a_number_that_differs_from_the_url(seeded_client: FlaskClient) -> None:
    response = seeded_client.put(
        "/api/v1/dits/DIT-2026-0100", json={**DIT_BODY, "number": "DIT-2026-0101"}, headers=EN
    )
    body = assert_problem(response, 400)
    assert "differs from the one in the URL" in body["detail"]


def test_put_dit_with_unknown_client_names_the_field(
    seeded_client: FlaskClient, db: Database
) -> None:
    before = row_counts(db)
    response = seeded_client.put(
        "/api/v1/dits/DIT-2026-0100", json={**DIT_BODY, "client": "NOPE"}, headers=EN
    )
    body = assert_problem(response, 404)  # like an unknown party of an exchange
    assert body["errors"] == {"dit.client": "dit.client: unknown client code 'NOPE'."}
    assert body["detail"] == "dit.client: unknown client code 'NOPE'."
    assert row_counts(db) == before


@pytest.mark.parametrize("state", [{}, [], 3, "fini"])
def test_put_dit_with_a_state_of_the_wrong_kind_names_the_field(
    seeded_client: FlaskClient, state: Any
) -> None:
    """Found by schemathesis: a list or an object as the state was a 500 (unhashable)."""
    response = seeded_client.put(
        "/api/v1/dits/DIT-2026-0100", json={**DIT_BODY, "state": state}, headers=EN
    )
    assert "state" in assert_problem(response, 400)["errors"]


@pytest.mark.parametrize("moment", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_date_that_utc_cannot_write_is_refused(
    seeded_client: FlaskClient, db: Database, moment: str
) -> None:
    """Found by schemathesis: the year 1 or 9999 with an offset overflowed into a 500."""
    before = row_counts(db)
    put = seeded_client.put(
        "/api/v1/dits/DIT-2026-0100", json={**DIT_BODY, "created_at": moment}, headers=EN
    )
    assert "created_at" in assert_problem(put, 400)["errors"]
    post = seeded_client.post(
        "/api/v1/dits/DIT-2026-0001/exchanges",
        json={"direction": "received", "detail": "x", "author": "JDU", "occurred_at": moment},
        headers=EN,
    )
    assert "occurred_at" in assert_problem(post, 400)["errors"]
    assert row_counts(db) == before


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("get", "/api/v1/dits/DIT%00", None, "number"),
        ("get", "/api/v1/dits/DIT%00/exchanges", None, "number"),
        ("put", "/api/v1/dits/DIT%00", DIT_BODY, "number"),
        ("put", "/api/v1/collaborators/NUL", {"name": "a\x00b"}, "name"),
        (
            "put",
            "/api/v1/clients/NUL",
            {"name": "C", "contacts": [{"code": "C\x00"}]},
            "contacts[0].code",
        ),
        (
            "post",
            "/api/v1/dits/DIT-2026-0001/exchanges",
            {"direction": "sent", "detail": "\x00"},
            "detail",
        ),
        (
            "post",
            "/api/v1/dits/DIT-2026-0001/exchanges",
            {"direction": "sent", "d\x00": "x"},
            "d\x00",
        ),
    ],
)
def test_a_nul_character_is_refused_with_the_field_named(
    seeded_client: FlaskClient, db: Database, method: str, path: str, body: Any, field: str
) -> None:
    """Found by schemathesis: PostgreSQL cannot store or compare NUL, so it was a 500 there."""
    before = row_counts(db)
    response = seeded_client.open(path, method=method.upper(), json=body, headers=EN)
    problem = assert_problem(response, 400)
    assert list(problem["errors"]) == [field]
    assert "cannot be stored" in problem["errors"][field]
    assert row_counts(db) == before


def test_put_collaborator_with_invalid_email(client: FlaskClient, db: Database) -> None:
    response = client.put(
        "/api/v1/collaborators/JDU", json={"name": "J", "mail1": "jeanne@"}, headers=AUTH
    )
    body = assert_problem(response, 400)
    assert "mail1" in body["errors"]
    assert "«\u202fjeanne@\u202f» n’est pas une adresse e-mail valide" in body["errors"]["mail1"]
    assert row_counts(db)["collaborators"] == 0


# --- exchanges ---


def test_get_exchanges_lists_every_field_in_time_order_with_deleted_ones(
    seeded_client: FlaskClient, db: Database
) -> None:
    now = utcnow()
    second = log(
        db,
        "DIT-2026-0001",
        "sent",
        "Passage demain.",
        subject="RDV",
        type_code="rdv",
        occurred_at=now - timedelta(hours=2),
    )
    first = log(
        db, "DIT-2026-0001", "received", "Panne E-503.", occurred_at=now - timedelta(hours=5)
    )
    third = log(db, "DIT-2026-0001", "received", "Doublon.", occurred_at=now - timedelta(hours=1))
    mail = log(
        db,
        "DIT-2026-0001",
        "sent",
        "Compte rendu.",
        type_code="courriel",
        mail_status="queued",
        occurred_at=now - timedelta(minutes=30),
    )
    portal = log(
        db,
        "DIT-2026-0001",
        "received",
        "Merci !",
        by="ACME-PM",
        source="portal",
        received_by=collaborator("JDU"),
    )
    with db.session() as session:
        delete_exchange(session, third, staff(session, "SBE"), reason="doublon")
    response = seeded_client.get("/api/v1/dits/DIT-2026-0001/exchanges", headers=AUTH)
    assert response.status_code == 200
    body = response.get_json()
    assert body["dit"] == "DIT-2026-0001"
    rows = body["exchanges"]
    assert [row["id"] for row in rows] == [first, second, third, mail, portal]
    for row in rows:
        assert set(row) == EXCHANGE_FIELDS
        assert row["dit"] == "DIT-2026-0001"
        assert row["occurred_at"].endswith("Z") and row["created_at"].endswith("Z")
    by_id = {row["id"]: row for row in rows}
    assert by_id[second] | {"id": 0, "occurred_at": "", "created_at": "", "updated_at": ""} == {
        "id": 0,
        "dit": "DIT-2026-0001",
        "direction": "sent",
        "type": "rdv",
        "sent_by": {"kind": "collaborator", "code": "JDU", "name": "Jeanne Dupuis"},
        "received_by": {"kind": "contact", "code": "ACME-PM", "name": "Paul Martin"},
        "recipient_email": "p.martin@acme.example",
        "subject": "RDV",
        "detail": "Passage demain.",
        "occurred_at": "",
        "source": "slack",
        "author": {"kind": "collaborator", "code": "JDU", "name": "Jeanne Dupuis"},
        "mail": None,
        "deleted": None,
        "created_at": "",
        "updated_at": "",
        "attachments": [],
        "mail_notes": [],
    }
    deleted = by_id[third]["deleted"]
    assert deleted["by"] == "SBE" and deleted["reason"] == "doublon" and deleted["at"].endswith("Z")
    assert by_id[third]["detail"] == "Doublon."  # the trace keeps the body
    assert by_id[mail]["mail"] == {
        "status": "queued",
        "attempts": 0,
        "message_id": None,
        "error": None,
    }
    assert by_id[portal]["source"] == "portal"
    assert by_id[portal]["author"] == {"kind": "contact", "code": "ACME-PM", "name": "Paul Martin"}
    dit = seeded_client.get("/api/v1/dits/DIT-2026-0001", headers=AUTH).get_json()
    assert dit["exchanges"]["count"] == 4


def test_post_exchange_then_replay_with_the_same_idempotency_key(
    seeded_client: FlaskClient, db: Database
) -> None:
    body = {"direction": "sent", "detail": "Pièce commandée.", "author": "JDU", "type": "autre"}
    headers = {**AUTH, "Idempotency-Key": "erp-42"}
    created = seeded_client.post("/api/v1/dits/DIT-2026-0001/exchanges", json=body, headers=headers)
    assert created.status_code == 201
    exchange = created.get_json()
    assert set(exchange) == EXCHANGE_FIELDS
    assert exchange["source"] == "api" and exchange["type"] == "autre"
    assert exchange["sent_by"]["code"] == "JDU" and exchange["received_by"]["code"] == "ACME-PM"
    assert exchange["recipient_email"] == "p.martin@acme.example"
    replay = seeded_client.post("/api/v1/dits/DIT-2026-0001/exchanges", json=body, headers=headers)
    assert replay.status_code == 200 and replay.get_json() == exchange
    assert row_counts(db)["exchanges"] == 1
    other = seeded_client.post("/api/v1/dits/DIT-2026-0003/exchanges", json=body, headers=headers)
    assert assert_problem(other, 409)["detail"].startswith(
        "Cette requête a déjà servi pour un échange de la DIT DIT-2026-0001"
    )
    fresh = seeded_client.post("/api/v1/dits/DIT-2026-0001/exchanges", json=body, headers=AUTH)
    assert fresh.status_code == 201 and fresh.get_json()["id"] != exchange["id"]


def test_concurrent_replay_with_the_same_key_answers_200(
    seeded_client: FlaskClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests with one key racing: the loser hits the unique key and answers the replay."""
    body = {"direction": "received", "detail": "Appel.", "author": "JDU"}
    headers = {**AUTH, "Idempotency-Key": "race-1"}
    first = seeded_client.post("/api/v1/dits/DIT-2026-0001/exchanges", json=body, headers=headers)
    assert first.status_code == 201
    real_lookup = repo.exchange_by_key
    calls: list[str] = []

    def not_yet_committed(session: Any, key: str) -> Any:
        calls.append(key)
        return None if len(calls) == 1 else real_lookup(session, key)  # the race: miss it once

    monkeypatch.setattr(repo, "exchange_by_key", not_yet_committed)
    second = seeded_client.post("/api/v1/dits/DIT-2026-0001/exchanges", json=body, headers=headers)
    assert second.status_code == 200, second.get_data(as_text=True)
    assert second.get_json()["id"] == first.get_json()["id"]
    assert len(calls) == 2
    assert row_counts(db)["exchanges"] == 1


def test_idempotency_key_over_150_characters_is_refused(
    seeded_client: FlaskClient, db: Database
) -> None:
    response = seeded_client.post(
        "/api/v1/dits/DIT-2026-0001/exchanges",
        json={"direction": "received", "detail": "x", "author": "JDU"},
        headers={**EN, "Idempotency-Key": "k" * 151},
    )
    assert "150" in assert_problem(response, 400)["errors"]["Idempotency-Key"]
    assert row_counts(db)["exchanges"] == 0


def test_a_new_exchange_wakes_the_delivery(ctx: Context, seeded: Any) -> None:
    woken: list[bool] = []
    ctx.wake_delivery = lambda: woken.append(True)
    client = checked_app(ctx).test_client()
    body = {"direction": "received", "detail": "Relance.", "type": "relance", "author": "JDU"}
    headers = {**AUTH, "Idempotency-Key": "wake-1"}
    assert (
        client.post("/api/v1/dits/DIT-2026-0001/exchanges", json=body, headers=headers).status_code
        == 201
    )
    assert woken == [True]
    assert (
        client.post("/api/v1/dits/DIT-2026-0001/exchanges", json=body, headers=headers).status_code
        == 200
    )
    assert woken == [True]  # a replay enqueues nothing


def test_post_exchange_with_a_date_and_people(seeded_client: FlaskClient) -> None:
    response = seeded_client.post(
        "/api/v1/dits/DIT-2026-0002/exchanges",
        json={
            "direction": "received",
            "detail": "Appel du client.",
            "sent_by": {"kind": "contact", "code": "ACME-PM"},
            "received_by": {"kind": "collaborator", "code": "MLE"},
            "occurred_at": "2026-11-21T09:30:00+01:00",
        },
        headers=AUTH,
    )
    assert response.status_code == 201
    exchange = response.get_json()
    assert exchange["occurred_at"] == "2026-11-21T08:30:00Z"
    assert exchange["author"] is None and exchange["recipient_email"] is None


@pytest.mark.parametrize(("length", "status"), [(3000, 201), (3001, 400)])
def test_post_exchange_detail_limit(
    seeded_client: FlaskClient, db: Database, length: int, status: int
) -> None:
    response = seeded_client.post(
        "/api/v1/dits/DIT-2026-0001/exchanges",
        json={"direction": "received", "detail": "d" * length, "author": "JDU"},
        headers=EN,
    )
    assert response.status_code == status
    if status == 400:
        body = assert_problem(response, 400)
        assert body["errors"] == {
            "detail": "The detail is 3001 characters long; the limit is 3000. Shorten it."
        }
        assert row_counts(db)["exchanges"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"detail": "x"}, "direction"),
        ({"direction": "up", "detail": "x"}, "direction"),
        ({"direction": "sent", "detail": "x", "colour": "red"}, "colour"),
        ({"direction": "sent", "detail": "x", "occurred_at": "yesterday"}, "occurred_at"),
        (
            {"direction": "sent", "detail": "x", "sent_by": {"kind": "robot", "code": "R"}},
            "sent_by.kind",
        ),
        ({"direction": "sent", "detail": "x", "author": "NOBODY"}, "author"),
        (
            {"direction": "sent", "detail": "x", "author": "JDU", "recipient_email": "a@"},
            "recipient_email",
        ),
    ],
)
def test_post_exchange_invalid_body_names_the_field(
    seeded_client: FlaskClient, db: Database, body: dict[str, Any], field: str
) -> None:
    response = seeded_client.post("/api/v1/dits/DIT-2026-0001/exchanges", json=body, headers=EN)
    problem = assert_problem(response, 400)
    assert field in problem["errors"], problem
    assert row_counts(db)["exchanges"] == 0


@pytest.mark.parametrize(
    ("data", "content_type", "expected"),
    [
        ("{not json", "application/json", {"detail": "The body is not valid JSON"}),
        ('{"direction": "sent"}', "text/plain", {"detail": "The body must be a JSON document"}),
        ("[1]", "application/json", {"errors": "body: an object is expected here"}),
    ],
)
def test_post_exchange_body_that_is_not_a_json_object(
    seeded_client: FlaskClient, data: str, content_type: str, expected: dict[str, str]
) -> None:
    response = seeded_client.post(
        "/api/v1/dits/DIT-2026-0001/exchanges", data=data, content_type=content_type, headers=EN
    )
    body = assert_problem(response, 400)
    if "detail" in expected:
        assert body["detail"].startswith(expected["detail"])
    else:
        assert body["errors"] == {"body": expected["errors"]}


def test_post_exchange_on_a_closed_dit_is_a_conflict(seeded_client: FlaskClient) -> None:
    response = seeded_client.post(
        "/api/v1/dits/DIT-2026-0004/exchanges",
        json={"direction": "received", "detail": "x", "author": "JDU"},
        headers=AUTH,
    )
    body = assert_problem(response, 409)
    assert body["detail"] == (
        "La DIT DIT-2026-0004 est clôturée\u202f: on ne peut plus y noter d’échange."
    )


# --- errors, auth ---


@pytest.mark.parametrize("path", ["/api/v1/dits/DIT-9999", "/api/v1/dits/DIT-9999/exchanges"])
def test_unknown_dit_is_404_with_a_readable_detail(seeded_client: FlaskClient, path: str) -> None:
    french = assert_problem(seeded_client.get(path, headers=AUTH), 404)
    assert french["detail"].startswith("La DIT DIT-9999 n’existe pas.")
    english = assert_problem(seeded_client.get(path, headers=EN), 404)
    assert english["detail"] == (
        "DIT DIT-9999 does not exist. Check the number, or search with /dit <client name>."
    )


def test_post_on_unknown_dit_is_404(seeded_client: FlaskClient, db: Database) -> None:
    response = seeded_client.post(
        "/api/v1/dits/DIT-9999/exchanges", json={"direction": "sent", "detail": "x"}, headers=AUTH
    )
    assert_problem(response, 404)
    assert row_counts(db)["exchanges"] == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {API_TOKEN}"},
        {"Authorization": API_TOKEN},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer \u00e9" + API_TOKEN[1:]},  # a non-ASCII byte: 401, not 500
    ],
)
def test_bad_token_is_401(
    seeded_client: FlaskClient, db: Database, headers: dict[str, str]
) -> None:
    before = row_counts(db)
    for response in (
        seeded_client.get("/api/v1/dits/DIT-2026-0001", headers=headers),
        seeded_client.put("/api/v1/dits/DIT-2026-0100", json=DIT_BODY, headers=headers),
        seeded_client.post(
            "/api/v1/dits/DIT-2026-0001/exchanges",
            json={"direction": "sent", "detail": "x", "author": "JDU"},
            headers=headers,
        ),
    ):
        body = assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in body["detail"]
    assert row_counts(db) == before


def test_api_is_disabled_without_a_token(ctx: Context, db: Database, seeded: Any) -> None:
    settings = ctx.settings.model_copy(update={"api_token": None})
    client = checked_app(Context(settings=settings, db=db)).test_client()
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer None"}):
        response = client.get("/api/v1/dits/DIT-2026-0001", headers=headers)
        assert "DITBOT_API_TOKEN" in assert_problem(response, 404)["detail"]
    before = row_counts(db)
    response = client.put("/api/v1/collaborators/NEW2", json={"name": "X"})
    assert_problem(response, 404)
    assert row_counts(db) == before


def test_unknown_route_and_wrong_method_are_problems(seeded_client: FlaskClient) -> None:
    assert_problem(seeded_client.get("/api/v1/nothing-here", headers=AUTH), 404)
    wrong_method = seeded_client.delete("/api/v1/dits/DIT-2026-0001", headers=AUTH)
    assert_problem(wrong_method, 405)
    assert set(wrong_method.headers["Allow"].split(", ")) >= {"GET", "PUT"}  # RFC 9110


def test_an_unexpected_error_is_a_problem_too(
    seeded_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ditbot.web import api as api_module

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(api_module, "dit_out", broken)
    body = assert_problem(seeded_client.get("/api/v1/dits/DIT-2026-0001", headers=EN), 500)
    assert "boom" not in body["detail"] and "logged" in body["detail"]


# --- OpenAPI ---


def test_openapi_document_is_valid_and_lists_every_route(app: Flask, client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")  # public: no token needed
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": "http://localhost:3000"}]
    documented = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch")
    }
    prefix = api_blueprint.name + "."
    routes = {
        (rule.rule.replace("<", "{").replace(">", "}"), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(prefix) and rule.endpoint != prefix + "openapi"
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    assert routes and routes <= documented, routes - documented
    schemas = document["components"]["schemas"]
    assert set(schemas["Exchange"]["properties"]) == EXCHANGE_FIELDS
    assert schemas["Dit"]["properties"]["exchanges"] == {"$ref": "#/components/schemas/Indicators"}
    assert set(schemas["Indicators"]["properties"]) == {
        "count",
        "relance",
        "last_direction",
        "last_is_relance",
    }


def test_the_route_table_names_each_flask_route_by_its_endpoint(app: Flask) -> None:
    """openapi.ROUTES is the table the document and the public endpoints come from."""
    table = {(r.endpoint, r.path, r.method.upper()) for r in ROUTES}
    flask_routes = {
        (rule.endpoint, rule.rule.replace("<", "{").replace(">", "}"), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in ("api", "portal_webhook")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    assert table == flask_routes
    assert PUBLIC == {"api.openapi", "portal_webhook.receive"}


def documented_answers() -> set[tuple[str, int]]:
    """Every (operationId, status) the document lists, `default` aside."""
    return {
        (operation["operationId"], int(status))
        for item in openapi_check.spec()["paths"].values()
        for operation in item.values()
        for status in operation["responses"]
        if status != "default"
    }


def test_every_documented_answer_validates_against_the_document(
    ctx: Context, db: Database, seeded: Any
) -> None:
    """One request per documented route and status; the checked client validates each answer."""
    openapi_check.SEEN.clear()
    client = checked_app(ctx).test_client()
    off = checked_app(
        Context(settings=ctx.settings.model_copy(update={"api_token": None}), db=db)
    ).test_client()
    outage = Database("sqlite:////nonexistent-ditbot-dir/sub/ditbot.db")
    down = checked_app(Context(settings=ctx.settings, db=outage)).test_client()
    huge = b'{"name": "' + b"x" * (9 * 1024 * 1024) + b'"}'
    # (good, bad, clashing with what is stored)
    puts = {
        "/api/v1/collaborators/ZED": (
            {"name": "Zoé Durand"},
            {"name": "N", "mail1": "a@"},
            {"name": "N", "mail1": "J.Dupuis@sav.example"},
        ),
        "/api/v1/clients/NEWC": (
            {"name": "Neuf", "contacts": []},
            {"name": ""},
            {"name": "Neuf", "contacts": [{"code": "boul-ll", "name": "L"}]},
        ),
        "/api/v1/dits/DIT-2026-0100": (
            DIT_BODY,
            {**DIT_BODY, "title": ""},
            {**DIT_BODY, "contact": "BOUL-LL"},
        ),
    }
    for path, (good, bad, clash) in puts.items():
        assert client.put(path, json=good, headers=AUTH).status_code == 201
        assert client.put(path, json=good, headers=AUTH).status_code == 200
        assert client.put(path, json=bad, headers=AUTH).status_code == 400
        assert client.put(path, json=clash, headers=AUTH).status_code == 409
        assert client.put(path, json=good).status_code == 401
        assert off.put(path, json=good).status_code == 404
        assert (
            client.put(path, data=huge, content_type="application/json", headers=AUTH).status_code
            == 413
        )
        assert down.put(path, json=good, headers=AUTH).status_code == 503
    unknown = {**DIT_BODY, "client": "NOPE"}
    assert client.put("/api/v1/dits/DIT-2026-0100", json=unknown, headers=AUTH).status_code == 404
    team = "/api/v1/teams/NORD"  # names no other record: nothing it could clash with
    assert client.put(team, json={"name": "Agence Nord"}, headers=AUTH).status_code == 201
    assert client.put(team, json={"name": "Agence Nord"}, headers=AUTH).status_code == 200
    bad_team = {"name": "N", "channel_managers": "x"}
    assert client.put(team, json=bad_team, headers=AUTH).status_code == 400
    assert client.put(team, json={"name": "Agence Nord"}).status_code == 401
    assert off.put(team, json={"name": "Agence Nord"}).status_code == 404
    too_big = client.put(team, data=huge, content_type="application/json", headers=AUTH)
    assert too_big.status_code == 413
    assert down.put(team, json={"name": "Agence Nord"}, headers=AUTH).status_code == 503
    many = {"dits": [{**DIT_BODY, "number": "DIT-2026-0101"}]}
    assert client.put("/api/v1/dits", json=many, headers=AUTH).status_code == 200
    assert client.put("/api/v1/dits", json={"dits": []}, headers=AUTH).status_code == 400
    stranger = {"dits": [{**DIT_BODY, "number": "DIT-2026-0102", "client": "NOPE"}]}
    assert client.put("/api/v1/dits", json=stranger, headers=AUTH).status_code == 404
    elsewhere = {"dits": [{**DIT_BODY, "number": "DIT-2026-0103", "contact": "BOUL-LL"}]}
    assert client.put("/api/v1/dits", json=elsewhere, headers=AUTH).status_code == 409
    assert client.put("/api/v1/dits", json=many).status_code == 401
    assert off.put("/api/v1/dits", json=many).status_code == 404
    assert (
        client.put(
            "/api/v1/dits", data=huge, content_type="application/json", headers=AUTH
        ).status_code
        == 413
    )
    assert down.put("/api/v1/dits", json=many, headers=AUTH).status_code == 503
    for path in ("/api/v1/dits/DIT-2026-0001", "/api/v1/dits/DIT-2026-0001/exchanges"):
        assert client.get(path, headers=AUTH).status_code == 200
        assert client.get(path).status_code == 401
        assert client.get(path.replace("0001", "9999"), headers=AUTH).status_code == 404
        assert client.get(path.replace("0001", "0%000"), headers=AUTH).status_code == 400
        assert down.get(path, headers=AUTH).status_code == 503
    exchanges = "/api/v1/dits/DIT-2026-0001/exchanges"
    body = {"direction": "sent", "detail": "Pièce commandée.", "author": "JDU"}
    once = {**AUTH, "Idempotency-Key": "k-1"}
    assert client.post(exchanges, json=body, headers=once).status_code == 201
    assert client.post(exchanges, json=body, headers=once).status_code == 200
    assert client.post(exchanges, json={"detail": "x"}, headers=AUTH).status_code == 400
    assert client.post(exchanges, json=body).status_code == 401
    assert (
        client.post(exchanges.replace("0001", "9999"), json=body, headers=AUTH).status_code == 404
    )
    closed = exchanges.replace("0001", "0004")
    assert client.post(closed, json=body, headers=AUTH).status_code == 409
    assert (
        client.post(exchanges, data=huge, content_type="application/json", headers=AUTH).status_code
        == 413
    )
    assert down.post(exchanges, json=body, headers=AUTH).status_code == 503
    assert client.get("/api/v1/openapi.json").status_code == 200

    def portal(target: FlaskClient, message: dict[str, Any] | bytes, **headers: str) -> int:
        raw = message if isinstance(message, bytes) else json.dumps(message).encode()
        signed = signing.signed_headers(ctx.settings.portal_secret or "", raw)
        response = target.post("/api/v1/portal/messages", data=raw, headers={**signed, **headers})
        return response.status_code

    message = {"message_id": "m-1", "dit": "DIT-2026-0001", "contact": "ACME-PM", "detail": "?"}
    assert portal(client, message) == 201
    assert portal(client, message) == 200
    assert portal(client, {**message, "relance": "maybe"}) == 400
    assert portal(client, message, **{signing.SIGNATURE_HEADER: "v1=00"}) == 401
    assert portal(client, {**message, "message_id": "m-2", "dit": "DIT-9999"}) == 404
    with db.session() as session:
        session.execute(
            update(Dit)
            .where(Dit.number == "DIT-2026-0005")
            .values(finished_at=utcnow() - timedelta(days=365))
        )
    assert portal(client, {**message, "message_id": "m-3", "dit": "DIT-2026-0005"}) == 409
    assert portal(client, {**message, "detail": "x" * 70_000}) == 413
    assert portal(down, {**message, "message_id": "m-4"}) == 503
    outage.dispose()
    assert openapi_check.SEEN == documented_answers()


def test_the_check_refuses_an_answer_that_strays_from_the_document(
    seeded_client: FlaskClient, db: Database
) -> None:
    log(db, "DIT-2026-0001", "received", "Panne.")
    rows = seeded_client.get("/api/v1/dits/DIT-2026-0001/exchanges", headers=AUTH).get_json()
    exchange = openapi_check.spec()["components"]["schemas"]["Exchange"]
    good = rows["exchanges"][0]
    openapi_check.check(exchange, good)
    for strayed in (
        {**good, "occurred_at": good["occurred_at"].replace("Z", "+00:00")},
        {**good, "direction": "up"},
        {**good, "colour": "red"},
        {k: v for k, v in good.items() if k != "mail"},
        {**good, "sent_by": {"kind": "contact", "code": "ACME-PM"}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            openapi_check.check(exchange, strayed)


def module_imports(path: Path, package: str) -> set[str]:
    """The modules of `package` that `path` imports at module level (not inside functions)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            found.update(name for name in names if name.startswith(package + "."))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(package + "."))
    return found


def test_no_import_cycle_in_ditbot_web() -> None:
    folder = Path(__file__).resolve().parents[2] / "ditbot" / "web"
    modules = {f"ditbot.web.{path.stem}": path for path in folder.glob("*.py")}
    graph = {
        name: module_imports(path, "ditbot.web") & modules.keys() for name, path in modules.items()
    }
    assert graph["ditbot.web.api"] >= {"ditbot.web.openapi", "ditbot.web.schemas"}
    done: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        assert name not in trail, " -> ".join((*trail, name))
        if name not in done:
            for imported in graph[name]:
                visit(imported, (*trail, name))
            done.add(name)

    for name in graph:
        visit(name, ())


# --- health ---


def test_healthz_ok(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/ditbot?connect_timeout=2",
        "sqlite:////nonexistent-ditbot-dir/sub/ditbot.db",
    ],
    ids=["postgres-closed-port", "sqlite-unreadable-path"],
)
def test_healthz_503_when_the_database_does_not_answer(
    ctx: Context, url: str, tmp_path: Path
) -> None:
    database = Database(url)
    try:
        client = create_web_app(Context(settings=ctx.settings, db=database)).test_client()
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.get_json()["status"] != "ok"
    finally:
        database.dispose()
