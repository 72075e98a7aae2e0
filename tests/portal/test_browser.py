"""The portal page in a real headless Chromium (Debian's), driven by Playwright.

The app is served by waitress on 127.0.0.1 (port 0). Outside CI, a machine without
/usr/bin/chromium skips these tests and says why; in CI a missing browser is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ditbot.portal.tokens import make_token
from storage.db import Database
from storage.types import utcnow
from tests.credentials import PORTAL_SECRET
from tests.portal.conftest import LiveServer, stored

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SECRET = PORTAL_SECRET


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is absent (apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: in CI the browser tests must run")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    # Depends on live_server so that it closes first: its keep-alive connections would hold
    # the server's shutdown.
    context = browser.new_context(
        locale="fr-FR", viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True
    )
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    dialogs: list[str] = []
    opened.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    opened.dialogs = dialogs
    yield opened
    context.close()


def portal_link(server: LiveServer, **kwargs: Any) -> str:
    return f"{server.url}/portal/{make_token(SECRET, 'DIT-2026-0001', 'ACME-PM', **kwargs)}"


def test_a_client_opens_the_link_writes_and_sees_the_message(
    page: Any, live_server: LiveServer, db: Database
) -> None:
    response = page.goto(portal_link(live_server))
    assert response.status == 200
    assert page.locator("h1").inner_text() == "DIT-2026-0001 · Copieur en panne"
    assert page.locator("#state").inner_text() == "En cours"
    assert page.locator(".empty").inner_text() == "Aucun message pour l’instant."
    page.fill("textarea[name=detail]", "Le copieur fait un bruit étrange.\nDepuis ce matin.")
    page.check("input[name=relance]")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url.endswith("?sent=1#messages")
    assert page.locator("#sent").is_visible()
    message = page.locator("li.msg.mine")
    assert message.count() == 1
    assert message.locator(".detail").inner_text() == (
        "Le copieur fait un bruit étrange.\nDepuis ce matin."
    )
    assert message.locator(".tag").inner_text() == "Relance"
    assert page.locator("textarea[name=detail]").input_value() == ""
    # Readable on a phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert stored(db).exchanges == 1


def test_a_script_in_a_message_is_shown_as_text(
    page: Any, live_server: LiveServer, db: Database
) -> None:
    page.goto(portal_link(live_server))
    attack = '<script>alert("pwned")</script><img src=x onerror="alert(1)"> & <b>gras</b>'
    page.fill("textarea[name=detail]", attack)
    with page.expect_navigation():
        page.click("button[type=submit]")
    shown = page.locator("li.msg.mine .detail")
    assert shown.inner_text() == attack
    assert page.locator("script").count() == 0
    assert page.locator("li.msg img, li.msg b").count() == 0
    page.reload()
    assert page.dialogs == []


def test_an_expired_link_shows_the_404_page(page: Any, live_server: LiveServer) -> None:
    response = page.goto(portal_link(live_server, now=utcnow() - timedelta(days=31)))
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Page introuvable"
    body = page.locator("body").inner_text()
    assert "DIT" not in body and "Acme" not in body and "Paul" not in body
    assert page.locator("form").count() == 0


def test_the_page_follows_an_english_browser(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(locale="en-US")
    try:
        english = context.new_page()
        english.goto(portal_link(live_server))
        assert english.locator("#state").inner_text() == "In progress"
        assert english.locator("button[type=submit]").inner_text() == "Send"
    finally:
        context.close()
