"""Read a big JSON import file a piece at a time: the top-level object's members, and the
elements of one array member in chunks, without holding the whole document in memory.

`json.JSONDecoder.raw_decode` decodes one value at a time from a buffer that is refilled from
the file, so memory holds one chunk of rows, whatever the file's size. A syntax error is raised
as `json.JSONDecodeError` with the line and column in the whole file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import IO, Any

from ditbot.domain.validation import not_json

READ_SIZE = 1 << 20  # characters read from the file at a time
WHITESPACE = " \t\n\r"
NUMBER_START = "-0123456789"
NUMBER_PART = "0123456789.eE+-"
# What Python's json reads and JSON has not, skipping strings (one may hold the word NaN).
CONSTANT_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')


class _Reader:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.buffer = ""
        self.pos = 0
        self.consumed = 0  # characters dropped before `buffer`
        self.lines = 0  # newlines in them
        self.last_newline = -1  # offset in the file of the last dropped newline
        self.eof = False
        self.decoder = json.JSONDecoder(parse_constant=not_json)

    def _more(self) -> bool:
        if self.eof:
            return False
        data = self.stream.read(READ_SIZE)
        if not data:
            self.eof = True
            return False
        dropped = self.buffer[: self.pos]
        count = dropped.count("\n")
        if count:
            self.lines += count
            self.last_newline = self.consumed + dropped.rindex("\n")
        self.consumed += self.pos
        self.buffer = self.buffer[self.pos :] + data
        self.pos = 0
        return True

    def error(self, message: str, pos: int | None = None) -> json.JSONDecodeError:
        """A JSONDecodeError at `pos` in the buffer, with the file's line and column."""
        at = self.pos if pos is None else pos
        before = self.buffer[:at]
        newlines = before.count("\n")
        line = self.lines + newlines + 1
        if newlines:
            column = at - before.rindex("\n")
        else:
            column = self.consumed + at - self.last_newline
        error = json.JSONDecodeError(message, "", 0)
        error.lineno, error.colno, error.pos = line, column, self.consumed + at
        error.args = (f"{message}: line {line} column {column} (char {self.consumed + at})",)
        return error

    def peek(self) -> str:
        """The next non-blank character ('' at the end of the file), not consumed."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._more():
                return ""

    def expect(self, char: str, what: str) -> None:
        if self.peek() != char:
            raise self.error(f"Expecting {what}")
        self.pos += 1

    def _constant_at(self, start: int) -> int:
        """Where the first NaN or Infinity outside a string is, from `start` (where the value
        that holds it begins, if the scan finds none)."""
        for found in CONSTANT_OR_STRING.finditer(self.buffer, start):
            if found.group(1):
                return found.start(1)
        return start

    def value(self) -> Any:
        """The next JSON value, decoded whole."""
        self.peek()
        while True:
            try:
                found, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as error:
                # Cut by the end of the buffer: read more and try again.
                if not self.eof and self._more():
                    continue
                raise self.error(error.msg, error.pos) from None
            except ValueError as error:  # NaN or Infinity (`not_json`)
                raise self.error(str(error), self._constant_at(self.pos)) from None
            # A number or literal that reaches the end of the buffer, or that the buffer cuts
            # before its fraction or exponent ("-0" of "-0.5"), may go on in the next read.
            cut = end == len(self.buffer) or (
                self.buffer[self.pos] in NUMBER_START and self.buffer[end] in NUMBER_PART
            )
            if cut and not self.eof and self._more():
                continue
            self.pos = end
            return found


def members(stream: IO[str], chunked: str, chunk_size: int = 2000) -> Iterator[tuple[str, Any]]:
    """The members of the top-level object of `stream`, in file order, as (name, value); the
    member named `chunked`, when it is an array, comes as (name, [up to chunk_size elements])
    pairs, one per chunk (an empty array: one empty chunk). Anything else comes decoded whole.
    A top-level value that is not an object comes as one ("", value) pair.
    """
    reader = _Reader(stream)
    if reader.peek() != "{":
        yield "", reader.value()
        if reader.peek():
            raise reader.error("Extra data")
        return
    reader.pos += 1
    if reader.peek() == "}":
        reader.pos += 1
    else:
        while True:
            if reader.peek() != '"':
                raise reader.error("Expecting property name enclosed in double quotes")
            name = reader.value()
            reader.expect(":", "':' delimiter")
            if name == chunked and reader.peek() == "[":
                yield from _chunks(reader, name, chunk_size)
            else:
                yield name, reader.value()
            if reader.peek() == ",":
                reader.pos += 1
                continue
            reader.expect("}", "',' delimiter")
            break
    if reader.peek():
        raise reader.error("Extra data")


def _chunks(reader: _Reader, name: str, size: int) -> Iterator[tuple[str, list[Any]]]:
    reader.pos += 1  # the "["
    chunk: list[Any] = []
    if reader.peek() == "]":
        reader.pos += 1
        yield name, chunk
        return
    while True:
        chunk.append(reader.value())
        if len(chunk) >= size:
            yield name, chunk
            chunk = []
        if reader.peek() == ",":
            reader.pos += 1
            continue
        reader.expect("]", "',' delimiter")
        break
    if chunk:
        yield name, chunk
