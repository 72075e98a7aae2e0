"""A bench given a PostgreSQL server URL works in a scratch database and leaves nothing behind."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from bench import bench_inbound, scratch
from ditbot.core.settings import normalize_database_url

PG_URL = os.environ.get("DITBOT_TEST_POSTGRES_URL", "").strip()


def databases(admin_url: str) -> set[str]:
    engine = create_engine(admin_url)
    with engine.connect() as connection:
        names = set(connection.scalars(text("SELECT datname FROM pg_database")))
    engine.dispose()
    return names


@pytest.fixture
def given_database() -> Iterator[str]:
    """An empty database on the test server, the one the bench is given as --database-url."""
    if not PG_URL:
        pytest.skip("DITBOT_TEST_POSTGRES_URL is not set: no PostgreSQL server to give the bench")
    admin_url = normalize_database_url(PG_URL)
    name = f"ditbot_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_bench_inbound_leaves_no_table_and_no_database_behind(
    given_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    used: list[str] = []
    real = scratch.scratch_database

    @contextmanager
    def recorded(base_url: str | None, label: str, keep: bool = False) -> Iterator[str]:
        with real(base_url, label, keep) as url:
            used.append(url)
            assert make_url(url).database in databases(given_database)
            yield url

    monkeypatch.setattr(bench_inbound, "scratch_database", recorded)

    bench_inbound.main(["--messages", "20", "--database-url", given_database])

    out = capsys.readouterr().out
    assert "bench_inbound: 20 messages, database postgresql" in out
    assert "exchanges from mail: 13;" in out  # this run's rows only
    assert len(used) == 1 and make_url(used[0]).database != make_url(given_database).database
    engine = create_engine(given_database)
    assert inspect(engine).get_table_names() == []
    engine.dispose()
    assert make_url(used[0]).database not in databases(given_database)
