"""The transactional outbox: outbound work written in the caller's transaction, claimed later.

An item carries one typed payload (storage/outbox_payloads.py): `enqueue` stores it, `load`
reads it back. Items are claimed with a lease: a worker that dies (even kill -9) leaves a
lease that expires, and the next claim takes the item up again. On PostgreSQL the claim also
uses `FOR UPDATE SKIP LOCKED`, so two processes never hold the same item.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar, overload

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.models import DeliveryLane, OutboxItem
from storage.outbox_payloads import OutboxPayload, Payload, UnreadablePayload, dump, parse
from storage.types import utcnow
from storage.vocabulary import OutboxStatus

log = logging.getLogger(__name__)
P = TypeVar("P", bound=OutboxPayload)
_ENQUEUED = "outbox_enqueued_kinds"


def enqueue(session: Session, payload: Payload) -> OutboxItem:
    """Add `payload` to the outbox in the caller's transaction; its type gives kind and lane."""
    item = OutboxItem(
        kind=payload.kind, payload=dump(payload), lane=payload.lane, status=OutboxStatus.PENDING
    )
    session.add(item)
    session.info.setdefault(_ENQUEUED, set()).add(payload.kind)
    return item


def enqueued_kinds(session: Session) -> frozenset[str]:
    """The kinds `enqueue` added in `session` (still readable once it is closed), so that the
    caller wakes only the workers that have something new."""
    return frozenset(session.info.get(_ENQUEUED, ()))


@overload
def load(item: OutboxItem) -> Payload: ...
@overload
def load(item: OutboxItem, expected: type[P]) -> P: ...
def load(item: OutboxItem, expected: type[OutboxPayload] | None = None) -> OutboxPayload:
    """The item's payload, typed; UnreadablePayload when its JSON is not a payload of its kind
    (or not an `expected` one)."""
    try:
        payload = parse(item.kind, item.payload)
    except UnreadablePayload as error:
        raise UnreadablePayload(f"outbox item {item.id}: {error}") from None
    if expected is not None and not isinstance(payload, expected):
        raise UnreadablePayload(
            f"outbox item {item.id}: a {type(payload).__name__}, not a {expected.__name__}"
        )
    return payload


def load_or_fail(
    session: Session, items: Iterable[OutboxItem], expected: type[P]
) -> list[tuple[OutboxItem, P]]:
    """The items with their payloads; an unreadable one is marked failed (with why) and left
    out, so that one bad row never stops a worker."""
    found: list[tuple[OutboxItem, P]] = []
    for item in items:
        try:
            found.append((item, load(item, expected)))
        except UnreadablePayload as error:
            log.error("%s: marked failed", error)
            mark_failed(session, item.id, str(error))
    return found


def claim(
    session: Session,
    kinds: Sequence[str],
    owner: str,
    *,
    lease_seconds: float = 120.0,
    limit: int = 10,
) -> list[OutboxItem]:
    """Lease up to `limit` due items of `kinds` to `owner`; commit soon to publish the lease."""
    now = utcnow()
    free = or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now)
    candidates = (
        select(OutboxItem.id)
        .where(
            OutboxItem.status == OutboxStatus.PENDING,
            OutboxItem.kind.in_(list(kinds)),
            OutboxItem.next_attempt_at <= now,
            free,
        )
        .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
        .limit(limit)
    )
    until = now + timedelta(seconds=lease_seconds)
    if session.get_bind().dialect.name == "postgresql":
        # One round trip: the locked candidates are leased and returned by the same statement;
        # when none is due, that is the whole (cheap) poll.
        # A MATERIALIZED CTE, not `IN (subquery)`: the planner may run such a subquery again
        # for each row, and LIMIT then no longer bounds what is leased.
        locked = candidates.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        return _lease(session, select(locked.c.id), free, owner, until)
    # SQLite: read first, so that an empty poll takes no write lock (it would hold up the
    # requests that store new messages); a row leased by another process in between is left
    # out by the lease's `free` guard.
    ids = list(session.scalars(candidates))
    if not ids:
        return []
    return _lease(session, ids, free, owner, until)


def _lease(session: Session, ids: Any, free: Any, owner: str, until: datetime) -> list[OutboxItem]:
    """Lease the pending items `ids` (a list or a subquery) that are still free to `owner`, in
    one UPDATE ... RETURNING; the items, by id. The `free` guard leaves out a row leased
    meanwhile."""
    leased = session.scalars(
        update(OutboxItem)
        .where(OutboxItem.id.in_(ids), OutboxItem.status == OutboxStatus.PENDING, free)
        .values(lease_owner=owner, lease_until=until)
        .returning(OutboxItem),
        execution_options={"synchronize_session": False, "populate_existing": True},
    )
    return sorted(leased, key=lambda item: item.id)


def mark_done(session: Session, item_id: int) -> None:
    mark_all_done(session, [item_id])


def mark_all_done(session: Session, item_ids: Sequence[int]) -> None:
    """Mark these items done in one statement (a group delivered together)."""
    if not item_ids:
        return
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id.in_(list(item_ids)))
        .values(status=OutboxStatus.DONE, done_at=utcnow(), lease_until=None, lease_owner=None)
        .execution_options(synchronize_session=False)
    )


def note(session: Session, item_id: int, text: str | None) -> None:
    """Write `text` as the item's last_error without counting an attempt (work in flight)."""
    session.execute(update(OutboxItem).where(OutboxItem.id == item_id).values(last_error=text))


def retry_later(session: Session, item_id: int, error: str, delay_seconds: float) -> None:
    retry_all_later(session, [item_id], error, delay_seconds)


def retry_all_later(
    session: Session, item_ids: Sequence[int], error: str, delay_seconds: float
) -> None:
    """Count an attempt on these items and make them due in `delay_seconds`, in one statement."""
    if not item_ids:
        return
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id.in_(list(item_ids)))
        .values(
            attempts=OutboxItem.attempts + 1,
            last_error=error[:2000],
            next_attempt_at=utcnow() + timedelta(seconds=delay_seconds),
            lease_until=None,
            lease_owner=None,
        )
        .execution_options(synchronize_session=False)
    )


def mark_failed(session: Session, item_id: int, error: str) -> None:
    mark_all_failed(session, [item_id], error)


def mark_all_failed(session: Session, item_ids: Sequence[int], error: str) -> None:
    """Fail these items with `error` in one statement."""
    if not item_ids:
        return
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id.in_(list(item_ids)))
        .values(
            status=OutboxStatus.FAILED,
            attempts=OutboxItem.attempts + 1,
            last_error=error[:2000],
            done_at=utcnow(),
            lease_until=None,
            lease_owner=None,
        )
        .execution_options(synchronize_session=False)
    )


def recent_failures(session: Session, limit: int = 10) -> Sequence[OutboxItem]:
    """The last failed items, and pending ones that already failed at least once."""
    return session.scalars(
        select(OutboxItem)
        .where(OutboxItem.last_error.is_not(None))
        .order_by(OutboxItem.id.desc())
        .limit(limit)
    ).all()


# --- Lanes: ordered, paced delivery to one destination (a Slack channel) -----------------------
# A lane (delivery_lanes row) is leased by one worker at a time, across processes; only the
# holder picks and sends that lane's items, so they go out in order and at the lane's pace
# (`next_allowed_at`). The lane also keeps its last error, which `ditbot doctor` shows.


def due_lanes(session: Session, kind: str) -> set[str]:
    """The lanes that have a due, unleased pending item of `kind` (one cheap query)."""
    now = utcnow()
    return set(
        session.scalars(
            select(OutboxItem.lane)
            .where(
                OutboxItem.status == OutboxStatus.PENDING,
                OutboxItem.kind == kind,
                OutboxItem.next_attempt_at <= now,
                or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now),
            )
            .distinct()
        )
    )


def pending_in_lanes(
    session: Session, kind: str, lanes: Sequence[str], *, limit: int = 500
) -> list[OutboxItem]:
    """Due, unleased pending items of `kind` in `lanes`, oldest first (nothing is claimed)."""
    now = utcnow()
    return list(
        session.scalars(
            select(OutboxItem)
            .where(
                OutboxItem.status == OutboxStatus.PENDING,
                OutboxItem.kind == kind,
                OutboxItem.lane.in_(list(lanes)),
                OutboxItem.next_attempt_at <= now,
                or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now),
            )
            .order_by(OutboxItem.id)
            .limit(limit)
        )
    )


def claim_ids(
    session: Session, ids: Sequence[int], owner: str, *, lease_seconds: float = 120.0
) -> list[OutboxItem]:
    """Lease exactly these pending items to `owner` (any leased meanwhile is left out)."""
    if not ids:
        return []
    now = utcnow()
    free = or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now)
    until = now + timedelta(seconds=lease_seconds)
    if session.get_bind().dialect.name != "postgresql":
        return _lease(session, list(ids), free, owner, until)
    wanted = select(OutboxItem.id).where(
        OutboxItem.id.in_(list(ids)), OutboxItem.status == OutboxStatus.PENDING, free
    )
    locked = wanted.with_for_update(skip_locked=True).cte("wanted").prefix_with("MATERIALIZED")
    return _lease(session, select(locked.c.id), free, owner, until)


def renew(session: Session, item_ids: Sequence[int], owner: str, *, lease_seconds: float) -> int:
    """Extend `owner`'s leases on these pending items by `lease_seconds` from now (work still in
    flight); returns how many it still held."""
    if not item_ids:
        return 0
    result = session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.id.in_(list(item_ids)),
            OutboxItem.status == OutboxStatus.PENDING,
            OutboxItem.lease_owner == owner,
        )
        .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def release(session: Session, item_ids: Sequence[int], *, delay_seconds: float = 0.0) -> None:
    """Give items back untouched (no attempt counted), due again after `delay_seconds`."""
    if not item_ids:
        return
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.id.in_(list(item_ids)), OutboxItem.status == OutboxStatus.PENDING)
        .values(
            lease_until=None,
            lease_owner=None,
            next_attempt_at=utcnow() + timedelta(seconds=delay_seconds),
        )
    )


def mark_done_without_delivery(session: Session, kind: str, lanes: Sequence[str]) -> int:
    """Close the pending items of lanes that have no destination (e.g. a channel left unset)."""
    if not lanes:
        return 0
    result = session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.status == OutboxStatus.PENDING,
            OutboxItem.kind == kind,
            OutboxItem.lane.in_(list(lanes)),
        )
        .values(status=OutboxStatus.DONE, done_at=utcnow(), lease_until=None, lease_owner=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def acquire_lane(
    session: Session, lane: str, owner: str, *, lease_seconds: float = 60.0
) -> DeliveryLane | None:
    """Lease `lane` to `owner` when it is free and its pace allows a send now; else None.

    The conditional UPDATE is atomic on PostgreSQL (a concurrent one re-checks the condition
    after the first commits) and SQLite (one writer at a time), so one process holds a lane.
    """
    now = utcnow()
    dialect = session.get_bind().dialect.name
    if session.get(DeliveryLane, lane) is not None:
        pass  # the usual case: no insert, hence no write before the conditional update
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(DeliveryLane).values(lane=lane).on_conflict_do_nothing())
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(DeliveryLane).values(lane=lane).on_conflict_do_nothing())
    else:
        session.add(DeliveryLane(lane=lane))
        session.flush()
    # RETURNING: the lane as leased, or nothing, in the one round trip.
    return session.scalars(
        update(DeliveryLane)
        .where(
            DeliveryLane.lane == lane,
            or_(
                DeliveryLane.lease_until.is_(None),
                DeliveryLane.lease_until < now,
                DeliveryLane.lease_owner == owner,
            ),
            or_(DeliveryLane.next_allowed_at.is_(None), DeliveryLane.next_allowed_at <= now),
        )
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
        .returning(DeliveryLane),
        execution_options={"synchronize_session": False, "populate_existing": True},
    ).one_or_none()


def renew_lane(session: Session, lane: str, owner: str, *, lease_seconds: float) -> bool:
    """Extend `owner`'s lease on `lane` by `lease_seconds` from now; False if it lost it."""
    result = session.execute(
        update(DeliveryLane)
        .where(DeliveryLane.lane == lane, DeliveryLane.lease_owner == owner)
        .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def lane_wait_seconds(session: Session, lane: str) -> float | None:
    """Seconds until `lane` may send again (0 when it may now), None when it is unknown."""
    row = session.get(DeliveryLane, lane, populate_existing=True)
    if row is None:
        return None
    if row.next_allowed_at is None:
        return 0.0
    return max(0.0, (row.next_allowed_at - utcnow()).total_seconds())


def release_lane(
    session: Session,
    lane: str,
    owner: str,
    *,
    next_allowed_in: float | None = None,
    error: str | None = None,
    clear_error: bool = False,
) -> None:
    """End `owner`'s lease on `lane`; set its pace and record (or clear) its last error."""
    values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
    if next_allowed_in is not None:
        values["next_allowed_at"] = utcnow() + timedelta(seconds=next_allowed_in)
    if error is not None:
        values["last_error"] = error[:2000]
        values["last_error_at"] = utcnow()
    elif clear_error:
        values["last_error"] = None
        values["last_error_at"] = None
    session.execute(
        update(DeliveryLane)
        .where(DeliveryLane.lane == lane, DeliveryLane.lease_owner == owner)
        .values(**values)
    )


def lane_errors(session: Session) -> Sequence[DeliveryLane]:
    """Lanes whose last delivery failed (shown by `ditbot doctor`)."""
    return session.scalars(
        select(DeliveryLane).where(DeliveryLane.last_error.is_not(None)).order_by(DeliveryLane.lane)
    ).all()
