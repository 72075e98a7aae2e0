"""One input rule for every entry point (issue 9, items 6, 18, 19, 20), on SQLite and PostgreSQL.

The REST API, the portal webhook, the portal page and `ditbot import` refuse text that cannot be
stored (NUL: PostgreSQL refuses it; lone surrogates: nothing can encode them), invisible and
control characters and line breaks in names and identifiers, moments out of range and JSON
nested too deeply, with the field named; nothing is stored. Codes, DIT numbers and a
collaborateur's Mail 1 are unique without regard to case, in the domain and in the database.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import IntegrityError

from ditbot.core.context import Context
from ditbot.portal import signing
from ditbot.portal.tokens import make_token
from ditbot.web.app import create_web_app
from storage import repositories as repo
from storage.db import Database
from storage.models import Client, Collaborator, Dit
from tests.credentials import API_TOKEN, PORTAL_SECRET
from tests.factories import REFERENCE, seed_reference
from tests.foundation.helpers import row_counts
from tests.foundation.openapi_check import CheckedClient
from tests.foundation.test_import import cli_env, run_import, write  # noqa: F401  (fixture)
from tests.portal.conftest import LiveServer, live_server  # noqa: F401  (fixture)
from tests.portal.test_page import form_of

AUTH = {"Authorization": f"Bearer {API_TOKEN}", "Accept-Language": "en"}
WEBHOOK = "/api/v1/portal/messages"
DIT_BODY = {"client": "ACME", "contact": "ACME-PM", "title": "Copieur en panne"}
# (value, what the refusal says): text that cannot be stored, in any field.
UNSTORABLE = {"NUL": "E42\x00", "lone surrogate": "E42\ud800"}
# Invisible, format and control characters, and line breaks: refused in names and identifiers.
NOT_ONE_LINE = {
    "zero-width space": ("DIT-2026-0001\u200b", "U+200B"),
    "right-to-left override": ("\u202eACME", "U+202E"),
    "line feed": ("Jeanne\nBcc: spy@evil.example", "line break"),
    "carriage return": ("Jean\rne", "line break"),
    "escape": ("Jeanne\x1b[31m", "U+001B"),
}


@pytest.fixture
def app(ctx: Context, seeded: dict[str, Any]) -> Flask:
    app = create_web_app(ctx)
    app.test_client_class = CheckedClient  # every answer is checked against the document
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def send(client: FlaskClient, method: str, path: str, body: Any) -> Any:
    """`body` as JSON with \\u escapes, as a JSON client would send a lone surrogate."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.open(
        path,
        method=method,
        data=raw,
        headers={**AUTH, "Content-Type": "application/json"},
    )


def hook(client: FlaskClient, body: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {**signing.signed_headers(PORTAL_SECRET, raw), "Accept-Language": "en"}
    return client.post(WEBHOOK, data=raw, headers=headers)


def message(**changes: Any) -> dict[str, Any]:
    return {
        "message_id": "m-1",
        "dit": "DIT-2026-0001",
        "contact": "ACME-PM",
        "detail": "Le copieur affiche encore E42.",
        **changes,
    }


def refused(response: Any, field: str, words: str, status: int = 400) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    errors = response.get_json()["errors"]
    assert field in errors, errors
    assert words in errors[field], errors


# --- every entry point refuses what cannot be stored, naming the field -----------------------


def entry_points(value: str) -> list[tuple[str, str, str, Any, str]]:
    """(method, path, kind, body, field) of each entry point, with `value` in one field."""
    return [
        ("PUT", "/api/v1/collaborators/NEW", "api", {"name": value}, "name"),
        (
            "PUT",
            "/api/v1/clients/NEWC",
            "api",
            {"name": "C", "contacts": [{"code": "C-1", "name": value}]},
            "contacts[0].name",
        ),
        ("PUT", "/api/v1/dits/DIT-NEW", "api", {**DIT_BODY, "title": value}, "title"),
        (
            "POST",
            "/api/v1/dits/DIT-2026-0001/exchanges",
            "api",
            {"direction": "received", "detail": value, "author": "JDU"},
            "detail",
        ),
        ("POST", WEBHOOK, "hook", message(detail=value), "detail"),
        ("POST", WEBHOOK, "hook", message(contact=value), "contact"),
    ]


@pytest.mark.parametrize("kind", list(UNSTORABLE))
def test_text_that_cannot_be_stored_is_refused_everywhere_with_the_field_named(
    client: FlaskClient, db: Database, kind: str
) -> None:
    before = row_counts(db)
    for method, path, how, body, field in entry_points(UNSTORABLE[kind]):
        answer = send(client, method, path, body) if how == "api" else hook(client, body)
        refused(answer, field, "cannot be stored")
    assert row_counts(db) == before


@pytest.mark.parametrize("kind", list(NOT_ONE_LINE))
def test_names_and_identifiers_are_single_lines_without_invisible_characters(
    client: FlaskClient, db: Database, kind: str
) -> None:
    value, words = NOT_ONE_LINE[kind]
    before = row_counts(db)
    refused(send(client, "PUT", "/api/v1/collaborators/NEW", {"name": value}), "name", words)
    refused(
        send(client, "PUT", "/api/v1/dits/DIT-NEW", {**DIT_BODY, "title": value}), "title", words
    )
    refused(hook(client, message(dit=value)), "dit", words)
    refused(hook(client, message(message_id=value)), "message_id", words)
    assert row_counts(db) == before


def test_a_dit_number_with_a_zero_width_space_in_the_path_is_refused(
    client: FlaskClient, db: Database
) -> None:
    before = row_counts(db)
    answer = send(client, "PUT", "/api/v1/dits/DIT-2026-0001%E2%80%8B", DIT_BODY)
    refused(answer, "number", "U+200B")
    answer = send(client, "PUT", "/api/v1/dits/DIT%0D%0A9", DIT_BODY)
    refused(answer, "number", "line break")
    assert row_counts(db) == before


def test_the_free_text_of_a_detail_keeps_its_lines_and_tabs(client: FlaskClient) -> None:
    body = {"direction": "received", "detail": "Ligne 1\r\n\tLigne 2", "author": "JDU"}
    answer = send(client, "POST", "/api/v1/dits/DIT-2026-0001/exchanges", body)
    assert answer.status_code == 201
    assert answer.get_json()["detail"] == "Ligne 1\r\n\tLigne 2"


# --- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent_at", "words"),
    [
        ("2026-11-25T10:00:00", "time zone"),
        ("0001-01-01T00:00:00Z", "between 1970 and 2099"),
        ("9999-12-31T23:00:00Z", "between 1970 and 2099"),
        ("0001-01-01T00:30:00+01:00", "between 1970 and 2099"),
    ],
)
def test_the_webhook_refuses_a_sent_at_without_zone_or_out_of_range_naming_it(
    client: FlaskClient, db: Database, sent_at: str, words: str
) -> None:
    before = row_counts(db)
    refused(hook(client, message(sent_at=sent_at)), "sent_at", words)
    assert row_counts(db) == before


@pytest.mark.parametrize("moment", ["1969-12-31T23:59:59Z", "2100-01-01T00:00:00Z"])
def test_the_api_refuses_moments_out_of_range(
    client: FlaskClient, db: Database, moment: str
) -> None:
    before = row_counts(db)
    put = send(client, "PUT", "/api/v1/dits/DIT-NEW", {**DIT_BODY, "created_at": moment})
    refused(put, "created_at", "between 1970 and 2099")
    body = {"direction": "received", "detail": "x", "author": "JDU", "occurred_at": moment}
    post = send(client, "POST", "/api/v1/dits/DIT-2026-0001/exchanges", body)
    refused(post, "occurred_at", "between 1970 and 2099")
    assert row_counts(db) == before


# --- JSON nested too deeply ---------------------------------------------------------------


@pytest.mark.parametrize("depth", [40, 100_000])
def test_json_nested_too_deeply_is_a_400(client: FlaskClient, db: Database, depth: int) -> None:
    """100,000 levels made json.loads raise RecursionError: a 500 with a traceback."""
    nested = b"[" * depth + b"]" * depth
    before = row_counts(db)
    answer = send(
        client,
        "POST",
        "/api/v1/dits/DIT-2026-0001/exchanges",
        b'{"direction": "received", "detail": "x", "extra": ' + nested + b"}",
    )
    assert answer.status_code == 400
    assert "nested more than 32 levels" in answer.get_json()["detail"]
    webhook = nested[:30_000] + nested[-30_000:] if depth > 30_000 else nested
    answer = hook(client, b'{"message_id": "m", "detail": ' + webhook + b"}")
    assert answer.status_code == 400  # under 64 KiB: a 400, not a 413
    assert "nested more than 32 levels" in answer.get_json()["detail"]
    assert row_counts(db) == before


# --- Authorization that is not ASCII ------------------------------------------------------


def raw_request(server: LiveServer, head: bytes) -> bytes:
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as connection:
        connection.sendall(head)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_a_non_ascii_authorization_header_is_a_401(live_server: LiveServer) -> None:  # noqa: F811
    for token in (b"\xc3\xa9t\xc3\xa9", b"\xff\xfe", API_TOKEN.encode() + b"\xe9"):
        answer = raw_request(
            live_server,
            b"GET /api/v1/dits/DIT-2026-0001 HTTP/1.1\r\nHost: localhost\r\n"
            b"Authorization: Bearer " + token + b"\r\nConnection: close\r\n\r\n",
        )
        status, _, rest = answer.partition(b"\r\n")
        assert status.split()[1] == b"401", answer[:300]
        assert b"application/problem+json" in rest


# --- identifiers: trimmed, unique without regard to case ----------------------------------


def test_a_number_in_another_case_or_with_spaces_is_the_same_dit(
    client: FlaskClient, db: Database
) -> None:
    before = row_counts(db)
    for path in ("/api/v1/dits/dit-2026-0001", "/api/v1/dits/%20DIT-2026-0001%20"):
        answer = send(client, "PUT", path, {**DIT_BODY, "title": "Copieur en panne (bis)"})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.get_json()["number"] == "DIT-2026-0001"  # stored as first written
    got = client.get("/api/v1/dits/Dit-2026-0001", headers=AUTH)
    assert got.status_code == 200 and got.get_json()["title"] == "Copieur en panne (bis)"
    assert row_counts(db) == before


def test_a_code_in_another_case_is_the_same_collaborator_and_client(
    client: FlaskClient, db: Database
) -> None:
    before = row_counts(db)
    answer = send(client, "PUT", "/api/v1/collaborators/jdu", {"name": "Jeanne Dupuis"})
    assert answer.status_code == 200 and answer.get_json()["code"] == "JDU"
    answer = send(client, "PUT", "/api/v1/clients/acme", {"name": "Acme SA"})
    assert answer.status_code == 200 and answer.get_json()["code"] == "ACME"
    answer = send(
        client,
        "PUT",
        "/api/v1/clients/BOUL",
        {"name": "Boulangerie", "contacts": [{"code": "acme-pm", "name": "Paul"}]},
    )
    refused(answer, "client.contacts[0].code", "already belongs to another client", status=409)
    assert row_counts(db) == before


def test_two_collaborators_may_not_share_a_mail_1(client: FlaskClient, db: Database) -> None:
    before = row_counts(db)
    body = {"name": "Autre", "mail1": "J.Dupuis@SAV.example"}
    answer = send(client, "PUT", "/api/v1/collaborators/OTHER", body)
    refused(answer, "collaborator.mail1", "JDU", status=409)
    assert row_counts(db) == before
    same = {"name": "Jeanne Dupuis", "mail1": "J.DUPUIS@sav.example"}  # her own: fine
    assert send(client, "PUT", "/api/v1/collaborators/JDU", same).status_code == 200


@pytest.mark.parametrize(
    "row",
    [
        lambda: Dit(number="dit-2026-0001", title="t", state="en_cours", client_id=1),
        lambda: Client(code="acme", name="Acme bis"),
        lambda: Collaborator(code="jdu", name="Jeanne bis"),
        lambda: Collaborator(code="OTHER", name="Autre", mail1="J.Dupuis@sav.example"),
    ],
    ids=["dit number", "client code", "collaborator code", "mail 1"],
)
def test_the_database_itself_refuses_keys_that_differ_only_by_case(
    db: Database, seeded: dict[str, Any], row: Any
) -> None:
    with pytest.raises(IntegrityError), db.session() as session:
        made = row()
        if isinstance(made, Dit):
            client = repo.client_by_code(session, "ACME")
            assert client is not None
            made.client_id = client.id
        session.add(made)
        session.flush()


# --- a message id reused on another DIT -----------------------------------------------------


def test_a_webhook_message_id_reused_on_another_dit_is_a_409_like_the_api(
    client: FlaskClient, db: Database
) -> None:
    assert hook(client, message()).status_code == 201
    before = row_counts(db)
    other = hook(client, message(dit="DIT-2026-0002", detail="Autre chose"))
    refused(other, "message_id", "DIT-2026-0001", status=409)
    assert hook(client, message()).status_code == 200  # the same DIT: the replay answer
    assert row_counts(db) == before


# --- the portal page ------------------------------------------------------------------------


def test_the_portal_page_refuses_a_nul_character_and_keeps_the_text(
    client: FlaskClient, db: Database
) -> None:
    url = "/portal/" + make_token(PORTAL_SECRET, "DIT-2026-0001", "ACME-PM")
    fields = form_of(client.get(url).get_data(as_text=True))
    before = row_counts(db)
    answer = client.post(url, data={**fields, "detail": "Toujours en panne\x00"})
    assert answer.status_code == 400
    assert "U+0000" in answer.get_data(as_text=True)
    assert row_counts(db) == before


# --- ditbot import --------------------------------------------------------------------------


def imported(folder: Any, capsys: pytest.CaptureFixture[str], data: Any) -> tuple[int, str]:
    code, _out, err = run_import(write(folder, data), capsys)
    assert "Traceback" not in err
    return code, err


def test_the_import_refuses_what_the_api_refuses_naming_row_and_field(
    cli_env: Any,  # noqa: F811
    db: Database,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = json.loads(json.dumps(REFERENCE))
    cases = [
        ("collaborators[0].name", {"collaborators": [{"code": "X", "name": "a\x00"}]}),
        ("dits[0].number", {"dits": [{**base["dits"][0], "number": "DIT-1\u200b"}]}),
        ("collaborators[0].name", {"collaborators": [{"code": "X", "name": "a\nb"}]}),
        (
            "dits[0].created_at",
            {"dits": [{**base["dits"][0], "created_at": "9999-12-31T23:59:59Z"}]},
        ),
        (
            "collaborators[1].code",
            {"collaborators": [{"code": "ab", "name": "A"}, {"code": "AB", "name": "B"}]},
        ),
    ]
    before = row_counts(db)
    for field, data in cases:
        code, err = imported(cli_env, capsys, data)
        assert code == 1 and field in err, (field, err)
    code, err = imported(cli_env, capsys, '{"collaborators": [{"code": "X", "name": "a\\ud800"}]}')
    assert code == 1 and "collaborators[0].name" in err and "cannot be stored" in err
    code, err = imported(cli_env, capsys, "[" * 100_000 + "]" * 100_000)
    assert code == 1 and "nested more than 32 levels" in err
    assert row_counts(db) == before


# --- SQLite: a database file moved away while running ---------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # a file: SQLite's case only
def test_a_sqlite_file_moved_away_is_an_outage_never_a_new_empty_database(
    sqlite_template: Path, tmp_path: Path, settings: Any
) -> None:
    path = tmp_path / "live.db"
    path.write_bytes(sqlite_template.read_bytes())
    database = Database(f"sqlite:///{path}")
    try:
        with database.session() as session:
            seed_reference(session)
        app = create_web_app(Context(settings=settings, db=database))
        client = app.test_client()
        assert client.get("/api/v1/dits/DIT-2026-0001", headers=AUTH).status_code == 200

        away = path.rename(tmp_path / "moved.db")
        answer = client.get("/api/v1/dits/DIT-2026-0001", headers=AUTH)
        assert answer.status_code == 503 and answer.headers["Retry-After"]
        assert client.get("/healthz").status_code == 503
        assert not path.exists()  # not silently replaced by a new, empty database

        away.rename(path)
        answer = client.get("/api/v1/dits/DIT-2026-0001", headers=AUTH)
        assert answer.status_code == 200 and answer.get_json()["title"]
        assert client.get("/healthz").status_code == 200
    finally:
        database.dispose()
