"""Field rules shared by every way data comes in (Slack forms, REST, import, portal)."""

from __future__ import annotations

import re

from ditbot.core.i18n import _
from ditbot.domain.errors import DomainError

DETAIL_MAX = 3000
SUBJECT_MAX = 300
EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def clean_email(value: str | None, field: str) -> str | None:
    """A stripped e-mail address, None when empty; refuses anything that is not one."""
    if value is None or not value.strip():
        return None
    address = value.strip()
    if len(address) > 254 or not EMAIL.match(address) or ".." in address:
        raise DomainError(
            _("'{value}' is not a valid e-mail address (expected name@domain.tld)."),
            field,
            value=address[:80],
        )
    return address


def clean_detail(value: str | None, field: str = "detail") -> str:
    """The required Détail: not blank, at most 3000 characters."""
    text = (value or "").strip()
    if not text:
        raise DomainError(_("The detail is required: write what was said."), field)
    if len(text) > DETAIL_MAX:
        raise DomainError(
            _("The detail is {length} characters long; the limit is {limit}. Shorten it."),
            field,
            length=len(text),
            limit=DETAIL_MAX,
        )
    return text


def clean_subject(value: str | None, field: str = "subject") -> str | None:
    text = (value or "").strip()
    if len(text) > SUBJECT_MAX:
        raise DomainError(
            _("The subject is {length} characters long; the limit is {limit}."),
            field,
            length=len(text),
            limit=SUBJECT_MAX,
        )
    return text or None
