"""The transactional outbox: outbound work written in the caller's transaction, claimed later.

Items are claimed with a lease: a worker that dies (even kill -9) leaves a lease that expires,
and the next claim takes the item up again. On PostgreSQL the claim also uses
`FOR UPDATE SKIP LOCKED`, so two processes never hold the same item.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.models import OutboxItem
from storage.types import utcnow


def enqueue(
    session: Session, kind: str, payload: dict[str, Any], *, lane: str | None = None
) -> OutboxItem:
    """Add an item to the outbox, in the caller's transaction."""
    item = OutboxItem(kind=kind, payload=payload, lane=lane, status="pending")
    session.add(item)
    return item


def claim(
    session: Session,
    kinds: Sequence[str],
    owner: str,
    *,
    lease_seconds: float = 120.0,
    limit: int = 10,
) -> list[OutboxItem]:
    """Lease up to `limit` due items of `kinds` to `owner`; commit soon after to publish the lease."""
    now = utcnow()
    free = or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now)
    candidates = (
        select(OutboxItem.id)
        .where(
            OutboxItem.status == "pending",
            OutboxItem.kind.in_(list(kinds)),
            OutboxItem.next_attempt_at <= now,
            free,
        )
        .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list(session.scalars(candidates))
    if not ids:
        return []
    until = now + timedelta(seconds=lease_seconds)
    # The `free` guard makes the claim safe on SQLite too: a row leased meanwhile is not taken.
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id.in_(ids), free)
        .values(lease_owner=owner, lease_until=until)
        .execution_options(synchronize_session=False)
    )
    return list(
        session.scalars(
            select(OutboxItem)
            .where(OutboxItem.id.in_(ids), OutboxItem.lease_owner == owner)
            .order_by(OutboxItem.id)
            .execution_options(populate_existing=True)
        )
    )


def mark_done(session: Session, item_id: int) -> None:
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id)
        .values(status="done", done_at=utcnow(), lease_until=None, lease_owner=None)
    )


def retry_later(session: Session, item_id: int, error: str, delay_seconds: float) -> None:
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id)
        .values(
            attempts=OutboxItem.attempts + 1,
            last_error=error[:2000],
            next_attempt_at=utcnow() + timedelta(seconds=delay_seconds),
            lease_until=None,
            lease_owner=None,
        )
    )


def mark_failed(session: Session, item_id: int, error: str) -> None:
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id)
        .values(
            status="failed",
            attempts=OutboxItem.attempts + 1,
            last_error=error[:2000],
            done_at=utcnow(),
            lease_until=None,
            lease_owner=None,
        )
    )


def recent_failures(session: Session, limit: int = 10) -> Sequence[OutboxItem]:
    """The last failed items, and pending ones that already failed at least once."""
    return session.scalars(
        select(OutboxItem)
        .where(OutboxItem.last_error.is_not(None))
        .order_by(OutboxItem.id.desc())
        .limit(limit)
    ).all()
