"""HTTP while the database does not answer: 503 that says to retry, nothing half-stored.

The REST API and the portal webhook answer problem+json 503 with Retry-After; the portal page
answers a page in the client's language that gives back what they typed; /healthz says 503.
Then the database comes back and the same requests succeed, once.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from ditbot.core.context import Context
from ditbot.core.credentials import fingerprint
from ditbot.portal.tokens import make_token
from ditbot.web.app import create_web_app
from storage.db import Database
from storage.models import Exchange
from tests.credentials import API_TOKEN, PORTAL_SECRET
from tests.outages.outage import Outage
from tests.portal.conftest import signed_post

API = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def client(ctx: Context, seeded: dict[str, Any]) -> FlaskClient:
    app: Flask = create_web_app(ctx)
    return app.test_client()


def count(db: Database, **where: Any) -> int:
    with db.session() as session:
        query = select(func.count(Exchange.id))
        for name, value in where.items():
            query = query.where(getattr(Exchange, name) == value)
        return int(session.scalar(query) or 0)


def unavailable_problem(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    assert int(answer.headers["Retry-After"]) > 0
    problem = answer.get_json()
    assert problem["status"] == 503 and problem["title"] == "Service Unavailable"
    for word in ("Traceback", "OperationalError", "psycopg", "sqlite3"):
        assert word not in problem["detail"]
    return dict(problem)


def test_healthz_says_503_while_the_database_is_down_and_200_when_it_is_back(
    client: FlaskClient, outage: Outage
) -> None:
    assert client.get("/healthz").status_code == 200
    outage.cut()
    down = client.get("/healthz")
    assert down.status_code == 503 and down.get_json()["status"] == "unavailable"
    outage.restore()
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_the_rest_api_answers_503_problem_json_then_the_same_request_works(
    client: FlaskClient, db: Database, outage: Outage
) -> None:
    headers = {**API, "Idempotency-Key": "crm-4711", "Accept-Language": "en"}
    body = {"direction": "received", "detail": "Called about the invoice.", "author": "JDU"}
    outage.cut()
    problem = unavailable_problem(client.get("/api/v1/dits/DIT-2026-0001", headers=API))
    assert "momentanément indisponible" in problem["detail"]  # DITBOT_LOCALE=fr by default
    url = "/api/v1/dits/DIT-2026-0001/exchanges"
    problem = unavailable_problem(client.post(url, json=body, headers=headers))
    assert "briefly unavailable" in problem["detail"] and "again" in problem["detail"]

    outage.restore()
    assert count(db) == 0  # nothing was stored by the refused request
    created = client.post(url, json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    replay = client.post(url, json=body, headers=headers)
    assert replay.status_code == 200 and replay.get_json()["id"] == created.get_json()["id"]
    assert count(db) == 1


def test_the_portal_webhook_answers_503_stores_nothing_and_the_portal_retries_later(
    client: FlaskClient, db: Database, outage: Outage
) -> None:
    message = {
        "message_id": "portal-771",
        "dit": "DIT-2026-0001",
        "contact": "ACME-PM",
        "detail": "Le voyant rouge clignote encore.",
    }
    outage.cut()
    unavailable_problem(signed_post(client, message))
    unavailable_problem(signed_post(client, message))  # the portal retries while it is down

    outage.restore()
    assert count(db) == 0
    first = signed_post(client, message)
    assert first.status_code == 201, first.get_json()
    again = signed_post(client, message)
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    assert count(db, source="portal") == 1


def hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html))


def textarea(html: str) -> str:
    found = re.search(r'<textarea id="detail" name="detail"[^>]*>(.*?)</textarea>', html, re.S)
    assert found, html
    return found.group(1)


@pytest.mark.parametrize(
    ("language", "says"),
    [
        ("fr-FR,fr;q=0.9", "Merci de réessayer dans un instant."),
        ("en-US,en;q=0.9", "Please try again in a moment."),
    ],
)
def test_the_portal_page_keeps_the_typed_message_while_the_database_is_down(
    client: FlaskClient, db: Database, outage: Outage, language: str, says: str
) -> None:
    url = "/portal/" + make_token(PORTAL_SECRET, "DIT-2026-0001", "ACME-PM")
    headers = {"Accept-Language": language}
    fields = hidden_fields(client.get(url, headers=headers).get_data(as_text=True))
    typed = 'Toujours en panne <script>alert("x")</script> & le voyant clignote.'

    outage.cut()
    down = client.get(url, headers=headers)
    assert down.status_code == 503 and 'id="unavailable"' in down.get_data(as_text=True)
    answer = client.post(url, data={**fields, "detail": typed, "relance": "on"}, headers=headers)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 503 and answer.mimetype == "text/html"
    assert f'lang="{language[:2]}"' in html
    assert says in html
    assert textarea(html) == (
        "Toujours en panne &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; "
        "&amp; le voyant clignote."
    )
    assert 'name="relance" checked' in html
    kept = hidden_fields(html)
    assert kept["message_id"] == fields["message_id"]  # the same message, if it got through
    for word in ("Traceback", "OperationalError", "Internal Server Error"):
        assert word not in html

    outage.restore()
    assert count(db) == 0
    sent = client.post(url, data={**kept, "detail": typed, "relance": "on"}, headers=headers)
    assert sent.status_code == 303
    again = client.post(url, data={**kept, "detail": typed, "relance": "on"}, headers=headers)
    assert again.status_code == 303  # a double submit records one message
    assert count(db, source="portal", detail=typed) == 1


def test_the_outage_warning_names_a_portal_link_by_a_fingerprint_not_its_token(
    client: FlaskClient, outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    token = make_token(PORTAL_SECRET, "DIT-2026-0001", "ACME-PM")
    caplog.set_level(logging.INFO)
    outage.cut()
    assert client.get(f"/portal/{token}").status_code == 503
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        w.startswith(f"GET /portal/[token {fingerprint(token)}]: database unavailable")
        for w in warnings
    ), warnings
    assert token not in caplog.text
