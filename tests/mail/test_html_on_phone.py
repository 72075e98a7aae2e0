"""The HTML mail on a phone, in a real headless Chromium (Debian's) emulating one.

A phone lays out a page without a viewport meta 980 px wide (the text then reads tiny), and
one long word (a reference, a URL) with no `overflow-wrap` stretches the page sideways.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ditbot.mail.render import MailContext, render

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
PHONE = {"width": 375, "height": 740}


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


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_html_mail_fits_a_phone_screen(browser: Any, locale: str) -> None:
    reference = "REF-" + "0123456789ABCDEF" * 40  # one 644-character word
    mail = render(
        MailContext(
            subject="[DIT-2026-0001] Copieur en panne",
            message=f"Votre dossier : {reference}\nÀ jeudi.",
            dit_number="DIT-2026-0001",
            dit_title="Copieur en panne",
            contact_name="Paul Martin",
            sender_name="Jeanne Dupuis",
            sender_email="j.dupuis@sav.example",
            company="DIT SAV",
            portal_url="http://localhost:3000/portal/" + "x" * 300,
        ),
        locale,
    )
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.set_content(mail.html)
        layout_width = page.evaluate("window.innerWidth")
        content_width = page.evaluate("document.documentElement.scrollWidth")
    finally:
        context.close()
    assert layout_width == PHONE["width"]  # laid out for the phone, not a 980 px desktop
    assert content_width <= PHONE["width"]  # nothing to scroll sideways
