"""Scratch databases for the benchmarks: `--database-url` names a server, never a target.

Every benchmark that takes `--database-url` works in a database of its own, made here and
dropped at the end, also on Ctrl-C or a failure, so that a run never writes into the database
it is given and never counts an earlier run's rows:
- no URL: a SQLite file in a temporary directory;
- a SQLite URL: a file beside the given path (`<stem>-<label>.db`, which must not exist);
- a PostgreSQL URL: a new database `ditbot_bench_<label>_<hex>` on that server (the user needs
  CREATEDB), dropped with `WITH (FORCE)` so that a child process still connected does not
  keep it alive.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ditbot.core.settings import normalize_database_url


def backend(base_url: str | None) -> str:
    """'postgresql' or 'sqlite': what a bench's figures were measured on."""
    return "postgresql" if (base_url or "").startswith("postgres") else "sqlite"


@contextmanager
def scratch_database(base_url: str | None, label: str, keep: bool = False) -> Iterator[str]:
    """A new, empty database URL on the server (or beside the path) `base_url` names.

    Removed afterwards unless `keep` (a temporary SQLite file is always removed).
    """
    if base_url is None or base_url.startswith("sqlite"):
        with ExitStack() as stack:
            if base_url is None:
                folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
                stem = "bench"
            else:
                given = Path(make_url(base_url).database or "bench.db")
                folder, stem = given.parent, given.stem
                folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{stem}-{label}.db"
            if path.exists():
                raise SystemExit(f"{path} already exists: give a path that does not")
            try:
                yield f"sqlite:///{path}"
            finally:
                if not keep or base_url is None:
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    url = make_url(normalize_database_url(base_url))
    name = f"ditbot_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


DATABASE_HELP = (
    "a PostgreSQL server (e.g. postgresql://postgres@127.0.0.1:5432/postgres) or a SQLite path: "
    "the bench works in a scratch database of its own there, dropped at the end; "
    "default: a temporary SQLite file"
)
