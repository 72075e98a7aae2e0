"""One portal message costs a fixed number of queries: a regression in the write path shows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import event, select

from storage.db import Database
from storage.models import Dit, ExchangeFigure
from tests.portal.conftest import signed_post


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    """The SQL statements the database runs inside the block."""
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


# 20 before the write path read the DIT's live exchanges once and its types once a transaction.
QUERIES_PER_MESSAGE = 13


def message(number: int) -> dict[str, Any]:
    return {
        "message_id": f"budget-{number}",
        "dit": "DIT-2026-0001",
        "contact": "ACME-PM",
        "detail": f"Message {number}: le copieur affiche encore E42.",
    }


def shown_on_dit(db: Database) -> tuple[int, int, bool]:
    """(the DIT's counter, its stored figures, whether the client waits on us)."""
    with db.session() as session:
        dit = session.scalars(select(Dit).where(Dit.number == "DIT-2026-0001")).one()
        figures = session.scalars(select(ExchangeFigure).where(ExchangeFigure.dit_id == dit.id))
        return dit.exchange_count, len(figures.all()), dit.waiting_since is not None


def test_one_portal_message_costs_a_fixed_number_of_queries(
    client: FlaskClient, db: Database
) -> None:
    assert signed_post(client, message(0)).status_code == 201  # warm: the first one
    before = shown_on_dit(db)
    with counted(db) as statements:
        answer = signed_post(client, message(1))
    assert answer.status_code == 201
    assert shown_on_dit(db) == (before[0] + 1, before[1] + 1, True)  # cheaper, still exact
    # The key, the DIT, the contact, its lock and re-read, the types, the exchange, the
    # notification, the counters, one read of the live exchanges, the stored figures, the new
    # figure, the waits. Each query more is paid by every portal message and inbound mail.
    shown = "\n".join(statement.split("\n")[0][:120] for statement in statements)
    assert len(statements) == QUERIES_PER_MESSAGE, shown
