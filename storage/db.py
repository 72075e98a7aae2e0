"""Engine, sessions and the one place that owns the transaction (unit of work)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, exc, inspect, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from storage.types import SQLITE_LOWER, sqlite_lower

MIGRATIONS = Path(__file__).parent / "migrations"
# SQLite reports these programming errors as OperationalError: they are bugs, not outages.
_SQLITE_BUGS = ("no such table", "no such column", "syntax error", "has no column")


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (absolute), or None for memory or a URI the caller wrote."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).absolute()


def _existing_file_only(url: str, path: Path) -> str:
    """`url` opened with mode=rw: a database file moved away while ditbot runs is an error
    (503, retried), never silently replaced by a new empty one. The file is created here,
    once, when it does not exist yet (a first start, before `db upgrade`)."""
    if not path.exists() and path.parent.is_dir():
        sqlite3.connect(path).close()
    parsed = make_url(url)
    query = {**parsed.query, "mode": "rw", "uri": "true"}
    return parsed.set(database=f"file:{quote(str(path))}", query=query).render_as_string(
        hide_password=False
    )


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a generous busy timeout."""
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        engine = create_engine(
            _existing_file_only(url, path) if path is not None else url,
            connect_args={"timeout": 30, "check_same_thread": False},
            **kwargs,
        )
        if path is not None:

            @event.listens_for(engine, "checkout")
            def _file_still_there(_dbapi: Any, _record: Any, _proxy: Any) -> None:
                # A pooled connection keeps the moved file open and would go on writing there:
                # drop it; the new connection (mode=rw) fails until the file is back.
                if not path.exists():
                    raise exc.DisconnectionError(f"the SQLite file {path} is missing")

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.create_function(SQLITE_LOWER, 1, sqlite_lower, deterministic=True)
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    if url.startswith("postgresql"):
        # A host that stops answering (rather than refusing) must fail fast, not hang requests.
        kwargs.setdefault(
            "connect_args",
            {
                "connect_timeout": 5,
                "keepalives": 1,
                "keepalives_idle": 30,
                "keepalives_interval": 10,
                "keepalives_count": 3,
            },
        )
    return create_engine(url, pool_pre_ping=True, **kwargs)


class Database:
    """Owns the engine and hands out units of work."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Handed to every session as `session.info` (the application's settings, for what the
        # domain works out inside a unit of work); storage itself never reads it.
        self.session_info: dict[str, Any] = {}

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits when the block ends, rolls back if it raises."""
        session = self._sessions(info=dict(self.session_info))
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> None:
        """Raise if the database does not answer."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def upgrade(self) -> None:
        """Apply every pending migration (`ditbot db upgrade`)."""
        with self.engine.begin() as connection:
            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")

    def is_current(self) -> bool:
        """True when the schema exists (used to say 'run ditbot db upgrade' instead of crashing)."""
        return inspect(self.engine).has_table("dits")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def database_unavailable(error: BaseException) -> bool:
    """True when `error` means the database does not answer for now (down, unreachable,
    restarting, locked, pool exhausted): the caller should try again in a moment.

    A constraint violation or a bad query is not an outage: it stays a bug (logged, 500).
    """
    if isinstance(error, exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, exc.InterfaceError):
        return True
    if isinstance(error, exc.OperationalError):
        text = str(error.orig).lower()
        return not any(bug in text for bug in _SQLITE_BUGS)
    return False


def outage_summary(error: BaseException) -> str:
    """The driver's reason for an outage, on one line (for the logs)."""
    cause = error.orig if isinstance(error, exc.DBAPIError) and error.orig else error
    return f"{type(cause).__name__}: {' '.join(str(cause).split())}"[:300]
