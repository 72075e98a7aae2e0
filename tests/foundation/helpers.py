"""Small helpers shared by the foundation tests: actors, logging an exchange, counting rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ditbot.domain.exchanges import Actor, ExchangeInput, Party, log_exchange
from storage import repositories as repo
from storage.db import Database
from storage.models import Base, Dit


def staff(session: Session, code: str, source: str = "slack") -> Actor:
    """The Actor of collaborateur `code` acting from `source`."""
    collaborator = repo.collaborator_by_code(session, code)
    assert collaborator is not None, code
    return Actor(source, collaborator=collaborator)  # type: ignore[arg-type]


def client_actor(session: Session, code: str, source: str = "portal") -> Actor:
    """The Actor of client contact `code` (portal or inbound mail)."""
    contact = repo.contact_by_code(session, code)
    assert contact is not None, code
    return Actor(source, contact=contact)  # type: ignore[arg-type]


def contact(code: str) -> Party:
    return Party("contact", code)


def collaborator(code: str) -> Party:
    return Party("collaborator", code)


def log(
    db: Database,
    number: str,
    direction: str = "received",
    detail: str = "Le client a appelé.",
    *,
    by: str = "JDU",
    source: str = "slack",
    **fields: Any,
) -> int:
    """Log an exchange in its own unit of work; returns its id."""
    with db.session() as session:
        actor = (
            client_actor(session, by, source)
            if source in ("portal", "mail")
            else staff(session, by, source)
        )
        key = fields.pop("external_key", None)
        mail_status = fields.pop("mail_status", None)
        exchange, _created = log_exchange(
            session,
            number,
            ExchangeInput(direction, detail, **fields),  # type: ignore[arg-type]
            actor,
            external_key=key,
            mail_status=mail_status,
        )
        return exchange.id


def indicators(db: Database, number: str) -> dict[str, Any]:
    """The indicator columns as stored on the DIT row (what every card reads)."""
    with db.session() as session:
        row = session.execute(
            select(
                Dit.exchange_count,
                Dit.relance_count,
                Dit.last_direction,
                Dit.last_is_relance,
                Dit.last_exchange_at,
            ).where(Dit.number == number)
        ).one()
    return {
        "count": row.exchange_count,
        "relance": row.relance_count > 0,
        "last_direction": row.last_direction,
        "last_is_relance": row.last_is_relance,
        "last_at": row.last_exchange_at,
    }


def row_counts(db: Database) -> dict[str, int]:
    """Rows per table: compared before and after a refused write ("nothing was written")."""
    with db.session() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)
