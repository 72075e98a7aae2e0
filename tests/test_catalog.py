"""The message catalog, checked the way `pybabel extract -F babel.cfg` sees the whole project.

Every message found in the code and the templates has a reviewed French translation with the
same placeholders, the French catalog and `messages.pot` hold nothing else, and the runtime
(`ditbot.core.i18n`) picks the right forms. README, "Translations", says how to fix a failure.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from ditbot.core import i18n
from ditbot.core.i18n import N_, Translator, _, gettext, normalize_locale, po_path
from ditbot.domain.errors import DomainError
from ditbot.domain.reference import PROBLEMS

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = i18n.HERE / "messages.pot"
PLACEHOLDER = re.compile(r"{(\w*)}")
EMOJI = re.compile(r":[a-z0-9_+\-]+:")  # Slack's :warning: is no punctuation
# French typography wants a narrow no-break space (U+202F) before : ; ? ! and inside « »: an
# ordinary or a wide no-break space (U+00A0) there, or none before ; ? ! and inside the quotes,
# is wrong (a glued colon may be code: "Content-Type: …").
TYPOGRAPHY = re.compile(
    r"[ \u00a0][:;?!»]|«[ \u00a0]|«(?!\u202f)|(?<!\u202f)»|(?<=[^\s\u202f])[;?!]"
)
FIX = "run the extract and update commands of README, 'Translations', then translate"


@cache
def extracted() -> Catalog:
    """What `pybabel extract -F babel.cfg .` finds (same mapping, keywords and defaults)."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, "babel.cfg")
    catalog = Catalog(project="ditbot")
    for path, line, message, comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        catalog.add(message, None, [(path, line)], auto_comments=comments, context=context)
    return catalog


@cache
def french() -> Catalog:
    with po_path("fr").open("rb") as handle:
        return read_po(handle, locale="fr")


def ids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    return {message.id for message in catalog if message.id}


def forms(message: Message) -> tuple[str, ...]:
    value = message.string
    return tuple(value) if isinstance(value, tuple | list) else (value or "",)


def placeholders(text: str) -> list[str]:
    return sorted(set(PLACEHOLDER.findall(text)))


def test_extraction_finds_the_code_and_the_templates() -> None:
    found = {message.id: message for message in extracted() if message.id}
    assert len(found) > 200
    assert {"What /dit can do:", "this field is required", "Page not found"} <= set(found)
    assert {path for m in found.values() for path, _line in m.locations} >= {
        "bot/views/help.py",
        "ditbot/domain/reference.py",
        "ditbot/web/templates/not_found.html",
    }


def test_every_message_has_a_reviewed_french_translation_with_its_placeholders() -> None:
    problems = []
    for message in extracted():
        if not message.id:
            continue
        where = ", ".join(path for path, _line in message.locations)
        translated = french().get(message.id, context=message.context)
        if translated is None:
            problems.append(f"{where}: no French entry for {message.id!r}")
            continue
        if translated.fuzzy or not all(forms(translated)):
            problems.append(f"{where}: French of {message.id!r} is fuzzy or empty")
            continue
        if isinstance(message.id, tuple) and len(forms(translated)) != 2:
            problems.append(f"{where}: French of {message.id!r} needs 2 forms (n <= 1, n > 1)")
        english = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = placeholders(english[0])
        if any(placeholders(text) != wanted for text in (*english, *forms(translated))):
            problems.append(f"{where}: placeholders differ in {message.id!r} / {forms(translated)}")
    assert problems == [], f"{FIX}:\n" + "\n".join(problems)


def test_the_french_catalog_and_the_template_hold_nothing_stale() -> None:
    wanted = ids(extracted())
    assert sorted(map(str, ids(french()) - wanted)) == [], f"stale French entries: {FIX}"
    assert not french().obsolete, "obsolete (#~) entries: pybabel update --ignore-obsolete"
    with TEMPLATE.open("rb") as handle:
        template = read_po(handle)
    assert ids(template) == wanted, f"{TEMPLATE.name} is not what extraction finds: {FIX}"


def test_french_puts_no_break_spaces_around_its_punctuation() -> None:
    wrong = [
        text
        for message in french()
        if message.id
        for text in forms(message)
        if TYPOGRAPHY.search(EMOJI.sub("", text))
    ]
    assert wrong == [], "use U+202F before : ; ? ! and inside « » (see TYPOGRAPHY)"


def test_french_writes_the_typographic_apostrophe() -> None:
    """« l’échange », not « l'échange »: one apostrophe everywhere a French user reads us."""
    wrong = [text for message in french() if message.id for text in forms(message) if "'" in text]
    assert wrong == [], "write ’ (U+2019) in French text, not '"


def test_no_catalog_call_hides_in_an_f_string() -> None:
    """Python 3.11 tokenizes an f-string as one string: a `_()` inside it is never extracted."""
    markers = {"_", "N_", "t", "ngettext"}
    found = []
    sources = sorted(
        path for top in ("bot", "ditbot", "storage") for path in (ROOT / top).rglob("*.py")
    )
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.JoinedStr):
                continue
            for call in ast.walk(node):
                if isinstance(call, ast.Call):
                    name = getattr(call.func, "id", getattr(call.func, "attr", ""))
                    if name in markers:
                        found.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert found == [], "pass the translated text as a placeholder instead"


def test_translation_fills_placeholders_and_falls_back_to_english() -> None:
    t = Translator("fr-FR")
    assert t(_("Exchange {id} does not exist."), id=7) == "L’échange 7 n’existe pas."
    assert gettext("en", "Exchange {id} does not exist.", id=7) == "Exchange 7 does not exist."
    assert gettext("fr", "a message nobody translated") == "a message nobody translated"
    assert gettext("fr", "") == ""
    assert (normalize_locale("en_US"), normalize_locale("de"), normalize_locale(None)) == (
        "en",
        "fr",
        "fr",
    )


@pytest.mark.parametrize(
    ("locale", "n", "text"),
    [
        ("fr", 0, "0 échange"),
        ("fr", 1, "1 échange"),
        ("fr", 2, "2 échanges"),
        ("en", 0, "0 exchanges"),
        ("en", 1, "1 exchange"),
        ("en", 2, "2 exchanges"),
    ],
)
def test_plural_forms_follow_each_language(locale: str, n: int, text: str) -> None:
    """French takes the singular for 0 and 1 (`n > 1`), English for 1 only (`n != 1`)."""
    t = Translator(locale)
    assert t(N_("{count} exchange", "{count} exchanges"), count=n) == text
    assert t.ngettext("{count} exchange", "{count} exchanges", n, count=n) == text


def test_the_french_catalog_has_the_french_plural_rule() -> None:
    """Two forms, singular for 0 and 1 (Babel's CLDR default for French has a third one)."""
    assert french().plural_forms == "nplurals=2; plural=(n > 1);"


def test_a_plural_message_id_keeps_its_forms_until_translated() -> None:
    message = N_("{where} had {days} day", "{where} had {days} days", "days")
    error = DomainError(message, None, where="here", days="1")
    assert str(error) == "here had 1 day"
    assert error.message("en") == "here had 1 day"
    assert DomainError(message, None, where="here", days=3).message("en") == "here had 3 days"
    too_short = DomainError(PROBLEMS["string_too_short"], None, min_length="1")  # as pydantic's
    assert too_short.message("fr") == "au moins 1 caractère"
    assert too_short.message("en") == "at least 1 character"
