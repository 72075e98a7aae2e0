"""The import file read a piece at a time (ditbot/cli/jsonstream.py, issue 13): the same values
as `json.loads`, the same line and column on a syntax error, whatever the read size."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from ditbot.cli import jsonstream

DOCUMENTS = [
    {"collaborators": [{"code": "JDU", "n": 1.5e3, "ok": True, "x": None}], "dits": []},
    {"dits": [{"number": f"D{i}", "t": "é" * (i % 7), "n": i} for i in range(23)], "z": [1, 2]},
    {"clients": [], "dits": [12345678901234567890, -0.5, "a\"b", [], {}], "tail": {"k": [1]}},
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
