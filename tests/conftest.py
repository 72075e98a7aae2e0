"""Shared fixtures: a real database (SQLite and PostgreSQL), settings, seeded reference data.

PostgreSQL tests create a database of their own on DITBOT_TEST_POSTGRES_URL (default: the local
server, postgres@127.0.0.1:5432/test); in CI a server that does not answer is an error, never a
silent skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from ditbot.core.context import Context
from ditbot.core.settings import Settings
from storage.db import Database
from storage.models import Base
from tests.credentials import API_TOKEN, PORTAL_SECRET, SIGNING_SECRET
from tests.factories import seed_reference

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/test"
PG_URL = os.environ.get("DITBOT_TEST_POSTGRES_URL", "").strip()
BACKENDS = [b for b in os.environ.get("DITBOT_TEST_BACKENDS", "sqlite,postgres").split(",") if b]
SHARED = Path(__file__).resolve().parents[2] / "shared"


def _normalized(url: str) -> str:
    return (
        url.replace("postgresql://", "postgresql+psycopg://", 1)
        if url.startswith("postgresql://")
        else url
    )


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, migrated once, dropped at the end."""
    admin_url = _normalized(PG_URL or LOCAL_PG)
    name = f"ditbot_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as error:
        reason = f"PostgreSQL at {admin_url} does not answer ({error.orig})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: in CI the PostgreSQL tests must run")
        pytest.skip(
            f"{reason}; set DITBOT_TEST_POSTGRES_URL to a server where we may create databases"
        )
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    database = Database(url)
    database.upgrade()
    database.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (faster than migrating every time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    database.dispose()
    return path


# The sequences that TRUNCATE ... RESTART IDENTITY restarts: those owned by the tables' columns.
OWNED_SEQUENCES = """
SELECT s.oid::regclass::text FROM pg_class s
JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
JOIN pg_class t ON t.oid = d.refobjid AND d.refclassid = 'pg_class'::regclass
WHERE s.relkind = 'S' AND d.deptype IN ('a', 'i') AND t.relname = ANY(:t)
"""


class _PostgresEmptier:
    """Empties the test database between tests as `TRUNCATE <tables but exchange_types> RESTART
    IDENTITY` did, in a tenth of the time: each test leaves a few rows, which DELETE (children
    first) removes in milliseconds, where TRUNCATE swaps every table's files (60-150 ms a test);
    the sequences those tables own restart, on one connection kept for the session."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, pool_pre_ping=True)
        kept = {"exchange_types", "alembic_version"}  # reference rows the migrations wrote
        tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name not in kept]
        with self.engine.connect() as connection:
            present = set(
                connection.scalars(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            )
            sequences = list(connection.scalars(text(OWNED_SEQUENCES), {"t": tables}))
        unknown = present - set(tables) - kept
        assert not unknown, f"tables the models do not know would keep rows across tests: {unknown}"
        self.statement = "; ".join(
            [f'DELETE FROM "{table}"' for table in tables]
            + [f"ALTER SEQUENCE {sequence} RESTART" for sequence in sorted(sequences)]
        )

    def __call__(self) -> None:
        with self.engine.begin() as connection:
            connection.exec_driver_sql(self.statement)

    def dispose(self) -> None:
        self.engine.dispose()


@pytest.fixture(scope="session")
def postgres_emptier(postgres_template: str) -> Iterator[_PostgresEmptier]:
    emptier = _PostgresEmptier(postgres_template)
    yield emptier
    emptier.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "ditbot.db"
        target.write_bytes(template.read_bytes())
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_template")
    emptier: _PostgresEmptier = request.getfixturevalue("postgres_emptier")
    emptier()
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def env(db_url: str) -> dict[str, str]:
    """The environment of a test ditbot (tests add Slack and SMTP addresses to it)."""
    return {
        "DATABASE_URL": db_url,
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DITBOT_PORTAL_SECRET": PORTAL_SECRET,
        "DITBOT_API_TOKEN": API_TOKEN,
        "DITBOT_MAIL_FROM": "DIT SAV <sav@sav.example>",
        "DITBOT_PUBLIC_URL": "http://localhost:3000",
        "DITBOT_LOCALE": "fr",
    }


@pytest.fixture
def settings(env: dict[str, str], tmp_path: Path) -> Settings:
    return Settings.from_env(env, dotenv=tmp_path / "no.env")


@pytest.fixture
def ctx(settings: Settings, db: Database) -> Context:
    return Context(settings=settings, db=db)


@pytest.fixture
def seeded(db: Database) -> dict[str, Any]:
    """Reference data: staff (one manager), two clients of two contacts, open and closed DITs."""
    with db.session() as session:
        return seed_reference(session)


@pytest.fixture
def shared_dir() -> Path:
    """../shared beside the project; a user's fresh clone may not have it."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (a fresh clone has no ../shared; CI always has it)")
    return SHARED
