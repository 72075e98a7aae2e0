"""Log, edit and delete exchanges, with the defaults and refusals of DOMAIN.md."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from ditbot.core.i18n import _
from ditbot.domain import teams, timers
from ditbot.domain.errors import Conflict, DomainError, NotAllowed, NotFound, ValidationFailed
from ditbot.domain.validation import (
    clean_detail,
    clean_email,
    clean_moment,
    clean_storable,
    clean_subject,
)
from storage import repositories as repo
from storage.models import Collaborator, Contact, Dit, Exchange, ExchangeType, ExchangeVersion
from storage.outbox import enqueue
from storage.outbox_payloads import ChannelNotice
from storage.types import utcnow
from storage.vocabulary import Direction, DitState, MailStatus, NoticeReason, PartyKind, Source

CLIENT_SOURCES = (Source.PORTAL, Source.MAIL)  # messages the client wrote: never deletable
FUTURE_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Party:
    """Who sent or received an exchange: a collaborateur or a client contact, by code."""

    kind: PartyKind
    code: str


@dataclass(frozen=True)
class Actor:
    """Who performs a change: a collaborateur (Slack, API) or a client contact (portal)."""

    source: Source
    collaborator: Collaborator | None = None
    contact: Contact | None = None

    @property
    def is_manager(self) -> bool:
        return bool(self.collaborator and self.collaborator.manager)


@dataclass(frozen=True)
class ExchangeInput:
    """What a user typed into a form (None: take the default)."""

    direction: Direction
    detail: str
    type_code: str | None = None
    sent_by: Party | None = None
    received_by: Party | None = None
    recipient_email: str | None = None
    subject: str | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Defaults:
    type_code: str
    sent_by: Party | None
    received_by: Party | None
    recipient_email: str | None


@dataclass(frozen=True)
class Indicators:
    count: int
    relance: bool
    last_direction: str | None
    last_is_relance: bool

    @classmethod
    def of(cls, dit: Dit) -> Indicators:
        return cls(
            count=dit.exchange_count,
            relance=dit.relance_count > 0,
            last_direction=dit.last_direction,
            last_is_relance=dit.last_is_relance,
        )

    @property
    def waiting_on_us(self) -> bool:
        return self.last_direction == Direction.RECEIVED


def get_dit(session: Session, number: str) -> Dit:
    """The DIT of `number` (trimmed, without regard to case); NotFound says what to do."""
    number = clean_storable(number, "dit")  # NUL cannot even be compared on PostgreSQL
    dit = repo.dit_by_number(session, number)
    if dit is None:
        raise NotFound(
            _("DIT {number} does not exist. Check the number, or search with /dit <client name>."),
            "dit",
            number=number.strip()[:60],
        )
    return dit


def get_exchange(session: Session, exchange_id: int) -> Exchange:
    exchange = repo.exchange_by_id(session, exchange_id)
    if exchange is None:
        raise NotFound(_("Exchange {id} does not exist."), "exchange", id=exchange_id)
    return exchange


CLOSED_MESSAGES = {
    (DitState.CLOTUREE, "log"): _(
        "DIT {number} is closed: exchanges can no longer be logged on it."
    ),
    (DitState.ANNULEE, "log"): _(
        "DIT {number} is cancelled: exchanges can no longer be logged on it."
    ),
    (DitState.CLOTUREE, "change"): _(
        "DIT {number} is closed: its exchanges can no longer be changed."
    ),
    (DitState.ANNULEE, "change"): _(
        "DIT {number} is cancelled: its exchanges can no longer be changed."
    ),
    (DitState.CLOTUREE, "delete"): _(
        "DIT {number} is closed: its exchanges can no longer be deleted."
    ),
    (DitState.ANNULEE, "delete"): _(
        "DIT {number} is cancelled: its exchanges can no longer be deleted."
    ),
}


def closed_refusal(dit: Dit, action: Literal["log", "change", "delete"]) -> Conflict | None:
    """The refusal of `action` on a closed or cancelled DIT (None while it is open)."""
    if not dit.state.closed:
        return None
    return Conflict(CLOSED_MESSAGES[(dit.state, action)], "dit", number=dit.number, state=dit.state)


def ensure_open(dit: Dit) -> None:
    """Exchanges can be logged, edited or deleted until the DIT is closed or cancelled."""
    refusal = closed_refusal(dit, "log")
    if refusal is not None:
        raise refusal


def preferred_email(person: Collaborator | Contact | None) -> str | None:
    """Mail 1, else Mail 2."""
    if person is None:
        return None
    return person.mail1 or person.mail2


def defaults_for(dit: Dit, direction: Direction, actor: Actor) -> Defaults:
    """DOMAIN.md: sent = from the current user to the DIT's interlocuteur; received mirrors it."""
    me = Party(PartyKind.COLLABORATOR, actor.collaborator.code) if actor.collaborator else None
    contact = Party(PartyKind.CONTACT, dit.contact.code) if dit.contact else None
    if direction == Direction.SENT:
        return Defaults("appel", me, contact, preferred_email(dit.contact))
    return Defaults("appel", contact, me, None)


def _loaded_people(dit: Dit, actor: Actor) -> dict[tuple[str, str], Collaborator | Contact]:
    """The people this request already loaded (DIT's contact and technician, the actor)."""
    people: dict[tuple[str, str], Collaborator | Contact] = {}
    for collaborator in (dit.technician, actor.collaborator):
        if collaborator is not None:
            people[PartyKind.COLLABORATOR, collaborator.code] = collaborator
    for contact in (dit.contact, actor.contact):
        if contact is not None:
            people[PartyKind.CONTACT, contact.code] = contact
    return people


def _resolve(
    session: Session,
    dit: Dit,
    party: Party | None,
    side: str,
    want: str,
    loaded: dict[tuple[str, str], Collaborator | Contact],
) -> Collaborator | Contact:
    if party is None:
        raise DomainError(_("Choose who the exchange is from or to."), side)
    if want == PartyKind.COLLABORATOR:
        if party.kind != PartyKind.COLLABORATOR:
            raise DomainError(_("Choose a collaborator of our staff here."), side)
        known = loaded.get((PartyKind.COLLABORATOR, party.code))
        collaborator = (
            known
            if isinstance(known, Collaborator)
            else repo.collaborator_by_code(session, party.code)
        )
        if collaborator is None:
            raise DomainError(_("Unknown collaborator '{code}'."), side, code=party.code)
        return collaborator
    if party.kind != PartyKind.CONTACT:
        raise DomainError(
            _("Choose a contact of the client {client} here."), side, client=dit.client.name
        )
    known = loaded.get((PartyKind.CONTACT, party.code))
    contact = known if isinstance(known, Contact) else repo.contact_by_code(session, party.code)
    if contact is None:
        raise DomainError(_("Unknown contact '{code}'."), side, code=party.code)
    if contact.client_id != dit.client_id:
        raise DomainError(
            _("{name} is not a contact of {client}: choose one of this client's contacts."),
            side,
            name=contact.name,
            client=dit.client.name,
        )
    return contact


@dataclass
class _Checked:
    kind: ExchangeType
    sent_by: Collaborator | Contact
    received_by: Collaborator | Contact
    recipient_email: str | None
    subject: str | None
    detail: str
    occurred_at: datetime


def _check(session: Session, dit: Dit, data: ExchangeInput, actor: Actor) -> _Checked:
    """Apply defaults and validate every field; all field errors are raised together."""
    if data.direction not in set(Direction):
        raise ValidationFailed(
            {"direction": DomainError(_("Direction must be 'received' or 'sent'."), "direction")}
        )
    defaults = defaults_for(dit, data.direction, actor)
    errors: dict[str, DomainError] = {}
    values: dict[str, Any] = {}

    def attempt(name: str, produce: Any) -> None:
        try:
            values[name] = produce()
        except DomainError as error:
            errors[name] = error

    def check_type() -> ExchangeType:
        code = data.type_code or defaults.type_code
        kind = repo.exchange_type(session, code)
        if kind is None or not kind.active:
            raise DomainError(_("Unknown exchange type '{code}'."), "type", code=code)
        return kind

    ours, theirs = (PartyKind.COLLABORATOR, PartyKind.CONTACT)
    sender_kind, receiver_kind = (
        (theirs, ours) if data.direction == Direction.RECEIVED else (ours, theirs)
    )
    attempt("type", check_type)
    loaded = _loaded_people(dit, actor)
    attempt(
        "sent_by",
        lambda: _resolve(
            session, dit, data.sent_by or defaults.sent_by, "sent_by", sender_kind, loaded
        ),
    )
    attempt(
        "received_by",
        lambda: _resolve(
            session,
            dit,
            data.received_by or defaults.received_by,
            "received_by",
            receiver_kind,
            loaded,
        ),
    )
    attempt("recipient_email", lambda: clean_email(data.recipient_email, "recipient_email"))
    attempt("subject", lambda: clean_subject(data.subject))
    attempt("detail", lambda: clean_detail(data.detail))

    def check_when() -> datetime:
        when = data.occurred_at or utcnow()
        if when.tzinfo is None:
            raise DomainError(_("The date of the exchange needs a time zone."), "occurred_at")
        clean_moment(when, "occurred_at")
        if when > utcnow() + FUTURE_SKEW:
            raise DomainError(
                _("The date of the exchange is in the future: an exchange has already happened."),
                "occurred_at",
            )
        return when.astimezone(UTC)

    attempt("occurred_at", check_when)
    if errors:
        raise ValidationFailed(errors)
    recipient = values["recipient_email"]
    if data.direction == Direction.SENT and recipient is None:
        recipient = preferred_email(values["received_by"])
    if data.direction == Direction.RECEIVED:
        recipient = None
    return _Checked(
        kind=values["type"],
        sent_by=values["sent_by"],
        received_by=values["received_by"],
        recipient_email=recipient,
        subject=values["subject"],
        detail=values["detail"],
        occurred_at=values["occurred_at"],
    )


def _assign(exchange: Exchange, checked: _Checked) -> None:
    exchange.type = checked.kind
    exchange.type_code = checked.kind.code
    exchange.sent_by_collaborator = (
        checked.sent_by if isinstance(checked.sent_by, Collaborator) else None
    )
    exchange.sent_by_contact = checked.sent_by if isinstance(checked.sent_by, Contact) else None
    exchange.received_by_collaborator = (
        checked.received_by if isinstance(checked.received_by, Collaborator) else None
    )
    exchange.received_by_contact = (
        checked.received_by if isinstance(checked.received_by, Contact) else None
    )
    exchange.recipient_email = checked.recipient_email
    exchange.subject = checked.subject
    exchange.detail = checked.detail
    exchange.occurred_at = checked.occurred_at


def replay_of(
    session: Session, key: str | None, dit_number: str, field: str = "external_key"
) -> Exchange | None:
    """The exchange already recorded under `key` (a replay: answer it, record nothing), or None.

    One rule for every idempotent entry point (the REST API's Idempotency-Key, the portal's
    message id): a key that served for an exchange of another DIT is a Conflict naming `field`,
    never the other DIT's exchange.
    """
    if key is None or repo.exchange_id_by_key(session, key) is None:
        return None
    existing = repo.exchange_by_key(session, key)
    if existing is None:
        return None
    if existing.dit.number.casefold() != dit_number.strip().casefold():
        raise Conflict(
            _(
                "This request was already used for an exchange of DIT {number}: "
                "send a new one for DIT {other}."
            ),
            field,
            number=existing.dit.number,
            other=dit_number.strip()[:60],
        )
    return existing


def log_exchange(
    session: Session,
    dit_number: str,
    data: ExchangeInput,
    actor: Actor,
    *,
    external_key: str | None = None,
    mail_status: str | None = None,
    allow_closed: bool = False,
    dit: Dit | None = None,
    refresh: bool = True,
    replay_checked: bool = False,
) -> tuple[Exchange, bool]:
    """Record an exchange on a DIT; returns (exchange, created).

    `external_key` makes the call idempotent: a second call with the same key (a Slack double
    submit, a repeated portal message id) returns the first exchange and records nothing.
    `allow_closed` lets the portal record a client message on a closed DIT within its portal
    window (ditbot.domain.portal checks that window first). `dit` spares a second read of the DIT
    when the caller already loaded it (it must be DIT `dit_number`); `replay_checked` says the
    caller already looked `external_key` up with `replay_of` in this transaction. With
    `refresh=False` the caller locked the DIT and rewrites its indicators, and the exchange is
    only added to the session: the caller passes it to `announce_new` (which flushes).
    """
    existing = None if replay_checked else replay_of(session, external_key, dit_number)
    if existing is not None:
        return existing, False
    if dit is None or dit.number != dit_number.strip():
        dit = get_dit(session, dit_number)
    if not allow_closed:
        ensure_open(dit)
    checked = _check(session, dit, data, actor)
    if refresh:
        repo.lock_dit(session, dit)
    exchange = Exchange(
        dit=dit,
        direction=data.direction,
        source=actor.source,
        author_collaborator=actor.collaborator,
        author_contact=actor.contact,
        external_key=external_key,
        mail_status=mail_status,
    )
    _assign(exchange, checked)
    session.add(exchange)
    if not refresh:
        note_appended(dit, exchange)
        return exchange, True
    session.flush()
    refresh_indicators(session, dit)
    _announce(session, exchange, was_relance=False)
    return exchange, True


def announce_new(session: Session, exchanges: Sequence[Exchange]) -> None:
    """Flush the exchanges `log_exchange(..., refresh=False)` added, then enqueue their
    notifications: the rows of a burst go in one statement, not one flush each."""
    session.flush()
    for exchange in exchanges:
        _announce(session, exchange, was_relance=False)


def note_appended(dit: Dit, exchange: Exchange) -> None:
    """Move the DIT's indicators in memory for a new live exchange, as `refresh_indicators`
    would find them (the latest is the greatest occurred_at, then id)."""
    relance = exchange.type.is_relance
    dit.exchange_count += 1
    dit.relance_count += int(relance)
    if dit.last_exchange_at is None or exchange.occurred_at >= dit.last_exchange_at:
        dit.last_direction = exchange.direction
        dit.last_exchange_at = exchange.occurred_at
        dit.last_is_relance = relance


def _announce(session: Session, exchange: Exchange, *, was_relance: bool) -> None:
    """Client messages (portal, mail) go to the dispatch channel; every new relance to the
    managers' one."""
    reasons: list[NoticeReason] = []
    if exchange.source in CLIENT_SOURCES and not was_relance:  # the portal, a mail reply
        reasons.append(NoticeReason.PORTAL)
    if exchange.type.is_relance and not was_relance:
        reasons.append(NoticeReason.RELANCE)
    for reason in reasons:
        enqueue(
            session,
            ChannelNotice(
                exchange_id=exchange.id,
                dit=exchange.dit.number,
                reason=reason,
                team=teams.team_with_channel(session, exchange.dit, reason),
            ),
        )


def refresh_indicators(
    session: Session, dit: Dit, reads: timers.IndicatorReads | None = None
) -> None:
    """Rewrite the DIT's indicators from its live exchanges, then its wait and figures, from
    one read of each (`reads`: what was read for several DITs at once, `refresh_indicators_of`;
    else read now, after flushing what the caller changed)."""
    if reads is None:
        reads = timers.IndicatorReads.read(session, [dit])
    moments = reads.moments[dit.id]
    latest = max(moments, key=lambda m: (m.occurred_at, m.id), default=None)
    # The reads that follow are of figures and waits: the DIT's row is written once, later.
    with session.no_autoflush:
        dit.exchange_count = len(moments)
        dit.relance_count = sum(1 for m in moments if m.is_relance)
        dit.last_direction = latest.direction if latest else None
        dit.last_exchange_at = latest.occurred_at if latest else None
        dit.last_is_relance = bool(latest.is_relance) if latest else False
        timers.sync_wait(session, dit, reads)  # the client's wait (response timers)


def refresh_indicators_of(session: Session, dits: Sequence[Dit]) -> None:
    """`refresh_indicators` of several DITs (locked by the caller), read in one query each."""
    if not dits:
        return
    reads = timers.IndicatorReads.read(session, dits)
    for dit in dits:
        refresh_indicators(session, dit, reads)


def _snapshot(exchange: Exchange) -> dict[str, Any]:
    def party(collaborator: Collaborator | None, contact: Contact | None) -> dict[str, str] | None:
        if collaborator is not None:
            return {
                "kind": PartyKind.COLLABORATOR,
                "code": collaborator.code,
                "name": collaborator.name,
            }
        if contact is not None:
            return {"kind": PartyKind.CONTACT, "code": contact.code, "name": contact.name}
        return None

    return {
        "type": exchange.type_code,
        "sent_by": party(exchange.sent_by_collaborator, exchange.sent_by_contact),
        "received_by": party(exchange.received_by_collaborator, exchange.received_by_contact),
        "recipient_email": exchange.recipient_email,
        "subject": exchange.subject,
        "detail": exchange.detail,
        "occurred_at": exchange.occurred_at.isoformat(),
    }


def edit_refusal(exchange: Exchange, actor: Actor) -> DomainError | None:
    """Why `actor` may not edit `exchange`, or None when they may."""
    if exchange.deleted_at is not None:
        return Conflict(_("This exchange was deleted; it can no longer be changed."), "exchange")
    closed = closed_refusal(exchange.dit, "change")
    if closed is not None:
        return closed
    if exchange.source in CLIENT_SOURCES:
        return NotAllowed(_("A message written by the client cannot be changed."), "exchange")
    if exchange.mail_status is not None:
        return NotAllowed(
            _("A mail sent by ditbot cannot be changed: it is what the client received."),
            "exchange",
        )
    if not _is_author_or_manager(exchange, actor):
        return NotAllowed(
            _("Only the author of this exchange or a manager can change it."), "exchange"
        )
    return None


def delete_refusal(exchange: Exchange, actor: Actor) -> DomainError | None:
    """Why `actor` may not delete `exchange`, or None when they may (DOMAIN.md policy)."""
    if exchange.deleted_at is not None:
        return Conflict(_("This exchange is already deleted."), "exchange")
    closed = closed_refusal(exchange.dit, "delete")
    if closed is not None:
        return closed
    if exchange.source in CLIENT_SOURCES:
        return NotAllowed(_("A message written by the client cannot be deleted."), "exchange")
    if exchange.mail_status == MailStatus.SENT or (exchange.mail_attempts or 0) > 0:
        return NotAllowed(
            _("This mail was already handed to the mail server: it cannot be deleted."),
            "exchange",
        )
    if not _is_author_or_manager(exchange, actor):
        return NotAllowed(
            _("Only the author of this exchange or a manager can delete it."), "exchange"
        )
    return None


def _is_author_or_manager(exchange: Exchange, actor: Actor) -> bool:
    if actor.is_manager:
        return True
    return bool(
        actor.collaborator is not None
        and exchange.author_collaborator_id is not None
        and exchange.author_collaborator_id == actor.collaborator.id
    )


def _party_of(collaborator: Collaborator | None, contact: Contact | None) -> Party | None:
    if collaborator is not None:
        return Party(PartyKind.COLLABORATOR, collaborator.code)
    if contact is not None:
        return Party(PartyKind.CONTACT, contact.code)
    return None


def version_of(session: Session, exchange: Exchange) -> int:
    """How many times `exchange` was edited: what an edit form remembers it was opened on."""
    return repo.version_count(session, exchange.id)


def edit_exchange(
    session: Session,
    exchange_id: int,
    data: ExchangeInput,
    actor: Actor,
    *,
    expected_version: int | None = None,
) -> Exchange:
    """Change an exchange; the previous version is kept in its history.

    `expected_version`: the version the form was opened on. Another edit saved since (or the
    same submission replayed later) is refused with a field error, so that it never reverts
    what was changed in between.
    """
    exchange = get_exchange(session, exchange_id)
    refusal = edit_refusal(exchange, actor)
    if refusal is not None:
        raise refusal
    # An edit never flips the direction, and what it leaves out stays as it was: the defaults
    # are for new exchanges (the Slack edit form has no date: a default would move it to now).
    data = replace(
        data,
        direction=exchange.direction,
        type_code=data.type_code or exchange.type_code,
        sent_by=data.sent_by or _party_of(exchange.sent_by_collaborator, exchange.sent_by_contact),
        received_by=data.received_by
        or _party_of(exchange.received_by_collaborator, exchange.received_by_contact),
        occurred_at=data.occurred_at or exchange.occurred_at,
    )
    checked = _check(session, exchange.dit, data, actor)
    repo.lock_dit(session, exchange.dit)  # serialises edits: the version read next is current
    if expected_version is not None and version_of(session, exchange) != expected_version:
        raise Conflict(
            _(
                "Someone else changed this exchange since you opened this form. Close it and "
                "open the exchange again to see their changes before editing."
            ),
            "detail",
        )
    was_relance = exchange.type.is_relance
    session.add(
        ExchangeVersion(
            exchange_id=exchange.id,
            snapshot=_snapshot(exchange),
            edited_by_id=actor.collaborator.id if actor.collaborator else None,
        )
    )
    _assign(exchange, checked)
    session.flush()
    refresh_indicators(session, exchange.dit)
    _announce(session, exchange, was_relance=was_relance or exchange.source == Source.PORTAL)
    return exchange


def delete_exchange(
    session: Session, exchange_id: int, actor: Actor, reason: str | None = None
) -> Exchange:
    """Soft-delete: the counter drops, the trace (who, when, the body) stays."""
    exchange = get_exchange(session, exchange_id)
    refusal = delete_refusal(exchange, actor)
    if refusal is not None:
        raise refusal
    repo.lock_dit(session, exchange.dit)
    exchange.deleted_at = utcnow()
    exchange.deleted_by = actor.collaborator
    exchange.deleted_reason = (reason or "").strip()[:500] or None
    session.flush()
    refresh_indicators(session, exchange.dit)
    return exchange
