"""Queries. Repositories read and add; they never commit (the unit of work does)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    String,
    and_,
    any_,
    bindparam,
    false,
    func,
    insert,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import (
    Session,
    aliased,
    defaultload,
    immediateload,
    lazyload,
    selectinload,
)

from storage.models import (
    Client,
    Collaborator,
    Contact,
    Dit,
    Draft,
    Exchange,
    ExchangeType,
    ExchangeVersion,
    SlackThread,
    Team,
)
from storage.types import unicode_lower, utcnow
from storage.vocabulary import OPEN_STATES, Direction


def same_key(column: Any, value: str) -> Any:
    """`column` equals `value` trimmed, without regard to case: codes and DIT numbers are
    unique so (migration 0005 indexes lower(column)), whatever the caller typed."""
    if not storable(value):
        return false()  # nothing stored holds it, and PostgreSQL cannot even compare it
    return func.lower(column) == func.lower(value.strip())


def storable(value: str) -> bool:
    """False for text no row holds: NUL (PostgreSQL refuses it) or an unpaired surrogate."""
    return not any(char == "\x00" or "\ud800" <= char <= "\udfff" for char in value)


def like_pattern(text: str) -> str:
    """`%text%` for a LIKE ... ESCAPE '\\': the user's `%`, `_` and `\\` match themselves."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def collaborator_by_mail1(session: Session, email: str) -> Collaborator | None:
    """The collaborateur whose Mail 1 is `email` (no two share one, whatever the case)."""
    return session.scalar(select(Collaborator).where(same_key(Collaborator.mail1, email)))


def dit_by_number(session: Session, number: str) -> Dit | None:
    return session.scalar(select(Dit).where(same_key(Dit.number, number)))


def lock_dit(session: Session, dit: Dit) -> None:
    """Take the DIT's row lock for this transaction (serialises writers of its indicators).

    An UPDATE locks the row on PostgreSQL and takes SQLite's write lock, so a concurrent
    writer waits until we commit and then reads what we wrote.
    """
    session.execute(update(Dit).where(Dit.id == dit.id).values(updated_at=utcnow()))


def search_dits(session: Session, query: str, limit: int = 20) -> Sequence[Dit]:
    """DITs whose number or client name contains `query`, newest first."""
    if not storable(query):
        return []
    pattern = like_pattern(query.strip().lower())
    return session.scalars(
        select(Dit)
        .join(Client, Dit.client_id == Client.id)
        .where(
            or_(
                func.lower(Dit.number).like(pattern, escape="\\"),
                unicode_lower(Client.name).like(pattern, escape="\\"),
            )
        )
        .order_by(Dit.created_at.desc(), Dit.id.desc())
        .limit(limit)
    ).all()


def dits_of_technician(session: Session, collaborator_id: int, limit: int = 30) -> Sequence[Dit]:
    return session.scalars(
        select(Dit)
        .where(Dit.technician_id == collaborator_id, Dit.state.in_(OPEN_STATES))
        .order_by(Dit.last_exchange_at.desc().nulls_last(), Dit.id.desc())
        .limit(limit)
    ).all()


def dits_waiting_on_us(session: Session, limit: int = 30) -> Sequence[Dit]:
    """Open DITs where the client spoke last, the longest waiting first."""
    return session.scalars(
        select(Dit)
        .where(Dit.last_direction == Direction.RECEIVED, Dit.state.in_(OPEN_STATES))
        .order_by(Dit.last_exchange_at.asc(), Dit.id.asc())
        .limit(limit)
    ).all()


def exchanges_of_dit(
    session: Session,
    dit_id: int,
    *,
    include_deleted: bool = False,
    newest_first: bool = True,
    limit: int | None = None,
    offset: int = 0,
    with_mail_facts: bool = False,
) -> Sequence[Exchange]:
    """A DIT's exchanges; `with_mail_facts` loads their inbound mails and notes in two queries."""
    # The DIT is nearly always in the session already (the caller looked it up): take it from
    # the identity map instead of joining the DIT, its client, contact and technician per row.
    statement = (
        select(Exchange).where(Exchange.dit_id == dit_id).options(immediateload(Exchange.dit))
    )
    if not include_deleted:
        statement = statement.where(Exchange.deleted_at.is_(None))
    order = (
        (Exchange.occurred_at.desc(), Exchange.id.desc())
        if newest_first
        else (Exchange.occurred_at.asc(), Exchange.id.asc())
    )
    statement = statement.order_by(*order).offset(offset)
    if with_mail_facts:
        statement = statement.options(
            selectinload(Exchange.inbound_mail), selectinload(Exchange.mail_notes)
        )
    if limit is not None:
        statement = statement.limit(limit)
    return session.scalars(statement).all()


def exchange_by_id(session: Session, exchange_id: int) -> Exchange | None:
    return session.get(Exchange, exchange_id)


def exchange_by_key(session: Session, key: str) -> Exchange | None:
    return session.scalar(select(Exchange).where(Exchange.external_key == key))


def versions_of(session: Session, exchange_id: int) -> Sequence[ExchangeVersion]:
    return session.scalars(
        select(ExchangeVersion)
        .where(ExchangeVersion.exchange_id == exchange_id)
        .order_by(ExchangeVersion.id)
    ).all()


def version_count(session: Session, exchange_id: int) -> int:
    """How many previous versions an exchange has (one per edit)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(ExchangeVersion)
            .where(ExchangeVersion.exchange_id == exchange_id)
        )
        or 0
    )


def collaborator_by_code(session: Session, code: str) -> Collaborator | None:
    return session.scalar(select(Collaborator).where(same_key(Collaborator.code, code)))


def collaborator_by_slack_id(session: Session, slack_user_id: str) -> Collaborator | None:
    return session.scalar(select(Collaborator).where(Collaborator.slack_user_id == slack_user_id))


def collaborators_by_email(session: Session, email: str) -> Sequence[Collaborator]:
    address = email.strip().lower()
    return session.scalars(
        select(Collaborator).where(
            or_(
                func.lower(Collaborator.mail1) == address, func.lower(Collaborator.mail2) == address
            )
        )
    ).all()


def all_collaborators(session: Session) -> Sequence[Collaborator]:
    return session.scalars(select(Collaborator).order_by(Collaborator.name)).all()


def client_by_code(session: Session, code: str) -> Client | None:
    return session.scalar(select(Client).where(same_key(Client.code, code)))


def contact_by_code(session: Session, code: str) -> Contact | None:
    return session.scalar(select(Contact).where(same_key(Contact.code, code)))


def contacts_of_client(session: Session, client_id: int) -> Sequence[Contact]:
    return session.scalars(
        select(Contact).where(Contact.client_id == client_id).order_by(Contact.name)
    ).all()


def exchange_types(session: Session, *, active_only: bool = True) -> Sequence[ExchangeType]:
    statement = select(ExchangeType).order_by(ExchangeType.position, ExchangeType.code)
    if active_only:
        statement = statement.where(ExchangeType.active.is_(True))
    return session.scalars(statement).all()


def exchange_type(session: Session, code: str) -> ExchangeType | None:
    return session.get(ExchangeType, code)


def draft_of(session: Session, collaborator_id: int, dit_id: int) -> Draft | None:
    return session.scalar(
        select(Draft).where(Draft.collaborator_id == collaborator_id, Draft.dit_id == dit_id)
    )


def drafts_of(session: Session, collaborator_id: int) -> Sequence[Draft]:
    return session.scalars(
        select(Draft)
        .where(Draft.collaborator_id == collaborator_id)
        .order_by(Draft.updated_at.desc())
    ).all()


def slack_thread(session: Session, channel: str, dit_id: int) -> SlackThread | None:
    """The notification thread of a DIT in a channel, when one was started."""
    return session.scalar(
        select(SlackThread).where(SlackThread.channel == channel, SlackThread.dit_id == dit_id)
    )


def first_exchange_where(session: Session, dit_id: int, *conditions: Any) -> Exchange | None:
    """The earliest live exchange of a DIT meeting `conditions` (joined with its type)."""
    return session.scalar(
        select(Exchange)
        .join(ExchangeType, ExchangeType.code == Exchange.type_code)
        .where(Exchange.dit_id == dit_id, Exchange.deleted_at.is_(None), or_(*conditions))
        .order_by(Exchange.occurred_at.asc(), Exchange.id.asc())
        .limit(1)
    )


def dit_for_slack(session: Session, number: str) -> Dit | None:
    """A DIT with its client, interlocuteur and technician, for the Slack panel: never the
    client's whole contact list (the panel does not show it), whatever its default loading."""
    return session.scalar(
        select(Dit)
        .where(same_key(Dit.number, number))
        .options(defaultload(Dit.client).lazyload(Client.contacts))
    )


def exchanges_for_panel(
    session: Session, dit_id: int, *, limit: int, offset: int = 0
) -> Sequence[Exchange]:
    """A page of a DIT's live exchanges, newest first, loading only what the panel shows.

    Type, sender and receiver are joined; the DIT comes from the identity map (the caller has
    it); author and deleter load on access (the detail view), not on every row.
    """
    return session.scalars(
        select(Exchange)
        .where(Exchange.dit_id == dit_id, Exchange.deleted_at.is_(None))
        .options(
            lazyload(Exchange.dit),
            lazyload(Exchange.author_collaborator),
            lazyload(Exchange.author_contact),
            lazyload(Exchange.deleted_by),
        )
        .order_by(Exchange.occurred_at.desc(), Exchange.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()


def exchange_id_by_key(session: Session, key: str) -> int | None:
    """The id of the exchange recorded under `key`, if any (a cheap check: no joins)."""
    return session.scalar(select(Exchange.id).where(Exchange.external_key == key))


def exchanges_page(
    session: Session, dit_id: int, *conditions: Any, limit: int, before: Exchange | None = None
) -> Sequence[Exchange]:
    """Up to `limit` live exchanges of a DIT meeting `conditions`, newest first, older than
    `before` when given (keyset paging: the cost of a page does not grow with the history).

    Type and sender are joined (what a conversation shows); the rest loads on access.
    """
    statement = select(Exchange).where(
        Exchange.dit_id == dit_id, Exchange.deleted_at.is_(None), *conditions
    )
    if before is not None:
        statement = statement.where(
            or_(
                Exchange.occurred_at < before.occurred_at,
                and_(Exchange.occurred_at == before.occurred_at, Exchange.id < before.id),
            )
        )
    return session.scalars(
        statement.options(
            lazyload(Exchange.dit),
            lazyload(Exchange.sent_by_contact),
            lazyload(Exchange.received_by_collaborator),
            lazyload(Exchange.received_by_contact),
            lazyload(Exchange.author_collaborator),
            lazyload(Exchange.author_contact),
            lazyload(Exchange.deleted_by),
        )
        .order_by(Exchange.occurred_at.desc(), Exchange.id.desc())
        .limit(limit)
    ).all()


# -- bulk writes of an import (ditbot/domain/reference.py `upsert_dits`) ----------------------
BULK_CHUNK = 2000  # rows per statement: well under SQLite's and PostgreSQL's parameter limits


def dits_as_imported(session: Session, numbers: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """number.lower() -> (id, title, state, client code, contact code, technician code,
    created_at, finished_at) of the stored DITs among `numbers`, found without regard to case
    (as `same_key`): what an import compares its rows with."""
    technician = aliased(Collaborator)
    contact = aliased(Contact)
    found: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(numbers), BULK_CHUNK):
        # On the connection (Core), not through the ORM: plain rows, no entity loading.
        rows = session.connection().execute(
            select(
                Dit.number,
                Dit.id,
                Dit.title,
                type_coerce(Dit.state, String),  # the text: equal to its StrEnum, read faster
                Client.code,
                contact.code,
                technician.code,
                type_coerce(Dit.created_at, String),  # as stored: see _stored_moment
                type_coerce(Dit.finished_at, String),
            )
            .join(Client, Client.id == Dit.client_id)
            .outerjoin(contact, contact.id == Dit.contact_id)
            .outerjoin(technician, technician.id == Dit.technician_id)
            .where(
                _one_of(
                    session,
                    func.lower(Dit.number),  # the index of migration 0005
                    [number.lower() for number in numbers[start : start + BULK_CHUNK]],
                )
            )
        )
        for row in rows.fetchall():
            created_at, finished_at = row[7], row[8]
            found[row[0].lower()] = (
                *row[1:7],
                _stored_moment(created_at),
                None if finished_at is None else _stored_moment(finished_at),
            )
    return found


def _stored_moment(value: Any) -> datetime:
    """A UTC column's value as the driver gives it (SQLite: the text SQLAlchemy wrote; the
    others: a naive datetime), as `UTCDateTime` loads it: `fromisoformat` is a tenth of the
    cost of the column type's result processing, a third of a no-change re-import's reads."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _one_of(session: Session, column: Any, values: Sequence[str]) -> Any:
    """`column IN values`; on PostgreSQL as `= ANY(one array)`: psycopg parses a query with
    thousands of placeholders anew each time (seconds per import), one parameter it does not."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("one_of", list(values), type_=ARRAY(String)))
    return column.in_(values)


def codes_to_ids(session: Session, model: type[Client | Contact | Collaborator]) -> dict[str, int]:
    """code.lower() -> id of every client, contact or collaborator (an import resolves its
    codes; they are unique without regard to case)."""
    return {code.lower(): id_ for code, id_ in session.execute(select(model.code, model.id))}


def insert_rows(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows of `model`'s table in bulk (Core executemany; column defaults apply)."""
    table = model.__table__
    for start in range(0, len(rows), BULK_CHUNK):
        session.connection().execute(insert(table), list(rows[start : start + BULK_CHUNK]))


def update_rows(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """Update rows of `model`'s table in bulk: each row holds `row_id` and the columns to set
    (the same keys in every row); `updated_at` moves."""
    if not rows:
        return
    names = [name for name in rows[0] if name != "row_id"]
    table = model.__table__
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(f"new_{name}") for name in names} | {"updated_at": utcnow()})
    )
    params = [
        {"row_id": row["row_id"], **{f"new_{name}": row[name] for name in names}} for row in rows
    ]
    for start in range(0, len(params), BULK_CHUNK):
        session.connection().execute(statement, params[start : start + BULK_CHUNK])


def clients_as_imported(session: Session) -> dict[str, tuple[Any, ...]]:
    """code.lower() -> (id, name, team code, first_response_hours, next_response_hours) of
    every client."""
    return {
        row[0].lower(): tuple(row[1:])
        for row in session.execute(
            select(
                Client.code,
                Client.id,
                Client.name,
                Team.code,
                Client.first_response_hours,
                Client.next_response_hours,
            ).outerjoin(Team, Team.id == Client.team_id)
        )
    }


def team_codes_to_ids(session: Session) -> dict[str, int]:
    """code.lower() -> id of every team (see codes_to_ids)."""
    return {code.lower(): id_ for code, id_ in session.execute(select(Team.code, Team.id))}


def contacts_as_imported(session: Session) -> dict[str, tuple[Any, ...]]:
    """code.lower() -> (id, client code, name, mail1, mail2) of every contact."""
    return {
        row[0].lower(): tuple(row[1:])
        for row in session.execute(
            select(
                Contact.code, Contact.id, Client.code, Contact.name, Contact.mail1, Contact.mail2
            ).join(Client, Client.id == Contact.client_id)
        )
    }


def contact_clients(session: Session) -> Sequence[tuple[str, str]]:
    """(contact code, its client's code) of every contact, both lower-cased (see codes_to_ids)."""
    return [
        (contact.lower(), client.lower())
        for contact, client in session.execute(
            select(Contact.code, Client.code).join(Client, Client.id == Contact.client_id)
        )
    ]
