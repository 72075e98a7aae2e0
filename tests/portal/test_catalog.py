"""The portal and notification texts: every one has French, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from ditbot.core.i18n import catalog

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    "ditbot/domain/portal.py",
    "ditbot/cli/portal_link.py",
    "ditbot/web/portal_page.py",
    "ditbot/web/portal_webhook.py",
    "bot/views/notifications.py",
    "bot/workers/notifications.py",
]
TEMPLATES = sorted((ROOT / "ditbot/web/templates").glob("*.html"))
SAME_IN_FRENCH = {"RELANCE", "(relance)", "Slack", "API", "mail"}
PLACEHOLDER = re.compile(r"{(\w*)}")
TEMPLATE_CALL = re.compile(r"""\bt\(\s*"((?:[^"\\]|\\.)*)\"""")


def message_ids() -> list[str]:
    found: set[str] = set()
    for relative in SOURCES:
        for _line, message, _c, _ctx in extract_from_file(
            "python", ROOT / relative, keywords={"_": None, "t": None}
        ):
            if isinstance(message, str) and message:
                found.add(message)
    for template in TEMPLATES:
        found.update(TEMPLATE_CALL.findall(template.read_text(encoding="utf-8")))
    return sorted(found)


def test_there_are_texts_to_translate() -> None:
    assert len(message_ids()) > 30


@pytest.mark.parametrize("message", message_ids())
def test_every_text_has_french(message: str) -> None:
    french = catalog("fr").get(message)
    assert french, f"no French for {message!r} (add it to ditbot/core/i18n/fr/portal.po)"
    assert french != message or message in SAME_IN_FRENCH
    assert sorted(PLACEHOLDER.findall(french)) == sorted(PLACEHOLDER.findall(message))


def test_portal_po_has_no_duplicate_entry() -> None:
    with (ROOT / "ditbot/core/i18n/fr/portal.po").open("rb") as handle:
        entries = [str(m.id) for m in read_po(handle, locale="fr") if m.id]
    assert len(entries) == len(set(entries))
