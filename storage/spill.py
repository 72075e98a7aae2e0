"""What a big import has checked, kept on disk until it is written, so memory stays flat.

An import checks every row before it writes any (all or nothing, and no write lock while a big
file is read). What it found must wait somewhere between the two: in memory that is about half
a kilobyte per DIT (250 MB for 200,000). `Spill` keeps it in a temporary SQLite file of its own
(not the application's database: it takes no lock there), deleted when closed:

- the keys seen so far with the row where each was first seen (`first_rows`, `remember`): an
  index finds a repeat, however many rows came before;
- the checked pieces, in order (`keep`, `kept`): each piece pickled whole, read back one at a
  time. The file is private to this process (created by `tempfile`, mode 0600) and read only
  by the process that wrote it.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

# Keys per `first_rows` query: well under SQLite's limit of bound parameters.
_KEYS_PER_QUERY = 500


class SpillFailed(Exception):
    """The temporary file could not be made, written or read (no room, no such folder)."""

    def __init__(self, folder: str, reason: str) -> None:
        super().__init__(f"{folder}: {reason}")
        self.folder = folder
        self.reason = reason


@contextmanager
def _as_spill_failure(folder: str) -> Iterator[None]:
    try:
        yield
    except (OSError, sqlite3.Error) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise SpillFailed(folder, reason) from error


class Spill:
    """A temporary store for one import (a context manager: the file goes on exit). Every
    failure of its file is SpillFailed, naming the folder (`TMPDIR`)."""

    def __init__(self, folder: str | None = None) -> None:
        self.folder = folder or tempfile.gettempdir()
        self.path = ""
        try:
            with _as_spill_failure(self.folder):
                handle, self.path = tempfile.mkstemp(
                    prefix="ditbot-import-", suffix=".db", dir=folder
                )
                os.close(handle)
                self._db = sqlite3.connect(self.path)
                # Scratch data for one process: no journal, no fsync; a crash loses nothing.
                self._db.execute("PRAGMA journal_mode = OFF")
                self._db.execute("PRAGMA synchronous = OFF")
                self._db.execute(
                    "CREATE TABLE seen (key TEXT PRIMARY KEY, row INTEGER) WITHOUT ROWID"
                )
                self._db.execute("CREATE TABLE kept (seq INTEGER PRIMARY KEY, piece BLOB)")
        except SpillFailed:
            if hasattr(self, "_db"):
                self._db.close()
            if self.path:
                with suppress(OSError):
                    os.unlink(self.path)
            raise

    def first_rows(self, keys: Sequence[str]) -> dict[str, int]:
        """Of `keys`, those already remembered, with the row each was first seen at."""
        found: dict[str, int] = {}
        with _as_spill_failure(self.folder):
            self._find(keys, found)
        return found

    def _find(self, keys: Sequence[str], found: dict[str, int]) -> None:
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            part = keys[start : start + _KEYS_PER_QUERY]
            marks = ",".join("?" * len(part))
            query = f"SELECT key, row FROM seen WHERE key IN ({marks})"  # noqa: S608 - marks only
            found.update(self._db.execute(query, part))

    def remember(self, pairs: Iterable[tuple[str, int]]) -> None:
        """Remember keys (not seen before) with their first row."""
        with _as_spill_failure(self.folder), self._db:  # one transaction, not one per row
            self._db.executemany("INSERT INTO seen (key, row) VALUES (?, ?)", pairs)

    def keep(self, piece: Any) -> None:
        """Keep one checked piece (anything pickle writes), after those kept before."""
        blob = pickle.dumps(piece, protocol=pickle.HIGHEST_PROTOCOL)
        with _as_spill_failure(self.folder), self._db:
            self._db.execute("INSERT INTO kept (piece) VALUES (?)", (blob,))

    def kept(self) -> Iterator[Any]:
        """The kept pieces in the order they were kept, one in memory at a time."""
        with _as_spill_failure(self.folder):
            for (blob,) in self._db.execute("SELECT piece FROM kept ORDER BY seq"):
                yield pickle.loads(blob)  # noqa: S301 - this process's own file, mode 0600

    def close(self) -> None:
        self._db.close()
        with suppress(OSError):  # gone already, or its folder went: nothing more to clear
            os.unlink(self.path)

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
