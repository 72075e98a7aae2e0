"""The JSON shapes of the REST API and the portal webhook (CONTRACT.md sections 5 and 6).

Answers (`...Out`) and request bodies (`...In`, and the import records of
`ditbot/domain/records.py`) are pydantic models: the views answer with them and
`ditbot/web/openapi.py` documents them, so the two cannot drift apart. The classes hold no
behaviour; `ditbot/web/serialize.py` fills the answers from the database rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from ditbot.domain.portal import MESSAGE_ID_MAX
from ditbot.domain.records import ONE_LINE, DitRecord, Line, ZonedMoment
from ditbot.domain.records import line_rule as line
from ditbot.domain.validation import (
    DETAIL_MAX,
    EMAIL_PATTERN,
    LINE_PATTERN,
    REQUIRED_TEXT_PATTERN,
    SUBJECT_MAX,
)
from storage.vocabulary import Direction, DitState, MailStatus, PartyKind, Source

IDEMPOTENCY_KEY_MAX = 150  # exchanges.external_key holds 200 characters, with a prefix
PORTAL_MAX_BODY = 64 * 1024  # bytes of a portal webhook body (CONTRACT.md section 6)
# The domain checks these (ditbot/domain/validation.py) with messages of its own, after
# stripping the text: the schema only documents them, pydantic does not enforce them.
Detail = Annotated[
    str,
    Field(
        description=f"what was said: not blank, at most {DETAIL_MAX} characters",
        json_schema_extra={
            "minLength": 1,
            "maxLength": DETAIL_MAX,
            "pattern": REQUIRED_TEXT_PATTERN,
        },
    ),
]
Subject = Annotated[
    str | None, Field(json_schema_extra={"maxLength": SUBJECT_MAX, "pattern": LINE_PATTERN})
]


def when(value: datetime) -> str:
    """ISO 8601 in UTC with a Z (whatever zone the value was given in)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# pydantic would write the zone the value carries (+01:00 for a date given so, before the row
# is read back); the API always writes UTC with a Z.
UtcDatetime = Annotated[
    datetime,
    PlainSerializer(when, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$",
            "description": "ISO 8601, in UTC, with a trailing Z",
        },
        mode="serialization",
    ),
]


class Out(BaseModel):
    """Base of the answers: every field is always written, null when there is no value."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PartyOut(Out):
    """A sender, recipient or author: one of our collaborateurs or a client's contact."""

    kind: PartyKind
    code: str
    name: str


class ClientRefOut(Out):
    """The client a DIT belongs to."""

    code: str
    name: str


class IndicatorsOut(Out):
    """What the exchanges of a DIT add up to (kept on the DIT row)."""

    count: int = Field(description="exchanges not deleted")
    relance: bool = Field(description="at least one exchange is a relance")
    last_direction: Direction | None
    last_is_relance: bool


class DitOut(Out):
    """A DIT with its exchange indicators."""

    number: str
    title: str
    state: DitState
    client: ClientRefOut
    contact: PartyOut | None
    technician: PartyOut | None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    exchanges: IndicatorsOut


class MailOut(Out):
    """Delivery of the mail an exchange sent."""

    status: MailStatus
    attempts: int
    message_id: str | None
    error: str | None


class DeletedOut(Out):
    """The trace of a deleted exchange: when, by whom (collaborateur code), why."""

    at: UtcDatetime
    by: str | None
    reason: str | None


class AttachmentOut(Out):
    """A file that came with a client's mail, kept under DITBOT_MAIL_STORE."""

    filename: str
    content_type: str
    size: int = Field(description="bytes")


class MailNoteOut(Out):
    """What came back about a sent mail without being the client speaking: an automatic answer
    (out-of-office) or a delivery status report."""

    kind: Literal["auto_reply", "delivery_report"]
    received_at: UtcDatetime
    from_address: str | None
    subject: str | None
    text: str | None = Field(description="the automatic answer's text, or the remote reason")


class ExchangeOut(Out):
    """One exchange of a DIT; a deleted one keeps its body and says so in `deleted`."""

    id: int
    dit: str = Field(description="the DIT number")
    direction: Direction
    type: str = Field(description="exchange type code")
    sent_by: PartyOut | None
    received_by: PartyOut | None
    recipient_email: str | None
    subject: str | None
    detail: str
    occurred_at: UtcDatetime
    source: Source
    author: PartyOut | None
    mail: MailOut | None
    deleted: DeletedOut | None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    attachments: list[AttachmentOut] = Field(
        description="the files of a client's mail (empty for any other exchange)"
    )
    mail_notes: list[MailNoteOut] = Field(
        description="automatic answers and delivery reports about a mail ditbot sent"
    )


class ExchangeListOut(Out):
    """Every exchange of a DIT in time order, deleted ones included."""

    dit: str
    exchanges: list[ExchangeOut]


class CollaboratorOut(Out):
    """A collaborateur as stored."""

    code: str
    name: str
    mail1: str | None
    mail2: str | None
    slack_user_id: str | None
    manager: bool
    team: str | None = None  # the code of their team


class TeamOut(Out):
    """A team (agence) and its channels."""

    code: str
    name: str
    channel_portal: str | None
    channel_managers: str | None
    locale: str | None


class ContactOut(Out):
    """A client's contact as stored."""

    code: str
    name: str
    mail1: str | None
    mail2: str | None


class ClientOut(Out):
    """A client and its contacts (by name)."""

    code: str
    name: str
    contacts: list[ContactOut]
    team: str | None = None  # the code of its team
    first_response_hours: float | None = None  # null: the global target
    next_response_hours: float | None = None


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class ProblemOut(Out):
    """An error, as RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = Field(description="what went wrong and what to do, in the caller's language")
    # Absent, never null, when no field is at fault: hence no null and no default in the schema.
    errors: dict[str, str] | SkipJsonSchema[None] = Field(
        default=None,
        description="message per field at fault",
        json_schema_extra=_without_default,
    )


class PartyIn(BaseModel):
    """A party named in a request: its kind and its code."""

    model_config = ConfigDict(extra="forbid")
    kind: PartyKind
    code: Annotated[
        str, Field(min_length=1, max_length=40, json_schema_extra=ONE_LINE), AfterValidator(line)
    ]


class ExchangeIn(BaseModel):
    """Body of POST /api/v1/dits/{number}/exchanges.

    One side is a collaborateur, the other a contact of the DIT's client (which is which
    follows `direction`); left out, our side is the author and the client's side the DIT's
    contact, and a 400 names the side when neither gives it.
    """

    model_config = ConfigDict(extra="forbid")
    direction: Direction
    detail: Detail
    type: Line | None = None
    sent_by: PartyIn | None = None
    received_by: PartyIn | None = None
    recipient_email: Annotated[str | None, Field(json_schema_extra={"pattern": EMAIL_PATTERN})] = (
        None
    )
    subject: Subject = None
    occurred_at: ZonedMoment | None = None
    author: Line | None = Field(
        default=None, description="code of the collaborateur who logs it (default: none)"
    )


class PortalMessageIn(BaseModel):
    """The webhook body. Unknown fields are ignored, so a portal may send more than we read."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)
    message_id: Annotated[
        str,
        Field(min_length=1, max_length=MESSAGE_ID_MAX, json_schema_extra=ONE_LINE),
        AfterValidator(line),
    ]
    dit: Annotated[
        str, Field(min_length=1, max_length=40, json_schema_extra=ONE_LINE), AfterValidator(line)
    ]
    contact: Annotated[
        str, Field(min_length=1, max_length=40, json_schema_extra=ONE_LINE), AfterValidator(line)
    ]
    subject: Subject = None
    detail: Detail
    relance: bool = False
    sent_at: ZonedMoment | None = None


class DitsIn(BaseModel):
    """`PUT /api/v1/dits`: many DITs at once, with the import's semantics (all or nothing)."""

    model_config = ConfigDict(extra="forbid")
    dits: list[DitRecord] = Field(min_length=1)


class DitsOut(Out):
    """What `PUT /api/v1/dits` did: rows created, changed, and left as they were."""

    created: int
    updated: int
    unchanged: int
