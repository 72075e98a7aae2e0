"""The shape of reference data (CONTRACT.md section 5), shared by `ditbot import` and the API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, field_validator

from ditbot.core.i18n import _
from ditbot.domain.errors import DomainError
from ditbot.domain.validation import (
    EMAIL_PATTERN,
    REQUIRED_LINE_PATTERN,
    clean_email,
    clean_line,
    clean_moment,
)
from storage.vocabulary import DitState


def _email(value: str | None) -> str | None:
    try:
        return clean_email(value, "mail")
    except DomainError as error:
        # The refusal rides in the ValueError, so the message stays translatable.
        raise ValueError(error) from None


def line_rule(value: str) -> str:
    """Names, codes and numbers are single lines with no invisible character (one rule for
    every entry point: ditbot/domain/validation.py)."""
    try:
        text = clean_line(value)
    except DomainError as error:
        raise ValueError(error) from None
    if not text:
        raise ValueError(DomainError(_("this field is required")))
    return text


def _moment(value: datetime) -> datetime:
    """A moment in range; one without a zone is UTC."""
    try:
        return clean_moment(value)
    except DomainError as error:
        raise ValueError(error) from None


def _zoned_moment(value: datetime) -> datetime:
    """A moment in range that says its time zone (a client's or a caller's clock)."""
    try:
        return clean_moment(value, zone=True)
    except DomainError as error:
        raise ValueError(error) from None


Email = Annotated[
    str | None, AfterValidator(_email), Field(json_schema_extra={"pattern": EMAIL_PATTERN})
]
# The JSON schema says what clean_moment checks: a year from 1970 to 2099 (and, for a
# ZonedMoment, a zone), so that a generated request the document allows is one ditbot accepts.
_YEARS = r"^(19[7-9][0-9]|20[0-9][0-9])-"
_ZONE = r"(Z|z|[+-][0-9]{2}:[0-9]{2})$"
Moment = Annotated[
    datetime, AfterValidator(_moment), Field(json_schema_extra={"pattern": _YEARS})
]  # a date and time a UTC column holds; one without a zone is taken as UTC
ZonedMoment = Annotated[
    datetime,
    AfterValidator(_zoned_moment),
    Field(json_schema_extra={"pattern": _YEARS + ".*" + _ZONE}),
]
ONE_LINE = {"pattern": REQUIRED_LINE_PATTERN}  # documents line_rule
Line = Annotated[str, AfterValidator(line_rule), Field(json_schema_extra=ONE_LINE)]
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
SLACK_USER_PATTERN = r"^[UW][A-Z0-9]{2,}$"
_CODE = re.compile(CODE_PATTERN)


def code_rule(value: str) -> str:
    """A code, trimmed: letters, digits, '.', '_' and '-', starting with a letter or digit."""
    text = value.strip()
    if not _CODE.match(text):
        raise ValueError(
            DomainError(
                _("use only letters, digits, '.', '_' and '-', starting with a letter or digit")
            )
        )
    return text


# Lengths count what was sent (the document can say no other); blanks around are trimmed.
CODE_MAX = 40
NUMBER_MAX = 40  # a DIT's number
TITLE_MAX = 300  # a DIT's title
Code = Annotated[
    str,
    Field(
        min_length=1,
        max_length=CODE_MAX,
        json_schema_extra={"pattern": r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*$"},
    ),
    AfterValidator(code_rule),
]
# The length constraints come before the line rule, so that pydantic reports them as such.
Name = Annotated[
    str, Field(min_length=1, max_length=200, json_schema_extra=ONE_LINE), AfterValidator(line_rule)
]
Number = Annotated[
    str,
    Field(min_length=1, max_length=NUMBER_MAX, json_schema_extra=ONE_LINE),
    AfterValidator(line_rule),
]  # a DIT


CHANNEL_PATTERN = r"^[CG][A-Z0-9]{2,}$"
# Strict: JSON true is not a number of hours (pydantic's lax mode would read it as 1.0).
Hours = Annotated[float, Strict(), Field(gt=0, le=24 * 366)]


class Record(BaseModel):
    # No str_strip_whitespace: it would trim before the length checks, which then count less
    # than the document says; every text rule trims by itself (line_rule, code_rule, _email).
    model_config = ConfigDict(extra="forbid")


class CollaboratorRecord(Record):
    code: Code
    name: Name
    mail1: Email = None
    mail2: Email = None
    slack_user_id: Annotated[str | None, Field(pattern=SLACK_USER_PATTERN)] = None
    manager: bool = False
    team: Code | None = None  # the code of their team (agence)


class ContactRecord(Record):
    code: Code
    name: Name
    mail1: Email = None
    mail2: Email = None


class ClientRecord(Record):
    code: Code
    name: Name
    contacts: list[ContactRecord] = Field(default_factory=list)
    team: Code | None = None  # the code of the team (agence) that serves this client
    # Response targets of this client in business hours (null: the global DITBOT_TARGET_*).
    first_response_hours: Hours | None = None
    next_response_hours: Hours | None = None


STATE_VALUES = frozenset(state.value for state in DitState)  # checked once per row: built once


class DitRecord(Record):
    number: Number
    client: Code
    contact: Code | None = None
    title: Annotated[
        str,
        Field(min_length=1, max_length=TITLE_MAX, json_schema_extra=ONE_LINE),
        AfterValidator(line_rule),
    ]
    state: DitState = DitState.EN_COURS
    technician: Code | None = None
    created_at: Moment | None = None

    @field_validator("state", mode="before")
    @classmethod
    def _known_state(cls, value: object) -> object:
        if not isinstance(value, str) or value not in STATE_VALUES:  # [] or {}: unhashable
            raise ValueError(
                DomainError(
                    _("unknown state '{value}'; use one of {states}"),
                    "state",
                    value=str(value)[:40],
                    states=", ".join(DitState),
                )
            )
        return value


class ExchangeTypeRecord(Record):
    code: Code
    label_fr: Name
    label_en: Name
    relance: bool = False
    active: bool = True


class TeamRecord(Record):
    """A team (agence) and its channels (null: the global DITBOT_CHANNEL_*)."""

    code: Code
    name: Name
    channel_portal: Annotated[str | None, Field(pattern=CHANNEL_PATTERN)] = None
    channel_managers: Annotated[str | None, Field(pattern=CHANNEL_PATTERN)] = None
    locale: Literal["fr", "en"] | None = None


class ImportFile(Record):
    teams: list[TeamRecord] = Field(default_factory=list)
    exchange_types: list[ExchangeTypeRecord] = Field(default_factory=list)
    collaborators: list[CollaboratorRecord] = Field(default_factory=list)
    clients: list[ClientRecord] = Field(default_factory=list)
    dits: list[DitRecord] = Field(default_factory=list)
