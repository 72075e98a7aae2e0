"""The import file read a piece at a time (ditbot/cli/jsonstream.py, issue 13): the same values
as `json.loads`, the same line and column on a syntax error, whatever the read size."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from ditbot.cli import jsonstream
from ditbot.cli.import_file import import_file
from ditbot.domain import reference
from ditbot.domain.errors import ValidationFailed
from ditbot.domain.records import DitRecord
from ditbot.domain.reference import DIT_ROWS, plain_dit, read_dit_rows
from storage import spill
from storage.models import Dit
from tests.factories import REFERENCE
from tests.foundation.helpers import row_counts
from tests.foundation.test_import import cli_env, run_import, updated_ats, write

__all__ = ["cli_env"]  # the fixture, shared with test_import.py

DOCUMENTS = [
    {"collaborators": [{"code": "JDU", "n": 1.5e3, "ok": True, "x": None}], "dits": []},
    {"dits": [{"number": f"D{i}", "t": "é" * (i % 7), "n": i} for i in range(23)], "z": [1, 2]},
    {"clients": [], "dits": [12345678901234567890, -0.5, 'a"b', [], {}], "tail": {"k": [1]}},
    {},
    [1, 2, 3],
    "just a string",
]


def read(text: str, read_size: int, chunk: int = 4) -> dict[str, Any]:
    """What `members` gives, put back together (chunks of "dits" joined)."""
    out: dict[str, Any] = {}
    for name, value in jsonstream.members(io.StringIO(text), "dits", chunk_size=chunk):
        if name == "dits":
            assert isinstance(value, list) and len(value) <= chunk
            out.setdefault("dits", []).extend(value)
        else:
            out[name] = value
    return out


@pytest.mark.parametrize("read_size", [1, 2, 3, 7, 64, 1 << 20])
@pytest.mark.parametrize("index", range(len(DOCUMENTS)))
def test_members_give_what_json_loads_gives(
    monkeypatch: pytest.MonkeyPatch, read_size: int, index: int
) -> None:
    monkeypatch.setattr(jsonstream, "READ_SIZE", read_size)
    document = DOCUMENTS[index]
    for text in (json.dumps(document), json.dumps(document, indent=2, ensure_ascii=False)):
        got = read(text, read_size)
        if isinstance(document, dict):
            assert got == document
        else:
            assert got == {"": document}


BROKEN = [
    '{"dits": [{"number": "A"}, {"number": "B",}]}',
    '{"dits": [1, 2\n, 3\n\n  x]}',
    '{"clients": [1, 2}',
    '{"a": 1} trailing',
    '{"a": 1\n\n,\n "b" 2}',
    '{\n  "dits": [\n    {"number": "A"},\n    {"number": "B"\n  ]\n}',
    '{"dits": [1, 2, 3',
]


@pytest.mark.parametrize("read_size", [1, 5, 1 << 20])
@pytest.mark.parametrize("text", BROKEN)
def test_a_syntax_error_is_placed_like_json_loads_places_it(
    monkeypatch: pytest.MonkeyPatch, read_size: int, text: str
) -> None:
    monkeypatch.setattr(jsonstream, "READ_SIZE", read_size)
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        read(text, read_size)
    assert (got.value.lineno, got.value.colno) == (expected.value.lineno, expected.value.colno)
    assert f"line {expected.value.lineno} column {expected.value.colno}" in str(got.value)


# -- `ditbot import` of a file read a piece at a time ------------------------------------------
def big_file(dits: int, *, dits_first: bool = False) -> dict[str, Any]:
    rows = [
        {"number": f"BIG-{n:05d}", "client": "ACME", "contact": "ACME-PM", "title": f"N° {n}"}
        for n in range(dits)
    ]
    head = {k: v for k, v in REFERENCE.items() if k != "dits"}
    return {"dits": rows, **head} if dits_first else {**head, "dits": rows}


@pytest.mark.parametrize("dits_first", [False, True])
def test_a_file_is_imported_whatever_the_order_of_its_members(
    cli_env: Any, db: Any, capsys: pytest.CaptureFixture[str], dits_first: bool
) -> None:
    path = write(cli_env, big_file(4500, dits_first=dits_first))  # three chunks of rows
    code, out, err = run_import(path, capsys)
    assert (code, err) == (0, "")
    assert "4500 DITs" in out and "2 clients" in out
    code, out, _err = run_import(path, capsys)
    assert out.strip() == "Imported data.json: created nothing; updated nothing."


def test_a_fault_in_a_late_chunk_writes_nothing_and_names_the_row(
    cli_env: Any, db: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    data = big_file(4500)
    data["dits"][4321]["state"] = "fini"
    code, _out, err = run_import(write(cli_env, data), capsys)
    assert code == 1 and "dits[4321].state" in err and "nothing was written" in err
    broken = json.dumps(big_file(4500))
    broken = broken[:-2] + ",]}"  # a trailing comma after the last DIT
    before = row_counts(db)
    code, _out, err = run_import(write(cli_env, broken), capsys)
    assert code == 1 and "is not valid JSON (line 1, column" in err
    assert row_counts(db) == before


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder of temporary files (TMPDIR) for this test: empty, and watched."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_a_number_repeated_chunks_later_is_refused_naming_both_rows_and_leaves_no_file(
    cli_env: Any, db: Any, capsys: pytest.CaptureFixture[str], scratch: Path
) -> None:
    """What the check found waits in a temporary file (storage/spill.py), the file's numbers
    with it: a repeat is still found across chunks, and the file is gone afterwards."""
    data = big_file(4500)
    data["dits"][4400]["number"] = "big-00012"  # DIT numbers are one whatever their case
    before = row_counts(db)
    code, _out, err = run_import(write(cli_env, data), capsys)
    assert code == 1 and "nothing was written" in err
    assert "dits[4400].number: big-00012 appears twice in the file (first at row 12)." in err
    assert row_counts(db) == before
    assert list(scratch.iterdir()) == []
    code, _out, err = run_import(write(cli_env, big_file(4500)), capsys)
    assert (code, err) == (0, "")
    assert list(scratch.iterdir()) == []


def test_no_room_for_the_temporary_file_is_said_as_such_and_nothing_is_written(
    cli_env: Any,
    db: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    scratch: Path,
) -> None:
    """The import's temporary file (storage/spill.py) is not the import file: a TMPDIR that
    does not exist, or a disk that fills while the rows are checked, is said as that."""
    path = write(cli_env, big_file(4500))
    before = row_counts(db)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))
    code, _out, err = run_import(path, capsys)
    assert code == 1
    assert f"could not keep its temporary file in {tmp_path / 'gone'}" in err
    assert "set TMPDIR" in err and "does not exist" not in err
    assert row_counts(db) == before

    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    keep = spill.Spill.keep
    calls: list[int] = []

    def full(self: spill.Spill, piece: Any) -> None:
        calls.append(1)
        if len(calls) == 2:  # the disk fills with the second chunk
            self._db.execute("PRAGMA max_page_count = 1")
        keep(self, piece)

    monkeypatch.setattr(spill.Spill, "keep", full)
    code, _out, err = run_import(path, capsys)
    assert code == 1 and "could not keep its temporary file" in err and "full" in err
    assert row_counts(db) == before
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_and_are_placed_in_the_file(
    cli_env: Any, db: Any, capsys: pytest.CaptureFixture[str], token: str
) -> None:
    """Python's json reads NaN and Infinity; JSON (RFC 8259) has neither."""
    data = big_file(10)
    data["dits"][7]["title"] = f"{token} in a title is text"  # a string is skipped
    text = json.dumps(data, indent=1)
    text = text.replace('"title": "N\\u00b0 8"', f'"title": "N° 8", "n": {token}')
    before = row_counts(db)
    code, _out, err = run_import(write(cli_env, text), capsys)
    line, column = next(
        (n, row.index(f": {token}") + 3)
        for n, row in enumerate(text.splitlines(), 1)
        if row.endswith(f": {token}")
    )
    assert code == 1 and f"is not valid JSON (line {line}, column {column})" in err
    assert row_counts(db) == before


@pytest.mark.parametrize(
    ("row", "named"),
    [
        ({"title": "N\u00b0 4321 \x00"}, "dits[4321].title"),
        ({"technician": "T\ud800"}, "dits[4321].technician"),
        ({"title": ["deep", {"er": "\x00"}]}, "dits[4321].title[1].er"),
    ],
)
def test_text_that_cannot_be_stored_in_a_late_row_is_named_and_nothing_written(
    cli_env: Any, db: Any, capsys: pytest.CaptureFixture[str], row: dict[str, Any], named: str
) -> None:
    data = big_file(4500)
    data["dits"][4321].update(row)
    before = row_counts(db)
    code, _out, err = run_import(write(cli_env, data), capsys)
    assert code == 1 and "nothing was written" in err
    assert f"{named}: " in err
    assert row_counts(db) == before


def test_a_reimport_with_one_row_changed_writes_exactly_that_row(
    cli_env: Any, db: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    data = big_file(4500)
    assert run_import(write(cli_env, data), capsys)[0] == 0
    stamps = updated_ats(db)
    data["dits"][3999]["title"] = "Copieur remplacé"
    code, out, _err = run_import(write(cli_env, data), capsys)
    assert code == 0 and "updated 1 DIT" in out
    changed = {key for key, stamp in updated_ats(db).items() if stamps[key] != stamp}
    assert changed == {"dits:BIG-03999"}
    with db.session() as session:
        assert session.scalar(select(Dit.title).where(Dit.number == "BIG-03999")) == (
            "Copieur remplacé"
        )


def test_on_sqlite_a_failure_between_write_transactions_leaves_whole_chunks_and_a_rerun_ends_it(
    cli_env: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite writes the DITs in transactions of WRITE_CHUNK rows (the rest of ditbot waits for
    one, not for the import); PostgreSQL in one. A database failure in the second: SQLite keeps
    the first whole, PostgreSQL nothing; the same file imported again ends it either way."""
    monkeypatch.setattr(reference, "WRITE_CHUNK", 2000)
    path = write(cli_env, big_file(4500))
    inserts = reference.repo.insert_rows
    calls: list[Any] = []

    def failing(session: Any, model: Any, rows: Any) -> None:
        if model is Dit:
            calls.append(len(rows))
            if len(calls) == 2:
                raise OperationalError("INSERT", {}, Exception("disk I/O error"))
        inserts(session, model, rows)

    monkeypatch.setattr(reference.repo, "insert_rows", failing)
    with pytest.raises(OperationalError):
        import_file(db, path)
    monkeypatch.setattr(reference.repo, "insert_rows", inserts)
    with db.session() as session:
        numbers = session.scalars(select(Dit.number).where(Dit.number.like("BIG-%"))).all()
    assert sorted(numbers) == ([] if db.is_postgres else [f"BIG-{n:05d}" for n in range(2000)])
    summary = import_file(db, path)
    assert summary.created["dits"] == (4500 if db.is_postgres else 2500)
    with db.session() as session:
        assert session.scalar(select(func.count()).where(Dit.number.like("BIG-%"))) == 4500


# Rows the import reads without pydantic (`plain_dit`) and rows it leaves to pydantic: both
# must come out as the file's user would have them from DitRecord, refusals included.
PLAIN_ROWS = [
    {"number": "DIT-1", "client": "CL1", "title": "Copieur en panne"},
    {"number": "D 2", "client": "c.l_1-x", "contact": None, "technician": None, "title": "é à"},
    {"number": "D3", "client": "CL1", "title": "t", "state": "cloturee"},
    {"number": "D4", "client": "CL1", "title": "t", "created_at": "2026-01-01T08:00:00Z"},
    {"number": "D5", "client": "CL1", "title": "t", "created_at": "2026-01-01T08:00:00.5+02:00"},
    {"number": "D6", "client": "CL1", "title": "t", "created_at": "2026-01-01T08:00:00"},
    {"number": "D6b", "client": "CL1", "title": "t", "created_at": None},
]
OTHER_ROWS = [
    {"number": " D7 ", "client": " CL1 ", "title": " t "},  # trimmed by pydantic's rules
    {"number": "D8", "client": "CL1", "title": "t", "created_at": "2026-01-01"},
    {"number": "D9", "client": "CL1", "title": "t", "created_at": 1767225600},
    {"number": "D10", "client": "CL1", "title": "t\u200b"},
    {"number": "D11", "client": "CL1", "title": "a\nb"},
    {"number": "D12", "client": "CL1", "title": "t", "state": "nope"},
    {"number": "D13", "client": "CL1", "title": "t", "state": None},
    {"number": "D14", "client": "CL1", "title": "t", "created_at": "1969-12-31T23:00:00Z"},
    {"number": "D15", "client": "CL1", "title": "t", "extra": 1},
    {"number": "D16", "client": "", "title": "t"},
    {"number": "x" * 41, "client": "CL1", "title": "t"},
    {"number": "D17", "client": "CL1", "title": "t" * 301},
    {"number": "D18", "client": "C" * 41, "title": "t"},
    {"number": "D19", "client": "CL1"},
    {"number": "D20", "client": "CL1", "title": "t", "created_at": "2026-13-01T00:00:00Z"},
    {"number": "D21", "client": "CL1", "title": "t\x00"},
    ["not", "an", "object"],
]


@pytest.mark.parametrize("row", PLAIN_ROWS + OTHER_ROWS)
def test_a_row_read_without_pydantic_is_what_pydantic_reads(row: Any) -> None:
    assert (plain_dit(row) is not None) == (row in PLAIN_ROWS)
    try:
        expected: Any = DIT_ROWS.validate_python([row])[0]
    except Exception:
        expected = None
    rows = [PLAIN_ROWS[0], row]  # a sound row before it: the fault is named at its own index
    try:
        got = read_dit_rows(rows, 40)[1]
    except ValidationFailed as refusal:
        assert expected is None
        assert all(where.startswith("dits[41]") for where in refusal.errors)
        return
    assert expected is not None
    assert tuple(getattr(got, name) for name in DitRecord.model_fields) == tuple(
        getattr(expected, name) for name in DitRecord.model_fields
    )
