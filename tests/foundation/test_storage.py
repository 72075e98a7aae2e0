"""Storage: migrations on both backends, and the DIT indicators kept on the DIT row."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import delete, event, inspect, select, text

from ditbot.domain import exchanges
from ditbot.domain.exchanges import ExchangeInput, delete_exchange, edit_exchange
from ditbot.domain.reference import import_data
from storage import repositories as repo
from storage.db import Database, alembic_config
from storage.models import Base, ExchangeType
from storage.types import utcnow
from tests.factories import seed_reference
from tests.foundation.helpers import indicators, log, staff

DEFAULT_TYPES = {"appel", "courriel", "rdv", "complement", "relance", "autre"}


def heads(db: Database) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(db.url)).get_heads())


def current(db: Database) -> set[str]:
    with db.engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def test_fresh_sqlite_file_is_migrated_to_every_head(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert not database.is_current()
        database.upgrade()
        assert database.is_current()
        assert current(database) == heads(database)
    finally:
        database.dispose()


def test_upgrade_twice_is_a_no_op(db: Database) -> None:
    before = current(db)
    assert before == heads(db)
    with db.session() as session:
        session.add(ExchangeType(code="visite", label_fr="Visite", label_en="Visit"))
    tables = set(inspect(db.engine).get_table_names())
    db.upgrade()
    db.upgrade()
    assert current(db) == before
    assert set(inspect(db.engine).get_table_names()) == tables
    with db.session() as session:
        codes = [kind.code for kind in repo.exchange_types(session)]
        # exchange_types survives between PostgreSQL tests (the fixture keeps the seeded rows)
        session.execute(delete(ExchangeType).where(ExchangeType.code == "visite"))
    assert codes.count("relance") == 1 and "visite" in codes  # nothing re-seeded, nothing lost


def test_default_exchange_types_exist_with_relance_flagged(db: Database) -> None:
    with db.session() as session:
        kinds = {kind.code: kind for kind in repo.exchange_types(session)}
    assert set(kinds) == DEFAULT_TYPES
    assert [code for code, kind in kinds.items() if kind.is_relance] == ["relance"]
    assert all(kind.label_fr and kind.label_en for kind in kinds.values())
    with db.session() as session:
        assert [k.code for k in repo.exchange_types(session)][0] == "appel"  # default first


def test_migrations_match_the_models(db: Database) -> None:
    """The schema the migrations build is the one the models describe (no forgotten migration)."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_indicators_index_exists(db: Database) -> None:
    """The 20 latest exchanges of one DIT are an index range, not a scan of the table."""
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(db.engine).get_indexes("exchanges")}
    assert indexes["ix_exchanges_dit_live"][:3] == ["dit_id", "deleted_at", "occurred_at"]


def test_indicators_follow_log_edit_delete(db: Database, seeded: Any) -> None:
    number = "DIT-2026-0001"
    assert indicators(db, number) | {"last_at": None} == {
        "count": 0,
        "relance": False,
        "last_direction": None,
        "last_is_relance": False,
        "last_at": None,
    }
    now = utcnow()
    first = log(db, number, "received", occurred_at=now - timedelta(hours=3))
    state = indicators(db, number)
    assert (state["count"], state["relance"], state["last_direction"]) == (1, False, "received")
    assert state["last_at"] == now - timedelta(hours=3)

    chase = log(
        db,
        number,
        "sent",
        "On vous relance.",
        type_code="relance",
        occurred_at=now - timedelta(hours=1),
    )
    state = indicators(db, number)
    assert (state["count"], state["relance"]) == (2, True)
    assert (state["last_direction"], state["last_is_relance"]) == ("sent", True)

    # Logged now, but it happened earlier: who spoke last follows occurred_at, not the insert.
    log(db, number, "received", "Appel d'hier.", occurred_at=now - timedelta(hours=2))
    state = indicators(db, number)
    assert state["count"] == 3
    assert (state["last_direction"], state["last_is_relance"]) == ("sent", True)

    # An edit turning the relance into a call clears the red counter; turning it back restores it.
    with db.session() as session:
        edit_exchange(
            session,
            chase,
            ExchangeInput("sent", "Simple appel.", type_code="appel"),
            staff(session, "JDU"),
        )
    state = indicators(db, number)
    assert (state["count"], state["relance"], state["last_is_relance"]) == (3, False, False)
    assert state["last_direction"] == "sent"
    with db.session() as session:
        edit_exchange(
            session,
            chase,
            ExchangeInput("sent", "Relance.", type_code="relance"),
            staff(session, "JDU"),
        )
    state = indicators(db, number)
    assert (state["count"], state["relance"], state["last_is_relance"]) == (3, True, True)

    # Deleting the last one: the one before it becomes the last (received: waiting on us).
    with db.session() as session:
        delete_exchange(session, chase, staff(session, "JDU"))
    state = indicators(db, number)
    assert (state["count"], state["relance"]) == (2, False)
    assert (state["last_direction"], state["last_is_relance"]) == ("received", False)
    assert state["last_at"] == now - timedelta(hours=2)

    with db.session() as session:
        delete_exchange(session, first, staff(session, "SBE"))
    assert indicators(db, number)["count"] == 1


def test_indicators_of_one_dit_leave_the_others_alone(db: Database, seeded: Any) -> None:
    log(db, "DIT-2026-0001", "received", type_code="relance")
    log(db, "DIT-2026-0003", "sent", by="MLE")
    one, three, two = (
        indicators(db, n) for n in ("DIT-2026-0001", "DIT-2026-0003", "DIT-2026-0002")
    )
    assert (one["count"], one["relance"], one["last_direction"]) == (1, True, "received")
    assert (three["count"], three["relance"], three["last_direction"]) == (1, False, "sent")
    assert (two["count"], two["last_direction"]) == (0, None)


def test_waiting_on_us_reads_the_indicators(db: Database, seeded: Any) -> None:
    now = utcnow()
    log(db, "DIT-2026-0001", "received", occurred_at=now - timedelta(hours=5))
    log(db, "DIT-2026-0003", "received", by="MLE", occurred_at=now - timedelta(hours=9))
    log(db, "DIT-2026-0002", "received", by="MLE", occurred_at=now - timedelta(hours=1))
    log(db, "DIT-2026-0002", "sent", by="MLE")
    with db.session() as session:
        waiting = [dit.number for dit in repo.dits_waiting_on_us(session)]
    assert waiting == ["DIT-2026-0003", "DIT-2026-0001"]  # longest waiting first


def test_concurrent_writers_keep_the_count_right(
    db: Database, seeded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two threads logging 20 exchanges each on one DIT: the row lock serialises the counter."""
    per_thread = 20
    original = exchanges.refresh_indicators

    def slow_refresh(session: Any, dit: Any) -> None:
        original(session, dit)
        # Widen the window between counting and committing: without the DIT's row lock the
        # other writer counts meanwhile without seeing this exchange, and one update is lost.
        time.sleep(0.02)

    monkeypatch.setattr(exchanges, "refresh_indicators", slow_refresh)
    start = threading.Barrier(2, timeout=30)
    failures: list[BaseException] = []

    def writer(code: str) -> None:
        try:
            start.wait()
            for index in range(per_thread):
                log(db, "DIT-2026-0001", "received", f"{code} #{index}", by=code)
        except BaseException as error:  # reported by the main thread below
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(code,)) for code in ("JDU", "MLE")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert indicators(db, "DIT-2026-0001")["count"] == 2 * per_thread
    with db.session() as session:
        live = session.scalar(
            text(
                "SELECT count(*) FROM exchanges e JOIN dits d ON d.id = e.dit_id "
                "WHERE d.number = 'DIT-2026-0001' AND e.deleted_at IS NULL"
            )
        )
    assert live == 2 * per_thread


def test_exchanges_of_dit_orders_and_filters(db: Database, seeded: Any) -> None:
    now = utcnow()
    old = log(db, "DIT-2026-0001", "received", "ancien", occurred_at=now - timedelta(days=2))
    new = log(db, "DIT-2026-0001", "sent", "récent", occurred_at=now - timedelta(hours=1))
    gone = log(db, "DIT-2026-0001", "sent", "supprimé", occurred_at=now - timedelta(days=1))
    with db.session() as session:
        delete_exchange(session, gone, staff(session, "JDU"))
    with db.session() as session:
        dit = repo.dit_by_number(session, "DIT-2026-0001")
        assert dit is not None
        live = [e.id for e in repo.exchanges_of_dit(session, dit.id)]
        every = [
            e.id
            for e in repo.exchanges_of_dit(
                session, dit.id, include_deleted=True, newest_first=False
            )
        ]
        latest = [e.id for e in repo.exchanges_of_dit(session, dit.id, limit=1)]
    assert live == [new, old]
    assert every == [old, gone, new]
    assert latest == [new]


@pytest.mark.parametrize("query", ["acme", "2026-0003", "BOULANGERIE"])
def test_search_dits_by_number_or_client_name(db: Database, seeded: Any, query: str) -> None:
    with db.session() as session:
        found = [dit.number for dit in repo.search_dits(session, query)]
    expected = {
        "acme": {"DIT-2026-0001", "DIT-2026-0002", "DIT-2026-0005"},
        "2026-0003": {"DIT-2026-0003"},
        "BOULANGERIE": {"DIT-2026-0003", "DIT-2026-0004"},
    }[query]
    assert set(found) == expected


def test_utc_datetimes_round_trip(db: Database, seeded: Any) -> None:
    with db.session() as session:
        dit = repo.dit_by_number(session, "DIT-2026-0001")
        assert dit is not None
    assert dit.created_at.utcoffset() == timedelta(0)
    assert dit.created_at.isoformat() == "2026-11-20T08:00:00+00:00"
    with db.session() as session:
        result = session.execute(select(ExchangeType.code)).all()
    assert len(result) == len(DEFAULT_TYPES)


def test_dit_reads_use_the_index_not_a_scan(tmp_path: Path, sqlite_template: Path) -> None:
    """The 20 latest exchanges and the indicator refresh are index ranges (SQLite's plan)."""
    path = tmp_path / "plan.db"
    path.write_bytes(sqlite_template.read_bytes())
    database = Database(f"sqlite:///{path}")
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if "FROM exchanges" in statement:
            statements.append((statement, parameters))

    try:
        with database.session() as session:
            seed_reference(session)
        event.listen(database.engine, "before_cursor_execute", capture)
        log(database, "DIT-2026-0001")
        with database.session() as session:
            dit = repo.dit_by_number(session, "DIT-2026-0001")
            assert dit is not None
            repo.exchanges_of_dit(session, dit.id, limit=20)
        event.remove(database.engine, "before_cursor_execute", capture)
        reads = [(sql, params) for sql, params in statements if sql.lstrip().startswith("SELECT")]
        assert len(reads) >= 2  # the one read of the live exchanges (indicators), the 20 latest
        with database.engine.connect() as connection:
            for sql, params in reads:
                plan = " | ".join(
                    str(row[-1])
                    for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
                )
                assert "ix_exchanges_dit_live" in plan, (sql, plan)
                assert "SCAN exchanges" not in plan, (sql, plan)
    finally:
        database.dispose()


@pytest.mark.parametrize("query", ["électricité", "ÉLECTRICITÉ", "Électricité gén"])
def test_search_finds_a_client_whatever_the_case_of_its_accented_letters(
    db: Database, seeded: Any, query: str
) -> None:
    with db.session() as session:
        import_data(
            session,
            {
                "clients": [{"code": "ELEC", "name": "Électricité Générale"}],
                "dits": [
                    {
                        "number": "DIT-2026-0900",
                        "client": "ELEC",
                        "title": "Tableau",
                        "state": "en_cours",
                    }
                ],
            },
        )
    with db.session() as session:
        assert [dit.number for dit in repo.search_dits(session, query)] == ["DIT-2026-0900"]
