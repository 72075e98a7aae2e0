"""The words of the domain, defined once: directions, states, sources, statuses, kinds.

Each is a `StrEnum`: its members are the strings stored in the database and sent in JSON, so
they compare equal to those strings and go straight into SQL, Block Kit and payloads.
Labels shown to people are translated elsewhere (`ditbot/domain/labels.py`).
"""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    """Which way an exchange went: from the client (received) or to the client (sent)."""

    RECEIVED = "received"
    SENT = "sent"


class DitState(StrEnum):
    """The states of a DIT, as the back office names them (DOMAIN.md)."""

    SAISIE_EXTERNE = "saisie_externe"
    EN_COURS = "en_cours"
    TRAVAIL_TERMINE = "travail_termine"
    TRAVAIL_NON_TERMINE = "travail_non_termine"
    CLOTUREE = "cloturee"
    ANNULEE = "annulee"

    @property
    def closed(self) -> bool:
        """No exchange can be logged any more (`cloturee`, `annulee`)."""
        return self in CLOSED_STATES

    @property
    def finished(self) -> bool:
        """The work is over (the portal's window starts): finished, closed or cancelled."""
        return self in FINISHED_STATES


OPEN_STATES = (
    DitState.SAISIE_EXTERNE,
    DitState.EN_COURS,
    DitState.TRAVAIL_TERMINE,
    DitState.TRAVAIL_NON_TERMINE,
)
CLOSED_STATES = (DitState.CLOTUREE, DitState.ANNULEE)
FINISHED_STATES = (
    DitState.TRAVAIL_TERMINE,
    DitState.TRAVAIL_NON_TERMINE,
    DitState.CLOTUREE,
    DitState.ANNULEE,
)


class Source(StrEnum):
    """Where an exchange was recorded from."""

    SLACK = "slack"
    PORTAL = "portal"
    MAIL = "mail"
    API = "api"


class PartyKind(StrEnum):
    """Who a sender or a recipient is: one of our staff or a client's contact."""

    COLLABORATOR = "collaborator"
    CONTACT = "contact"


class MailStatus(StrEnum):
    """Delivery of a mail sent from ditbot, as the user sees it."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class OutboxStatus(StrEnum):
    """An outbox item waits (pending), went out (done) or was given up (failed)."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class OutboxKind(StrEnum):
    """What an outbox item asks for; each kind has one worker (ditbot/delivery/registry)."""

    MAIL = "mail"
    NOTIFY = "notify"
    SLACK_DM = "slack_dm"
    UNMATCHED_MAIL = "unmatched_mail"  # a mail no DIT was found for, posted for triage
    REMINDER = "reminder"  # a wait's reminder DM or escalation post (bot/workers/reminders)


class Lane(StrEnum):
    """Outbox lanes that keep channel notifications in order, one per channel."""

    PORTAL = "portal"
    RELANCES = "relances"


class NoticeReason(StrEnum):
    """Why a channel is told of an exchange: a portal message, or a relance (managers)."""

    PORTAL = "portal"
    RELANCE = "relance"

    @property
    def lane(self) -> Lane:
        """The outbox lane of notices given for this reason."""
        return Lane.PORTAL if self is NoticeReason.PORTAL else Lane.RELANCES


class InboundStatus(StrEnum):
    """What became of a mail that came in (ditbot/mail/inbound)."""

    RECORDED = "recorded"  # it is a received exchange of a DIT
    UNMATCHED = "unmatched"  # no DIT found: kept until a collaborateur attaches or dismisses it
    AUTO_REPLY = "auto_reply"  # an out-of-office or other automatic answer: a note, no exchange
    BOUNCE = "bounce"  # a delivery status notification: the mail it names is failed
    REJECTED = "rejected"  # not a readable mail: set aside with its reason
    DISMISSED = "dismissed"  # an unmatched mail a collaborateur set aside


class WaitStep(StrEnum):
    """What is said about a client's wait: the technician's reminder (DM), the reminder again
    after a snooze, the escalation to the managers."""

    REMINDER = "reminder"
    SNOOZE = "snooze"
    ESCALATION = "escalation"
