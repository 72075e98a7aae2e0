"""The tables of ditbot, as typed SQLAlchemy 2 models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from storage.types import EnumText, UTCDateTime, utcnow
from storage.vocabulary import (
    Direction,
    DitState,
    InboundStatus,
    MailStatus,
    OutboxKind,
    OutboxStatus,
    Source,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Team(Timestamped, Base):
    """A team (agence): its collaborateurs and clients, and the Slack channels of its work.

    Unset channels fall back to the global DITBOT_CHANNEL_PORTAL / DITBOT_CHANNEL_RELANCES.
    """

    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    channel_portal: Mapped[str | None] = mapped_column(String(40))
    channel_managers: Mapped[str | None] = mapped_column(String(40))
    locale: Mapped[str | None] = mapped_column(String(10))


class Collaborator(Timestamped, Base):
    """One of our staff (collaborateur); may be linked to a Slack user; may be a manager."""

    __tablename__ = "collaborators"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    mail1: Mapped[str | None] = mapped_column(String(254))
    mail2: Mapped[str | None] = mapped_column(String(254))
    slack_user_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    manager: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str | None] = mapped_column(String(10))  # Slack's, cached (see below)
    locale_checked_at: Mapped[datetime | None] = mapped_column()  # when Slack was last asked
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    team: Mapped[Team | None] = relationship()

    # Codes are unique without regard to case, and no two collaborateurs share a Mail 1
    # (migration 0005; the lookups compare lower() too: storage/repositories.same_key).
    __table_args__ = (
        Index("ux_collaborators_code_lower", func.lower(code), unique=True),
        Index("ux_collaborators_mail1_lower", func.lower(mail1), unique=True),
    )


class Client(Timestamped, Base):
    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    # Response targets of this client, in business hours (None: the global DITBOT_TARGET_*).
    first_response_hours: Mapped[float | None] = mapped_column(Float)
    next_response_hours: Mapped[float | None] = mapped_column(Float)
    team: Mapped[Team | None] = relationship()
    # Loaded on demand (repositories.contacts_of_client): every DIT loads its client, and an
    # eager load here cost one more query on every DIT read.
    contacts: Mapped[list[Contact]] = relationship(back_populates="client", order_by="Contact.name")

    __table_args__ = (Index("ux_clients_code_lower", func.lower(code), unique=True),)


class Contact(Timestamped, Base):
    """An interlocuteur: a contact person at a client."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    mail1: Mapped[str | None] = mapped_column(String(254))
    mail2: Mapped[str | None] = mapped_column(String(254))
    client: Mapped[Client] = relationship(back_populates="contacts")

    __table_args__ = (Index("ux_contacts_code_lower", func.lower(code), unique=True),)


class Dit(Timestamped, Base):
    """A DIT (service request) and its exchange indicators, kept current on every write."""

    __tablename__ = "dits"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    state: Mapped[DitState] = mapped_column(EnumText(DitState, 30))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("collaborators.id"))
    finished_at: Mapped[datetime | None] = mapped_column()
    # Indicators (DOMAIN.md): derived from the live exchanges, rewritten under a row lock.
    exchange_count: Mapped[int] = mapped_column(Integer, default=0)
    relance_count: Mapped[int] = mapped_column(Integer, default=0)
    last_direction: Mapped[Direction | None] = mapped_column(EnumText(Direction, 10))
    last_is_relance: Mapped[bool] = mapped_column(Boolean, default=False)
    last_exchange_at: Mapped[datetime | None] = mapped_column()
    # Since when the client waits on us: their oldest live message after our last live one
    # (None when we spoke last or nobody spoke). Starts the response timer of the wait.
    waiting_since: Mapped[datetime | None] = mapped_column()

    client: Mapped[Client] = relationship(lazy="joined")
    contact: Mapped[Contact | None] = relationship(lazy="joined")
    technician: Mapped[Collaborator | None] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_dits_technician_state", "technician_id", "state"),
        Index("ix_dits_waiting", "last_direction", "last_exchange_at"),
        Index("ux_dits_number_lower", func.lower(number), unique=True),
        Index("ix_dits_waiting_since", "waiting_since"),
    )

    @validates("state")
    def _known_state(self, _key: str, value: str) -> DitState:
        """A state set as a string becomes the `DitState` it names (ValueError otherwise)."""
        return DitState(value)


class ExchangeType(Base):
    """A configurable exchange type; `is_relance` drives the red counter and the alerts."""

    __tablename__ = "exchange_types"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    label_fr: Mapped[str] = mapped_column(String(60))
    label_en: Mapped[str] = mapped_column(String(60))
    is_relance: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Exchange(Timestamped, Base):
    """An échange on a DIT: received from or sent to the client."""

    __tablename__ = "exchanges"
    id: Mapped[int] = mapped_column(primary_key=True)
    dit_id: Mapped[int] = mapped_column(ForeignKey("dits.id"))
    direction: Mapped[Direction] = mapped_column(EnumText(Direction, 10))
    type_code: Mapped[str] = mapped_column(ForeignKey("exchange_types.code"))
    sent_by_collaborator_id: Mapped[int | None] = mapped_column(ForeignKey("collaborators.id"))
    sent_by_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    received_by_collaborator_id: Mapped[int | None] = mapped_column(ForeignKey("collaborators.id"))
    received_by_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    recipient_email: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column()
    source: Mapped[Source] = mapped_column(EnumText(Source, 10))
    author_collaborator_id: Mapped[int | None] = mapped_column(ForeignKey("collaborators.id"))
    author_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    # Portal message id, or a Slack submission fingerprint: one exchange per key, ever.
    external_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    mail_status: Mapped[MailStatus | None] = mapped_column(EnumText(MailStatus, 10))
    mail_attempts: Mapped[int] = mapped_column(Integer, default=0)
    mail_message_id: Mapped[str | None] = mapped_column(String(300), index=True)
    # A sent mail's place in its thread, fixed when it is queued: the Message-IDs of the
    # earlier mails of the DIT with that contact, oldest first, space-separated (References).
    mail_references: Mapped[str | None] = mapped_column(Text)
    mail_error: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column()
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("collaborators.id"))
    deleted_reason: Mapped[str | None] = mapped_column(String(500))

    dit: Mapped[Dit] = relationship(lazy="joined")
    type: Mapped[ExchangeType] = relationship(lazy="joined")
    sent_by_collaborator: Mapped[Collaborator | None] = relationship(
        foreign_keys=[sent_by_collaborator_id], lazy="joined"
    )
    sent_by_contact: Mapped[Contact | None] = relationship(
        foreign_keys=[sent_by_contact_id], lazy="joined"
    )
    received_by_collaborator: Mapped[Collaborator | None] = relationship(
        foreign_keys=[received_by_collaborator_id], lazy="joined"
    )
    received_by_contact: Mapped[Contact | None] = relationship(
        foreign_keys=[received_by_contact_id], lazy="joined"
    )
    author_collaborator: Mapped[Collaborator | None] = relationship(
        foreign_keys=[author_collaborator_id], lazy="joined"
    )
    author_contact: Mapped[Contact | None] = relationship(
        foreign_keys=[author_contact_id], lazy="joined"
    )
    deleted_by: Mapped[Collaborator | None] = relationship(
        foreign_keys=[deleted_by_id], lazy="joined"
    )
    # A received mail exchange's inbound mail (its attachments), and the automatic answers and
    # delivery reports that came back about a sent mail. Read only: ditbot/domain/inbound.py
    # writes inbound_mails. Loaded on access (or with `with_mail_facts`), never by the panel.
    inbound_mail: Mapped[InboundMail | None] = relationship(
        primaryjoin="Exchange.id == InboundMail.exchange_id",
        foreign_keys="InboundMail.exchange_id",
        viewonly=True,
        uselist=False,
        lazy="select",
    )
    mail_notes: Mapped[list[InboundMail]] = relationship(
        primaryjoin="Exchange.id == InboundMail.answers_exchange_id",
        foreign_keys="InboundMail.answers_exchange_id",
        viewonly=True,
        order_by="(InboundMail.received_at, InboundMail.id)",
        lazy="select",
    )

    __table_args__ = (
        Index("ix_exchanges_dit_live", "dit_id", "deleted_at", "occurred_at", "id"),
        # The figures of a period (ditbot.domain.stats): covering, so a month reads the index only.
        Index(
            "ix_exchanges_occurred_at",
            "occurred_at",
            "dit_id",
            "direction",
            "type_code",
            "deleted_at",
        ),
    )


class ExchangeVersion(Base):
    """A previous version of an edited exchange (edits keep the history)."""

    __tablename__ = "exchange_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id"), index=True)
    snapshot: Mapped[dict[str, Any]] = mapped_column()
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("collaborators.id"))
    edited_at: Mapped[datetime] = mapped_column(default=utcnow)


class Draft(Timestamped, Base):
    """A mail begun and not sent (brouillon): one per user and DIT."""

    __tablename__ = "drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    collaborator_id: Mapped[int] = mapped_column(ForeignKey("collaborators.id"))
    dit_id: Mapped[int] = mapped_column(ForeignKey("dits.id"))
    to_email: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text, default="")
    # The one "draft kept" DM of this draft, updated in place on later closes.
    dm_channel: Mapped[str | None] = mapped_column(String(40))
    dm_ts: Mapped[str | None] = mapped_column(String(40))
    dit: Mapped[Dit] = relationship(lazy="joined")
    __table_args__ = (UniqueConstraint("collaborator_id", "dit_id"),)


class OutboxItem(Base):
    """Outbound work (a mail, a Slack post) written with the change that caused it.

    Claimed with a lease (`lease_until`), so a crashed worker's item is taken up again.
    `lane` serialises items that must go out in order (one Slack channel, say).
    """

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OutboxKind] = mapped_column(EnumText(OutboxKind, 30))
    lane: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[OutboxStatus] = mapped_column(
        EnumText(OutboxStatus, 10), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column()
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)


class SlackThread(Base):
    """The Slack thread of one DIT in one channel (notifications reply in it)."""

    __tablename__ = "slack_threads"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(40))
    dit_id: Mapped[int] = mapped_column(ForeignKey("dits.id"))
    ts: Mapped[str] = mapped_column(String(40))
    __table_args__ = (UniqueConstraint("channel", "dit_id"),)


class DeliveryLane(Base):
    """Pacing and health of one outbound lane (e.g. a Slack channel): shown by `ditbot doctor`."""

    __tablename__ = "delivery_lanes"
    lane: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_allowed_at: Mapped[datetime | None] = mapped_column()
    lease_until: Mapped[datetime | None] = mapped_column()
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column()


class ProcessedEvent(Base):
    """Slack event ids already handled (Slack retries events)."""

    __tablename__ = "processed_events"
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboundMail(Base):
    """A mail that came in (IMAP or `ditbot mail receive`), whatever became of it.

    `key` (the Message-ID, else a digest of the raw message) makes a mail fetched twice, or by
    two processes at once, count once. `exchange_id` is the received exchange it became;
    `answers_exchange_id` the sent mail an auto-reply or a bounce is about.
    """

    __tablename__ = "inbound_mails"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(300), index=True)
    status: Mapped[InboundStatus] = mapped_column(EnumText(InboundStatus, 12))
    dit_id: Mapped[int | None] = mapped_column(ForeignKey("dits.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    exchange_id: Mapped[int | None] = mapped_column(ForeignKey("exchanges.id"), index=True)
    answers_exchange_id: Mapped[int | None] = mapped_column(ForeignKey("exchanges.id"), index=True)
    from_address: Mapped[str | None] = mapped_column(String(254))
    from_name: Mapped[str | None] = mapped_column(String(200))
    unknown_sender: Mapped[bool] = mapped_column(Boolean, default=False)
    subject: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The new text (quotes and signature stripped), whole even beyond the exchange's limit.
    text: Mapped[str | None] = mapped_column(Text)
    # Why it is unmatched or rejected, a bounce's remote reason, an auto-reply's note.
    reason: Mapped[str | None] = mapped_column(Text)
    # [{"filename", "content_type", "size", "path"}]; `path` is relative to DITBOT_MAIL_STORE.
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    raw_path: Mapped[str | None] = mapped_column(String(500))
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("collaborators.id"))
    handled_at: Mapped[datetime | None] = mapped_column()

    dit: Mapped[Dit | None] = relationship(lazy="joined")
    contact: Mapped[Contact | None] = relationship(lazy="joined")

    __table_args__ = (Index("ix_inbound_mails_status", "status", "received_at"),)


class ResponseWait(Base):
    """One wait of a client on us (from their first unanswered message to our answer), with
    what was sent about it: each reminder and escalation once per wait, across processes.

    Born and ended with the DIT's `waiting_since` (ditbot.domain.exchanges.refresh_indicators);
    `next_check_at` is when the reminder scan next looks at it (None: nothing left to do).
    """

    __tablename__ = "response_waits"
    id: Mapped[int] = mapped_column(primary_key=True)
    dit_id: Mapped[int] = mapped_column(ForeignKey("dits.id"))
    started_at: Mapped[datetime] = mapped_column()
    # No answer of ours came before this wait on the DIT: the first-response target holds.
    first: Mapped[bool] = mapped_column(Boolean, default=False)
    ended_at: Mapped[datetime | None] = mapped_column()
    next_check_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()
    acked_by_id: Mapped[int | None] = mapped_column(ForeignKey("collaborators.id"))
    acked_at: Mapped[datetime | None] = mapped_column()
    snoozed_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    dit: Mapped[Dit] = relationship(lazy="joined")
    acked_by: Mapped[Collaborator | None] = relationship(lazy="joined")

    __table_args__ = (
        # One row per wait: two processes that open the same wait meet on this key.
        UniqueConstraint("dit_id", "started_at"),
        Index("ix_response_waits_next_check_at", "next_check_at"),
    )


class ExchangeFigure(Base):
    """What the manager's figures (`/dit stats`, the digest) need of one live exchange, kept
    when the DIT's exchanges change (ditbot.domain.timers.sync_figures) so that a month's
    figures read an indexed range of this table instead of walking the exchanges.

    For a client message: whether an answer of ours came before it (its target is then the
    next-response one), the time of the first answer at or after it, and the business time
    it took. `response_seconds` is None while unanswered, and for an answered message whose
    business time is still to be worked out (the figures do it before they read).
    """

    __tablename__ = "exchange_figures"
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id"), primary_key=True)
    dit_id: Mapped[int] = mapped_column(ForeignKey("dits.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column()
    client_id: Mapped[int] = mapped_column(Integer)  # the DIT's, as of the last change
    technician_id: Mapped[int | None] = mapped_column(Integer)
    received: Mapped[bool] = mapped_column(Boolean)
    relance: Mapped[bool] = mapped_column(Boolean)
    first: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime | None] = mapped_column()
    response_seconds: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        # Covers both of the figures' queries: a period is one range of it.
        Index(
            "ix_exchange_figures_occurred_at",
            "occurred_at",
            "received",
            "technician_id",
            "client_id",
            "relance",
            "first",
            "response_seconds",
        ),
        # The answered messages whose business time is still to be worked out (few or none).
        Index(
            "ix_exchange_figures_uncounted",
            "exchange_id",
            sqlite_where=text("answered_at IS NOT NULL AND response_seconds IS NULL"),
            postgresql_where=text("answered_at IS NOT NULL AND response_seconds IS NULL"),
        ),
    )
