"""The portal page without a browser: privacy, CSRF, limits, languages, 404s (CONTRACT.md s. 6)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from ditbot.core.context import Context
from ditbot.domain.exchanges import Actor, ExchangeInput, Party, log_exchange
from ditbot.portal import tokens
from ditbot.portal.tokens import make_token
from ditbot.web.portal_page import csrf_token
from storage import repositories as repo
from storage.db import Database
from storage.models import Dit
from storage.types import utcnow
from tests.credentials import API_TOKEN, PORTAL_SECRET
from tests.portal.conftest import legacy_token, signed_post, stored

SECRET = PORTAL_SECRET


def link(dit: str = "DIT-2026-0001", contact: str = "ACME-PM", **kwargs: Any) -> str:
    return "/portal/" + make_token(SECRET, dit, contact, **kwargs)


def form_of(html: str) -> dict[str, str]:
    """The hidden fields of the page's form."""
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html))


def write(client: FlaskClient, url: str, detail: str, **extra: str) -> Any:
    page = client.get(url)
    fields = form_of(page.get_data(as_text=True))
    return client.post(url, data={**fields, "detail": detail, **extra})


def test_the_page_shows_the_dit_and_a_form(client: FlaskClient) -> None:
    page = client.get(link(), headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'lang="fr"' in html
    assert "DIT-2026-0001" in html and "Copieur en panne" in html and "Acme SA" in html
    assert "En cours" in html
    assert "Paul Martin" in html
    assert '<textarea id="detail" name="detail" maxlength="3000" required>' in html
    assert 'name="relance"' in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert not re.search(r"(src|href)=\"https?://", html)  # no external asset


def test_the_page_speaks_english_to_an_english_browser(client: FlaskClient) -> None:
    html = client.get(link(), headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert 'lang="en"' in html and "In progress" in html and "Write to us" in html


def test_posting_records_the_message_and_redirects_to_the_page(
    client: FlaskClient, db: Database
) -> None:
    url = link()
    answer = write(client, url, "Le voyant clignote toujours.", relance="on")
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(url + "?sent=1#messages")
    page = client.get(url + "?sent=1").get_data(as_text=True)
    assert "Le voyant clignote toujours." in page
    assert 'id="sent"' in page
    assert stored(db).exchanges == 1
    assert stored(db).outbox == 2  # the dispatch channel and, as a relance, the managers'
    exchanges = client.get(
        "/api/v1/dits/DIT-2026-0001/exchanges", headers={"Authorization": f"Bearer {API_TOKEN}"}
    ).get_json()["exchanges"]
    assert [(e["source"], e["type"], e["sent_by"]["code"]) for e in exchanges] == [
        ("portal", "relance", "ACME-PM")
    ]


def test_a_double_submit_records_one_message(client: FlaskClient, db: Database) -> None:
    url = link()
    fields = form_of(client.get(url).get_data(as_text=True))
    for _ in range(2):
        answer = client.post(url, data={**fields, "detail": "Une seule fois"})
        assert answer.status_code == 303
    assert stored(db).exchanges == 1


def test_a_post_without_a_valid_csrf_token_stores_nothing(
    client: FlaskClient, db: Database
) -> None:
    url = link()
    token = url.rsplit("/", 1)[1]
    other = make_token(SECRET, "DIT-2026-0002", "ACME-CL")
    now = int(time.time())
    for csrf in (
        "",
        "123.abc",
        csrf_token(SECRET, other),
        csrf_token(SECRET, token, 1000),
        f"{now}.\u00e9{csrf_token(SECRET, token, now)[len(str(now)) + 2 :]}",  # non-ASCII: 400
    ):
        answer = client.post(url, data={"detail": "Forgé", "csrf": csrf})
        assert answer.status_code == 400
        html = answer.get_data(as_text=True)
        assert "Forgé" in html  # what the client typed is kept, to send it again
    assert stored(db).exchanges == 0


def test_a_too_long_or_blank_message_is_refused_with_the_text_kept(
    client: FlaskClient, db: Database
) -> None:
    url = link()
    long = write(client, url, "x" * 3001)
    assert long.status_code == 400
    assert "3000" in long.get_data(as_text=True)
    assert write(client, url, "   ").status_code == 400
    huge = write(client, url, "y" * (70 * 1024))
    assert huge.status_code == 413
    assert stored(db).exchanges == 0


def test_the_client_sees_only_what_was_written_to_or_by_them(
    client: FlaskClient, ctx: Context
) -> None:
    with ctx.db.session() as session:
        jdu = repo.collaborator_by_code(session, "JDU")
        staff = Actor(source="slack", collaborator=jdu)

        notes = [
            ExchangeInput(direction="received", detail="Note interne : client pénible"),
            ExchangeInput(direction="sent", detail="Appel sortant : laissé un message"),
        ]
        for note in notes:  # staff's notes of calls: never shown to the client
            log_exchange(session, "DIT-2026-0001", note, staff)
        log_exchange(
            session,
            "DIT-2026-0001",
            ExchangeInput(direction="sent", detail="Bonjour, le technicien passe jeudi."),
            staff,
            mail_status="sent",
        )
        log_exchange(
            session,
            "DIT-2026-0001",
            ExchangeInput(
                direction="sent",
                detail="Mail à Claire",
                received_by=Party("contact", "ACME-CL"),
            ),
            staff,
            mail_status="sent",
        )
    assert (
        signed_post(
            client,
            {
                "message_id": "cl",
                "dit": "DIT-2026-0001",
                "contact": "ACME-CL",
                "detail": "Message de Claire",
            },
        ).status_code
        == 201
    )
    assert (
        signed_post(
            client,
            {
                "message_id": "pm",
                "dit": "DIT-2026-0001",
                "contact": "ACME-PM",
                "detail": "Message de Paul",
            },
        ).status_code
        == 201
    )
    html = client.get(link()).get_data(as_text=True)
    assert "Bonjour, le technicien passe jeudi." in html
    assert "Message de Paul" in html
    for hidden in ("Note interne", "Appel sortant", "Mail à Claire", "Message de Claire"):
        assert hidden not in html
    assert html.index("Message de Paul") < html.index("Bonjour, le technicien")  # latest first
    claire = client.get(link(contact="ACME-CL")).get_data(as_text=True)
    assert "Mail à Claire" in claire and "Message de Claire" in claire
    assert "Message de Paul" not in claire and "passe jeudi" not in claire


def test_a_closed_dit_beyond_the_window_shows_no_form_and_refuses_posts(
    client: FlaskClient, db: Database
) -> None:
    url = link()
    fields = form_of(client.get(url).get_data(as_text=True))
    with db.session() as session:
        session.execute(
            update(Dit)
            .where(Dit.number == "DIT-2026-0001")
            .values(state="cloturee", finished_at=utcnow() - timedelta(days=30))
        )
    page = client.get(url).get_data(as_text=True)
    assert "<textarea" not in page and 'id="closed"' in page
    answer = client.post(url, data={**fields, "detail": "Trop tard ?"})
    assert answer.status_code == 409
    assert stored(db).exchanges == 0


def test_bad_links_get_the_same_plain_404_page(client: FlaskClient, ctx: Context) -> None:
    past = utcnow() - timedelta(days=31)
    urls = [
        link(now=past),  # expired
        "/portal/" + make_token("another-secret", "DIT-2026-0001", "ACME-PM"),
        "/portal/garbage",
        "/portal/",
        "/portal/a/b",
        link(dit="DIT-1999-0404"),
        link(contact="BOUL-LL"),  # a contact of another client
    ]
    pages = []
    for url in urls:
        for method in (client.get, client.post):
            answer = method(url, headers={"Accept-Language": "fr"})
            assert answer.status_code == 404, url
            pages.append(answer.get_data(as_text=True))
    for page in pages:
        assert "Page introuvable" in page
        assert "DIT-" not in page and "Acme" not in page and "Paul" not in page


def test_a_link_issued_before_itsdangerous_opens_the_page_until_it_expires(
    client: FlaskClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    expiry = utcnow().replace(microsecond=0) + timedelta(days=10)
    url = "/portal/" + legacy_token(SECRET, "DIT-2026-0001", "ACME-PM", expiry)
    clock: list[datetime] = [expiry - timedelta(seconds=1)]
    monkeypatch.setattr(tokens, "utcnow", lambda: clock[0])
    page = client.get(url)
    assert page.status_code == 200
    assert "DIT-2026-0001" in page.get_data(as_text=True)
    assert write(client, url, "Toujours en panne.").status_code == 303
    assert stored(db).exchanges == 1
    clock[0] = expiry
    for method in (client.get, client.post):
        answer = method(url)
        assert answer.status_code == 404
        assert "DIT-" not in answer.get_data(as_text=True)
