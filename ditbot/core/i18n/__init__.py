"""The message catalog: English message ids, French translations in `fr/*.po`.

Each area of the product keeps its own `.po` file (core, slack, mail, portal); all of them are
read once, with Babel, into one catalog per language. English is the msgid itself.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LOCALES = ("fr", "en")
HERE = Path(__file__).parent


@cache
def catalog(locale: str) -> dict[str, str]:
    """msgid -> translation for `locale` (empty for English)."""
    messages: dict[str, str] = {}
    folder = HERE / locale
    if not folder.is_dir():
        return messages
    for po in sorted(folder.glob("*.po")):
        with po.open("rb") as handle:
            for message in read_po(handle, locale=locale):
                if message.id and message.string and not message.fuzzy:
                    messages[str(message.id)] = str(message.string)
    return messages


def normalize_locale(value: str | None, default: str = "fr") -> str:
    """'fr-FR', 'en_US', 'en' -> 'fr' / 'en'; anything else -> `default`."""
    if value:
        short = value.replace("_", "-").split("-")[0].lower()
        if short in LOCALES:
            return short
    return default


def gettext(locale: str, message: str, **params: Any) -> str:
    """Translate `message` into `locale`, then fill `{name}` placeholders with `params`."""
    text = catalog(locale).get(message, message) if locale != "en" else message
    return text.format(**params) if params else text


class Translator:
    """`_` bound to one language: `t = Translator("fr"); t("Save")`."""

    def __init__(self, locale: str) -> None:
        self.locale = normalize_locale(locale)

    def __call__(self, message: str, **params: Any) -> str:
        return gettext(self.locale, message, **params)


def _(message: str) -> str:
    """Mark a message id for the catalog without translating it yet (translated at the edge)."""
    return message
