"""The core catalog: every `_()` message of the foundation has French, same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from ditbot.core.i18n import Translator, catalog, gettext, normalize_locale

ROOT = Path(__file__).resolve().parents[2]
FOUNDATION = [
    "ditbot/domain/errors.py",
    "ditbot/domain/exchanges.py",
    "ditbot/domain/people.py",
    "ditbot/domain/records.py",
    "ditbot/domain/reference.py",
    "ditbot/domain/validation.py",
    "ditbot/web/api.py",
    "ditbot/web/app.py",
    "ditbot/web/openapi.py",
    "ditbot/web/problems.py",
    "ditbot/web/serialize.py",
    "ditbot/cli/main.py",
    "ditbot/core/settings.py",
    "ditbot/cli/demo.py",
]
PLACEHOLDER = re.compile(r"{(\w*)}")


def message_ids(relative: str) -> list[str]:
    found = extract_from_file("python", ROOT / relative, keywords={"_": None})
    return [str(message) for _line, message, _comments, _context in found]


def foundation_ids() -> list[str]:
    return sorted({mid for path in FOUNDATION for mid in message_ids(path)})


def test_the_foundation_has_messages_to_translate() -> None:
    assert len(foundation_ids()) > 40


@pytest.mark.parametrize("message", foundation_ids())
def test_every_foundation_message_has_french(message: str) -> None:
    french = catalog("fr").get(message)
    assert french, f"no French for {message!r} (add it to ditbot/core/i18n/fr/core.po)"
    assert french != message
    assert sorted(PLACEHOLDER.findall(french)) == sorted(PLACEHOLDER.findall(message))


def test_core_po_has_no_stale_or_duplicate_entry() -> None:
    with (ROOT / "ditbot/core/i18n/fr/core.po").open("rb") as handle:
        entries = [str(m.id) for m in read_po(handle, locale="fr") if m.id]
    assert len(entries) == len(set(entries))
    assert sorted(entries) == foundation_ids()


def test_translation_fills_placeholders() -> None:
    t = Translator("fr-FR")
    assert t("Exchange {id} does not exist.", id=7) == "L'échange 7 n'existe pas."
    assert gettext("en", "Exchange {id} does not exist.", id=7) == "Exchange 7 does not exist."
    assert gettext("fr", "a message nobody translated") == "a message nobody translated"
    assert (normalize_locale("en_US"), normalize_locale("de"), normalize_locale(None)) == (
        "en",
        "fr",
        "fr",
    )
