"""The shape of reference data (CONTRACT.md section 5), shared by `ditbot import` and the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from ditbot.core.i18n import _
from ditbot.domain.errors import DomainError
from ditbot.domain.validation import clean_email
from storage.vocabulary import DitState


def _email(value: str | None) -> str | None:
    try:
        return clean_email(value, "mail")
    except DomainError as error:
        # The refusal rides in the ValueError, so the message stays translatable.
        raise ValueError(error) from None


def _fits_utc(value: datetime) -> datetime:
    """Refuse a moment UTC cannot write (year 1 or 9999 with an offset): a 400, not a crash."""
    if value.tzinfo is not None and not 1 < value.year < 9999:  # (checked per imported row)
        try:
            value.astimezone(UTC)
        except OverflowError:
            message = _("a date and time is expected here, e.g. 2026-11-20T08:00:00Z")
            raise ValueError(DomainError(message)) from None
    return value


Email = Annotated[str | None, AfterValidator(_email)]
Moment = Annotated[datetime, AfterValidator(_fits_utc)]  # a date and time a UTC column holds
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
SLACK_USER_PATTERN = r"^[UW][A-Z0-9]{2,}$"
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=CODE_PATTERN)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CollaboratorRecord(Record):
    code: Code
    name: Name
    mail1: Email = None
    mail2: Email = None
    slack_user_id: Annotated[str | None, Field(pattern=SLACK_USER_PATTERN)] = None
    manager: bool = False


class ContactRecord(Record):
    code: Code
    name: Name
    mail1: Email = None
    mail2: Email = None


class ClientRecord(Record):
    code: Code
    name: Name
    contacts: list[ContactRecord] = Field(default_factory=list)


STATE_VALUES = frozenset(state.value for state in DitState)  # checked once per row: built once


class DitRecord(Record):
    number: Annotated[str, Field(min_length=1, max_length=40)]
    client: Code
    contact: Code | None = None
    title: Annotated[str, Field(min_length=1, max_length=300)]
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

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class ExchangeTypeRecord(Record):
    code: Code
    label_fr: Name
    label_en: Name
    relance: bool = False
    active: bool = True


class ImportFile(Record):
    exchange_types: list[ExchangeTypeRecord] = Field(default_factory=list)
    collaborators: list[CollaboratorRecord] = Field(default_factory=list)
    clients: list[ClientRecord] = Field(default_factory=list)
    dits: list[DitRecord] = Field(default_factory=list)
