"""Refusals of the domain: typed, each with a message a user can act on.

A message is an English catalog id with `{placeholders}`; the edge (Slack, REST, CLI) translates
it with `ditbot.core.i18n.gettext`. `field` names the form field at fault, when there is one.
"""

from __future__ import annotations

from typing import Any

from ditbot.core.i18n import gettext


class DomainError(Exception):
    """Base of every refusal; `status` is the HTTP status the REST API answers."""

    status = 400

    def __init__(self, message: str, field: str | None = None, **params: Any) -> None:
        super().__init__(gettext("en", message, **params))
        self.message_id = message
        self.field = field
        self.params = params

    def message(self, locale: str = "en") -> str:
        """The message in `locale`; a parameter that is itself a DomainError is translated too."""
        params = {
            name: value.message(locale) if isinstance(value, DomainError) else value
            for name, value in self.params.items()
        }
        return gettext(locale, self.message_id, **params)


class NotFound(DomainError):
    status = 404


class ValidationFailed(DomainError):
    """One or more fields are wrong; `errors` maps each field to its own refusal."""

    status = 400

    def __init__(self, errors: dict[str, DomainError]) -> None:
        first = next(iter(errors.values()))
        super().__init__(first.message_id, first.field, **first.params)
        self.errors = errors

    def messages(self, locale: str = "en") -> dict[str, str]:
        return {name: error.message(locale) for name, error in self.errors.items()}

    def message(self, locale: str = "en") -> str:
        parts = []
        for name, error in self.errors.items():
            text = error.message(locale)
            parts.append(text if text.startswith(name) else f"{name}: {text}")
        return " ".join(parts)


class UnknownReference(ValidationFailed):
    """A field names a record that does not exist (a client, a contact, a collaborateur):
    404, as the REST API answers for an unknown DIT or party."""

    status = 404


class Clash(ValidationFailed):
    """A field is fine alone but clashes with what is stored (a Slack id or a Mail 1 that is
    another collaborateur's, a contact of another client): 409, with the field named."""

    status = 409


class NotAllowed(DomainError):
    status = 403


class Conflict(DomainError):
    """The request is fine but the state of things forbids it (closed DIT, say)."""

    status = 409


class NotLinked(DomainError):
    """A Slack user who is not linked to any collaborateur."""

    status = 403
