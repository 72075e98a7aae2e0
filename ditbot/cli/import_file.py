"""`ditbot import FILE.json`, read a piece at a time (ditbot/cli/jsonstream.py).

The DITs name clients, contacts and collaborators, so the rest of the file is read first. In a
file laid out like CONTRACT.md section 5 (the DITs last) that is one pass: the members before
"dits", then the DITs in chunks, each chunk checked as it comes. When a member comes after the
DITs (or one of HEAD is missing before them), the file is read twice: everything but the DITs,
then the DITs. Either way nothing is
written before every row is checked (ditbot/domain/reference.py `import_stream`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ditbot.cli.jsonstream import members
from ditbot.domain.records import ImportFile
from ditbot.domain.reference import Summary, import_stream, parse_records
from storage.db import Database

DITS = "dits"
HEAD = {"collaborators", "clients"}  # what DITs name: read before them


class _AfterTheDits(Exception):
    """A member comes after the DITs: read the file again, the other way."""


def _chunk(value: Any) -> list[Any]:
    if not isinstance(value, list):
        parse_records(ImportFile, {DITS: value})  # refused, naming the member
    return list(value)


def _head(head: dict[str, Any]) -> Any:
    return head[""] if "" in head else head  # not an object: the import says what it should be


def _commit(db: Database, session: Session) -> Callable[[], None] | None:
    """On SQLite, the DITs are written in several transactions, so that the rest of ditbot
    (a webhook, a Slack form) waits for one of them, not the whole import: see import_stream.
    PostgreSQL locks rows, not the database: one transaction."""
    return None if db.is_postgres else session.commit


def import_file(db: Database, path: Path) -> Summary:
    """Import `path`, checked whole before anything is written (on SQLite the DITs are then
    written in several transactions: `_commit`). Raises OSError, UnicodeDecodeError and
    json.JSONDecodeError (the file), ValidationFailed (a row or field at fault)."""
    try:
        return _one_pass(db, path)
    except _AfterTheDits:
        return _two_passes(db, path)


def _one_pass(db: Database, path: Path) -> Summary:
    with path.open(encoding="utf-8-sig") as stream:
        pieces = members(stream, DITS)
        head: dict[str, Any] = {}
        first: Any = None
        for name, value in pieces:
            if name == DITS:
                first = value
                break
            head[name] = value
        if first is not None and not HEAD <= head.keys():
            raise _AfterTheDits()  # what the DITs name may come after them

        def dits() -> Iterator[list[Any]]:
            if first is None:
                return
            yield _chunk(first)
            for name, value in pieces:
                if name != DITS:
                    raise _AfterTheDits(name)
                yield _chunk(value)

        with db.session() as session:
            return import_stream(session, _head(head), dits(), _commit(db, session))


def _two_passes(db: Database, path: Path) -> Summary:
    with path.open(encoding="utf-8-sig") as stream:
        head = {name: value for name, value in members(stream, DITS) if name != DITS}

    def dits() -> Iterator[list[Any]]:
        with path.open(encoding="utf-8-sig") as again:
            for name, value in members(again, DITS):
                if name == DITS:
                    yield _chunk(value)

    with db.session() as session:
        return import_stream(session, _head(head), dits(), _commit(db, session))
