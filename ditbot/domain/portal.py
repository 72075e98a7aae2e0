"""Rules of the client portal (DOMAIN.md): who may write, until when, what the client sees.

Shared by the signed webhook and the built-in portal page, so both answer alike:
- the DIT must be open, or finished/closed/cancelled less than `window_days` ago (else Conflict);
- the contact must exist and belong to the DIT's client (else NotFound, the same answer as an
  unknown DIT, so a caller learns nothing about other clients);
- a message is a `relance` when the client marks it so, or when it arrives while the client's
  previous message is still unanswered after `relance_after_hours` (automatic rule);
- the client sees only the mails sent to them and the messages they wrote themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ditbot.core.i18n import N_, _
from ditbot.domain import exchanges as service
from ditbot.domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from ditbot.domain.validation import clean_detail, clean_subject
from storage import repositories as repo
from storage.models import Collaborator, Contact, Dit, Exchange
from storage.types import utcnow
from storage.vocabulary import Direction, PartyKind, Source

KEY_PREFIX = "portal:"
MESSAGE_ID_MAX = 200 - len(KEY_PREFIX)  # exchanges.external_key is 200 characters
# Type of a client message that is not a relance: "additional information" (DOMAIN.md types),
# else "other" when an administrator deactivated it.
PLAIN_TYPES = ("complement", "autre")


@dataclass(frozen=True)
class PortalMessage:
    """A message a client contact writes about a DIT (webhook body or portal form)."""

    dit: str
    contact: str
    detail: str
    subject: str | None = None
    relance: bool = False
    sent_at: datetime | None = None
    message_id: str | None = None


def external_key(message_id: str) -> str:
    """The exchange key that makes a repeated message id record nothing."""
    return f"{KEY_PREFIX}{message_id}"


def unknown() -> NotFound:
    """One answer for an unknown DIT, an unknown contact and a contact of another client."""
    return NotFound(_("This DIT or this contact is unknown."), "dit")


def find_dit_and_contact(
    session: Session, dit_number: str, contact_code: str
) -> tuple[Dit, Contact]:
    """The DIT and the contact, when the contact belongs to the DIT's client; else NotFound."""
    dit = repo.dit_by_number(session, dit_number.strip())
    contact = repo.contact_by_code(session, contact_code.strip())
    if dit is None or contact is None or contact.client_id != dit.client_id:
        raise unknown()
    return dit, contact


def window_end(dit: Dit, window_days: int) -> datetime | None:
    """Until when the portal accepts messages on `dit`; None while the DIT is not finished."""
    if not dit.state.finished:
        return None
    # A finished DIT without finished_at (written before that column was kept) counts from its
    # creation: never from updated_at, which every new exchange moves.
    finished = dit.finished_at or dit.created_at
    return finished + timedelta(days=window_days)


def accepts_messages(dit: Dit, window_days: int, now: datetime | None = None) -> bool:
    """True while the DIT is open, and for `window_days` after it is finished or closed."""
    end = window_end(dit, window_days)
    return end is None or (now or utcnow()) <= end


def ensure_accepts_messages(dit: Dit, window_days: int, now: datetime | None = None) -> None:
    if not accepts_messages(dit, window_days, now):
        raise Conflict(
            N_(
                "DIT {number} was finished more than {days} day ago: the portal no longer "
                "accepts messages on it. Please contact us directly.",
                "DIT {number} was finished more than {days} days ago: the portal no longer "
                "accepts messages on it. Please contact us directly.",
                "days",
            ),
            "dit",
            number=dit.number,
            days=window_days,
        )


def client_is_waiting(dit: Dit, now: datetime, relance_after_hours: float) -> bool:
    """True when the client's last message is unanswered since `relance_after_hours` or more.

    "Unanswered": it is the DIT's latest live exchange (nothing was sent to the client after
    it), which the DIT's indicators say without a query. Any message of the client counts,
    whoever of its contacts wrote it and however it came (portal, mail, or a call logged by
    staff): the client is one company waiting on us.
    """
    if dit.last_direction != Direction.RECEIVED or dit.last_exchange_at is None:
        return False
    return now - dit.last_exchange_at >= timedelta(hours=relance_after_hours)


TYPES_KEY = "ditbot.portal.exchange_types"  # session.info: (transaction, its types)


def types_for_client_messages(session: Session) -> tuple[str, str]:
    """(relance type, plain type) of a client message, from the configured exchange types.

    The relance type is `relance` unless an administrator made another one the relance type;
    the plain type is `complement` ("additional information"), else `autre`. One query, which
    also puts the types in the session's identity map for the validation that follows; the
    types are read once per transaction (a burst of messages shares them).
    """
    transaction = session.get_transaction()
    cached = session.info.get(TYPES_KEY)
    if cached is None or cached[0] is not transaction:
        # Held here, the types stay in the identity map: the validation's get finds them.
        cached = session.info[TYPES_KEY] = (transaction, repo.exchange_types(session))
    kinds = [kind for kind in cached[1] if kind.active]
    relances = sorted((k for k in kinds if k.is_relance), key=lambda k: k.code != "relance")
    plain = {k.code for k in kinds if not k.is_relance}
    relance = relances[0].code if relances else "relance"
    return relance, next((code for code in PLAIN_TYPES if code in plain), PLAIN_TYPES[-1])


def receiver_of(session: Session, dit: Dit) -> Collaborator:
    """Who receives a portal message: the DIT's technician, else a manager, else any staff.

    A portal message has no Slack user behind it, so the domain's default ("the current user")
    does not apply; the technician is the one who answers, and the exchange still goes to the
    dispatch channel for everyone to see.
    """
    if dit.technician is not None:
        return dit.technician
    staff = repo.all_collaborators(session)
    for person in sorted(staff, key=lambda c: (not c.manager, c.name, c.code)):
        return person
    raise Conflict(
        _("DIT {number} has no technician and no staff is registered to receive the message."),
        "dit",
        number=dit.number,
    )


def check_text(message: PortalMessage) -> None:
    """Refuse a blank or over-long message before anything is looked up (a 400, not a 404)."""
    errors: dict[str, DomainError] = {}
    for name, clean, value in (
        ("detail", clean_detail, message.detail),
        ("subject", clean_subject, message.subject),
    ):
        try:
            clean(value, name)
        except DomainError as error:
            errors[name] = error
    if message.message_id is not None and not 0 < len(message.message_id) <= MESSAGE_ID_MAX:
        errors["message_id"] = DomainError(
            _("The message id must have 1 to {limit} characters."),
            "message_id",
            limit=MESSAGE_ID_MAX,
        )
    if errors:
        raise ValidationFailed(errors)


def post_message(
    session: Session,
    message: PortalMessage,
    *,
    window_days: int,
    relance_after_hours: float,
    now: datetime | None = None,
) -> tuple[Exchange, bool]:
    """Record a client's portal message as a received exchange; returns (exchange, created).

    A message id already received returns the first exchange and records (and announces)
    nothing, whatever became of the DIT since. The notifications are enqueued by
    ditbot.domain.exchanges in this same transaction.
    """
    (outcome,) = post_messages(
        session,
        [message],
        window_days=window_days,
        relance_after_hours=relance_after_hours,
        now=now,
    )
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


def post_messages(
    session: Session,
    messages: Sequence[PortalMessage],
    *,
    window_days: int,
    relance_after_hours: float,
    now: datetime | None = None,
) -> list[tuple[Exchange, bool] | DomainError]:
    """Record portal messages that arrived together in the caller's one transaction (a burst).

    Each gets what `post_message` would answer it alone, in order: (exchange, created), or the
    refusal, which writes nothing. The message ids, DITs and contacts of the burst are read in
    one query each. A DIT is locked before its indicators decide the 24 h rule and read again,
    so that rule and the counters see every message committed before and the earlier ones of
    the burst; its indicators are rewritten once, at the end.
    """
    known = _Known.read(session, messages)
    locked: dict[int, Dit] = {}
    outcomes: list[tuple[Exchange, bool] | DomainError] = []
    for message in messages:
        try:
            outcomes.append(
                _post_one(session, message, known, locked, window_days, relance_after_hours, now)
            )
        except DomainError as error:
            outcomes.append(error)
    service.announce_new(
        session, [each[0] for each in outcomes if not isinstance(each, DomainError) and each[1]]
    )
    service.refresh_indicators_of(session, list(locked.values()))
    return outcomes


@dataclass
class _Known:
    """The message keys already stored, the DITs and the contacts a burst names, read once."""

    keys: set[str]
    dits: dict[str, Dit]  # by lowered number
    contacts: dict[str, Contact]  # by lowered code

    @classmethod
    def read(cls, session: Session, messages: Sequence[PortalMessage]) -> _Known:
        # Text no row can hold (NUL: PostgreSQL refuses it) is left to the one-by-one reads.
        keys = {
            external_key(m.message_id)
            for m in messages
            if m.message_id is not None and repo.storable(m.message_id)
        }
        numbers = {m.dit.strip().lower() for m in messages if repo.storable(m.dit)}
        codes = {m.contact.strip().lower() for m in messages if repo.storable(m.contact)}
        stored = select(Exchange.external_key).where(Exchange.external_key.in_(keys))
        dits = select(Dit).where(func.lower(Dit.number).in_(numbers))
        contacts = select(Contact).where(func.lower(Contact.code).in_(codes))
        return cls(
            keys={key for key in session.scalars(stored) if key is not None} if keys else set(),
            dits={dit.number.lower(): dit for dit in session.scalars(dits)},
            contacts={contact.code.lower(): contact for contact in session.scalars(contacts)},
        )

    def dit_and_contact(self, session: Session, message: PortalMessage) -> tuple[Dit, Contact]:
        """`find_dit_and_contact` from what was read (asked again only when it was not)."""
        dit = self.dits.get(message.dit.strip().lower())
        contact = self.contacts.get(message.contact.strip().lower())
        if dit is None or contact is None:
            return find_dit_and_contact(session, message.dit, message.contact)
        if contact.client_id != dit.client_id:
            raise unknown()
        return dit, contact


def _post_one(
    session: Session,
    message: PortalMessage,
    known: _Known,
    locked: dict[int, Dit],
    window_days: int,
    relance_after_hours: float,
    now: datetime | None,
) -> tuple[Exchange, bool]:
    check_text(message)
    key = external_key(message.message_id) if message.message_id is not None else None
    if key is not None and (key in known.keys or not repo.storable(key)):  # a replay?
        existing = service.replay_of(session, key, message.dit, "message_id")
        if existing is not None:
            return existing, False
    dit, contact = known.dit_and_contact(session, message)
    sent_at = message.sent_at
    if sent_at is not None and sent_at.tzinfo is not None:
        sent_at = sent_at.astimezone(UTC)  # stored and shown in UTC, like every other date
    when = sent_at or now or utcnow()
    ensure_accepts_messages(dit, window_days, now or utcnow())
    if dit.id not in locked:
        repo.lock_dit(session, dit)
        session.refresh(dit)  # what the writers before us committed
        locked[dit.id] = dit
    is_relance = message.relance or client_is_waiting(dit, when, relance_after_hours)
    relance_code, plain_code = types_for_client_messages(session)
    entry = service.ExchangeInput(
        direction=Direction.RECEIVED,
        detail=message.detail,
        type_code=relance_code if is_relance else plain_code,
        sent_by=service.Party(PartyKind.CONTACT, contact.code),
        received_by=service.Party(PartyKind.COLLABORATOR, receiver_of(session, dit).code),
        subject=message.subject,
        occurred_at=sent_at,
    )
    try:
        recorded = service.log_exchange(
            session,
            dit.number,
            entry,
            service.Actor(source=Source.PORTAL, contact=contact),
            external_key=key,
            allow_closed=True,
            dit=dit,
            refresh=False,
            replay_checked=True,
        )
    except ValidationFailed as error:
        # The portal calls the exchange's date `sent_at` (CONTRACT.md section 6).
        if "occurred_at" not in error.errors:
            raise
        renamed = {
            ("sent_at" if name == "occurred_at" else name): DomainError(
                each.message_id, "sent_at" if name == "occurred_at" else name, **each.params
            )
            for name, each in error.errors.items()
        }
        raise ValidationFailed(renamed) from None
    if key is not None:
        known.keys.add(key)  # the same message id later in the burst is its replay
    return recorded


def visible_exchanges(session: Session, dit: Dit, contact: Contact) -> Sequence[Exchange]:
    """The conversation `contact` may see on `dit`, oldest first (DOMAIN.md portal privacy).

    Only what was written to them (mails ditbot sent to this contact) and by them (their
    portal messages and mails); never staff's notes of calls, nor other contacts' messages,
    nor deleted exchanges.
    """
    rows = repo.exchanges_of_dit(session, dit.id, newest_first=False)
    return [row for row in rows if is_visible_to(row, contact)]


PAGE_SIZE = 20  # messages of the conversation on one portal page


@dataclass(frozen=True)
class ConversationPage:
    """One page of what a contact sees, newest first; `older` is the id to page on from
    (`visible_page(..., before=older)`), None when this page reaches the first message."""

    exchanges: Sequence[Exchange]
    older: int | None


def visible_page(
    session: Session,
    dit: Dit,
    contact: Contact,
    *,
    before: int | None = None,
    size: int = PAGE_SIZE,
) -> ConversationPage:
    """The `size` latest messages `contact` may see on `dit` (`is_visible_to`), older than
    exchange `before` when given (an id of another DIT, or unknown, reads as the latest)."""
    anchor = repo.exchange_by_id(session, before) if before is not None else None
    if anchor is not None and anchor.dit_id != dit.id:
        anchor = None
    rows = repo.exchanges_page(
        session, dit.id, visible_condition(contact), limit=size + 1, before=anchor
    )
    shown = rows[:size]
    return ConversationPage(shown, shown[-1].id if len(rows) > size else None)


def visible_condition(contact: Contact) -> ColumnElement[bool]:
    """`is_visible_to` as a SQL condition, so that a page is read, not the whole history."""
    return or_(
        and_(
            Exchange.direction == Direction.SENT,
            Exchange.mail_status.is_not(None),
            Exchange.received_by_contact_id == contact.id,
        ),
        and_(
            Exchange.direction != Direction.SENT,
            Exchange.source.in_(service.CLIENT_SOURCES),
            Exchange.sent_by_contact_id == contact.id,
        ),
    )


def is_visible_to(exchange: Exchange, contact: Contact) -> bool:
    if exchange.deleted_at is not None:
        return False
    if exchange.direction == Direction.SENT:
        return exchange.mail_status is not None and exchange.received_by_contact_id == contact.id
    return exchange.source in service.CLIENT_SOURCES and exchange.sent_by_contact_id == contact.id
