"""The message catalog: English message ids, GNU gettext catalogs made with Babel's tooling.

`pybabel extract -F babel.cfg` collects the ids into `messages.pot`; each language has its
`<locale>/LC_MESSAGES/messages.po` (one domain, `messages`). The `.po` is compiled in memory at
first use, so an editable install and a wheel read the same file and no `.mo` can go stale.
English is the msgid itself. Messages use `{name}` placeholders, filled after translation.
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

__all__ = [
    "DOMAIN",
    "LOCALES",
    "N_",
    "Plural",
    "Text",
    "Translator",
    "_",
    "gettext",
    "normalize_locale",
    "po_path",
    "translations",
]

LOCALES = ("fr", "en")
SOURCE_LOCALE = "en"
DOMAIN = "messages"
HERE = Path(__file__).parent


class Plural(str):
    """A message id with a plural form; the str itself is the singular (the catalog's msgid).

    `n` names the parameter whose value picks the form: `N_("{days} day", "{days} days", "days")`.
    """

    plural: str
    n: str

    def __new__(cls, singular: str, plural: str, n: str = "count") -> Plural:
        self = super().__new__(cls, singular)
        self.plural = plural
        self.n = n
        return self

    def __getnewargs__(self) -> tuple[str, str, str]:  # type: ignore[override]
        return (str(self), self.plural, self.n)


def po_path(locale: str) -> Path:
    """Where the catalog of `locale` lives (`fr/LC_MESSAGES/messages.po`)."""
    return HERE / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def _complete(catalog: Catalog) -> Catalog:
    """`catalog` without the plural entries that miss a form (those fall back to English)."""
    for message in list(catalog):
        forms = message.string
        if message.pluralizable and not (isinstance(forms, tuple | list) and all(forms)):
            catalog.delete(message.id, context=message.context)
    return catalog


@cache
def translations(locale: str) -> NullTranslations:
    """The GNU translations of `locale`: its `.po` compiled in memory; English returns the ids."""
    path = po_path(locale)
    if locale == SOURCE_LOCALE or not path.is_file():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, _complete(catalog), use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def normalize_locale(value: str | None, default: str = "fr") -> str:
    """'fr-FR', 'en_US', 'en' -> 'fr' / 'en'; anything else -> `default`."""
    if value:
        short = value.replace("_", "-").split("-")[0].lower()
        if short in LOCALES:
            return short
    return default


def _fill(text: str, params: dict[str, Any]) -> str:
    return text.format(**params) if params else text


def gettext(locale: str, message: str, **params: Any) -> str:
    """Translate `message` into `locale`, then fill its `{name}` placeholders with `params`.

    A `Plural` (from `N_`) takes the form that `params[message.n]` calls for.
    """
    if isinstance(message, Plural):
        return _plural(locale, message, message.plural, params[message.n], params)
    if not message:  # gettext("") is the catalog's header, not a message
        return message
    return _fill(translations(locale).gettext(message), params)


def _plural(locale: str, singular: str, plural: str, n: int | str, params: dict[str, Any]) -> str:
    """The form of `singular`/`plural` that `n` calls for in `locale`, placeholders filled.

    `n` may come as text (a pydantic limit passed on as a parameter): it is read as an int.
    """
    return _fill(translations(locale).ngettext(str(singular), plural, int(n)), params)


class Text:
    """A message and its parameters, said later in a language: `Text(_("{n} waiting"), n=3)`.

    A parameter that is itself a Text is said in the same language. `str()` is the English.
    """

    __slots__ = ("message", "params")

    def __init__(self, message: str, **params: Any) -> None:
        self.message = message
        self.params = params

    def say(self, locale: str) -> str:
        """The message in `locale`, its placeholders filled (nested Texts said in `locale`)."""
        params = {
            name: value.say(locale) if isinstance(value, Text) else value
            for name, value in self.params.items()
        }
        return gettext(locale, self.message, **params)

    def __str__(self) -> str:
        return self.say(SOURCE_LOCALE)

    def __repr__(self) -> str:
        return f"Text({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Text):
            return NotImplemented
        return (self.message, self.params) == (other.message, other.params)

    def __hash__(self) -> int:
        return hash(self.message)


class Translator:
    """`_` bound to one language: `t = Translator("fr"); t("Save")`."""

    def __init__(self, locale: str) -> None:
        self.locale = normalize_locale(locale)

    def __call__(self, message: str, **params: Any) -> str:
        """`t(_("Exchange {id}"), id=7)`; `t(N_("{count} DIT", "{count} DITs"), count=2)`."""
        return gettext(self.locale, message, **params)

    def ngettext(self, singular: str, plural: str, n: int, **params: Any) -> str:
        """`t.ngettext("{count} DIT", "{count} DITs", n, count=n)`: the form `n` calls for."""
        return _plural(self.locale, singular, plural, n, params)


def _(message: str) -> str:
    """Mark a message id for the catalog without translating it yet (translated at the edge)."""
    return message


def N_(singular: str, plural: str, n: str = "count") -> Plural:
    """Mark a message with a plural; `n` names the parameter that will hold the number."""
    return Plural(singular, plural, n)
