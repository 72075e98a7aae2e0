"""The portal page with a long history: the latest messages first, older ones on demand (issue 13).

A page shows PAGE_SIZE messages, whatever the history holds, so it weighs and costs the same
with 10 or 5,000 exchanges; the link "Older messages" pages back, without ever showing what
the client may not see (staff's notes) and without skipping a message.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import insert

from ditbot.core.context import Context
from ditbot.domain.portal import PAGE_SIZE
from ditbot.portal.tokens import make_token
from storage import repositories as repo
from storage.models import Exchange
from tests.credentials import PORTAL_SECRET

START = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def link(dit: str = "DIT-2026-0001", contact: str = "ACME-PM") -> str:
    return "/portal/" + make_token(PORTAL_SECRET, dit, contact)


def history(ctx: Context, messages: int, *, notes_every: int = 0) -> None:
    """`messages` portal messages of ACME-PM on DIT-2026-0001, one a minute, numbered from 1;
    with `notes_every`, a staff note (never shown to the client) after every n messages."""
    with ctx.db.session() as session:
        dit = repo.dit_by_number(session, "DIT-2026-0001")
        contact = repo.contact_by_code(session, "ACME-PM")
        jdu = repo.collaborator_by_code(session, "JDU")
        assert dit is not None and contact is not None and jdu is not None
        rows: list[dict[str, Any]] = []
        for n in range(1, messages + 1):
            when = START + timedelta(minutes=n)
            rows.append(
                {
                    "dit_id": dit.id,
                    "direction": "received",
                    "type_code": "complement",
                    "sent_by_contact_id": contact.id,
                    "received_by_collaborator_id": jdu.id,
                    "detail": f"Message numéro {n}.",
                    "occurred_at": when,
                    "source": "portal",
                    "author_contact_id": contact.id,
                }
            )
            if notes_every and n % notes_every == 0:
                rows.append(
                    {
                        "dit_id": dit.id,
                        "direction": "received",
                        "type_code": "appel",
                        "sent_by_contact_id": contact.id,
                        "received_by_collaborator_id": jdu.id,
                        "detail": f"Note interne {n}.",
                        "occurred_at": when,
                        "source": "slack",
                        "author_collaborator_id": jdu.id,
                    }
                )
        session.execute(insert(Exchange), rows)


def shown(html: str) -> list[int]:
    """The numbers of the messages on the page, in the order the page shows them."""
    return [int(n) for n in re.findall(r"Message numéro (\d+)\.", html)]


def older_link(html: str) -> str | None:
    found = re.search(r'<a id="older" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_page_shows_the_latest_messages_first_and_pages_back_to_the_first(
    client: FlaskClient, ctx: Context
) -> None:
    history(ctx, 2 * PAGE_SIZE + 5, notes_every=3)
    url = link()
    html = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    latest = 2 * PAGE_SIZE + 5
    assert shown(html) == list(range(latest, latest - PAGE_SIZE, -1))
    assert "Note interne" not in html
    assert 'id="latest"' not in html  # already on the latest page

    seen = shown(html)
    pages = 1
    while (older := older_link(html)) is not None:
        assert older.startswith(url + "?before=")
        html = client.get(older, headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert "Note interne" not in html
        assert 'id="latest"' in html and "Latest messages" in html
        seen += shown(html)
        pages += 1
    assert pages == 3
    assert seen == list(range(latest, 0, -1))  # every message once, none skipped


def test_a_page_weighs_the_same_with_a_short_and_a_long_history(
    client: FlaskClient, ctx: Context
) -> None:
    history(ctx, PAGE_SIZE)
    short = client.get(link()).get_data()
    history(ctx, 500)  # numbered 1..500 again, later: the page shows the new ones
    long = client.get(link()).get_data()
    assert len(shown(long.decode())) == PAGE_SIZE
    assert abs(len(long) - len(short)) < 1000, (len(short), len(long))


def test_an_unknown_or_malformed_before_shows_the_latest_page(
    client: FlaskClient, ctx: Context
) -> None:
    history(ctx, PAGE_SIZE + 3)
    latest = list(range(PAGE_SIZE + 3, 3, -1))
    for before in ("abc", "-1", "99999999", "1" * 40):
        page = client.get(link() + f"?before={before}")
        assert page.status_code == 200
        assert shown(page.get_data(as_text=True)) == latest
