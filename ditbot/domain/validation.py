"""Field rules shared by every way data comes in (Slack forms, REST, import, portal, search).

One layer, so that every entry point refuses the same things with the same words: text that
PostgreSQL cannot store (NUL, unpaired surrogates), invisible or control characters in names and
identifiers (zero-width spaces, bidi controls: Unicode categories Cc and Cf), line breaks in
anything that ends up on one line (a mail header, a Slack title), moments out of range, and JSON
nested deeper than any real document is.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from ditbot.core.i18n import _
from ditbot.domain.errors import DomainError, ValidationFailed

DETAIL_MAX = 3000
SUBJECT_MAX = 300
# Moments a DIT or an exchange may carry: a typo such as the year 1 or 9999 is refused rather
# than stored (it would sort every list wrongly and overflow time zone arithmetic).
MOMENT_MIN = datetime(1970, 1, 1, tzinfo=UTC)
MOMENT_MAX = datetime(2100, 1, 1, tzinfo=UTC)
JSON_DEPTH_MAX = 32  # levels of objects and lists in a body or an import file
EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
MULTILINE_CONTROLS = frozenset("\t\n\r")  # what free text (a detail) may hold of Cc


def _class_of(excluded: frozenset[str], predicate: Any) -> str:
    """The characters `predicate` holds, as the body of a regex character class."""
    ranges: list[tuple[int, int]] = []
    # Every Cc, Cf and Cs character lies in these planes (the others are unassigned or
    # private use): scanning them keeps the import fast.
    for point in (*range(0x30000), *range(0xE0000, 0xE1000)):
        char = chr(point)
        if char not in excluded and predicate(char):
            if ranges and ranges[-1][1] == point - 1:
                ranges[-1] = (ranges[-1][0], point)
            else:
                ranges.append((point, point))

    def one(point: int) -> str:  # \uXXXX where JSON Schema's regex has it, else the character
        return f"\\u{point:04x}" if point <= 0xFFFF else chr(point)

    return "".join(one(a) if a == b else f"{one(a)}-{one(b)}" for a, b in ranges)


# Surrogates (Cs) are left out of the document's patterns: no JSON text a client encodes can
# hold a lone one, and schemathesis cannot read a pattern that names them (it drops it).
def _refused_in_a_line(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf") or char in "\u2028\u2029"


def _refused_in_free_text(char: str) -> bool:
    return unicodedata.category(char) == "Cc"


_LINE_BAD = _class_of(frozenset(), _refused_in_a_line)
_TEXT_BAD = _class_of(MULTILINE_CONTROLS, _refused_in_free_text)
# What the OpenAPI document says of these texts (`pattern`), so that a generated request the
# document allows is one ditbot accepts: blanks around are trimmed, what is left holds none
# of the refused characters; `REQUIRED_*` also needs something that is not a blank.
LINE_PATTERN = rf"^\s*(?:[^\s{_LINE_BAD}](?:[^{_LINE_BAD}]*[^\s{_LINE_BAD}])?)?\s*$"
REQUIRED_LINE_PATTERN = rf"^\s*[^\s{_LINE_BAD}](?:[^{_LINE_BAD}]*[^\s{_LINE_BAD}])?\s*$"
REQUIRED_TEXT_PATTERN = rf"^\s*[^\s{_TEXT_BAD}](?:[^{_TEXT_BAD}]*[^\s{_TEXT_BAD}])?\s*$"
EMAIL_PATTERN = (
    r"^\s*(?:(?!.*\.\.)[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)?\s*$"
)


# One regex pass finds whether a text holds anything refused (C speed: an import checks millions
# of texts); the character loop below runs only then, to say which character and why.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_LINE_FAULT = re.compile(f"[\x00\ud800-\udfff\x85{_LINE_BAD}]")
_TEXT_FAULT = re.compile(f"[\x00\ud800-\udfff{_TEXT_BAD}]")
# A text `clean_line` keeps as it is: nothing to trim, nothing refused, not empty.
_CLEAN_LINE = re.compile(
    f"[^\\s\x00\ud800-\udfff\x85{_LINE_BAD}]"
    f"(?:[^\x00\ud800-\udfff\x85{_LINE_BAD}]*[^\\s\x00\ud800-\udfff\x85{_LINE_BAD}])?"
)


def _unstorable(char: str) -> bool:
    """NUL (PostgreSQL refuses it) or half of a surrogate pair (no encoding can write it)."""
    return char == "\x00" or 0xD800 <= ord(char) <= 0xDFFF


def text_fault(value: str, *, single_line: bool) -> DomainError | None:
    """Why `value` may not be stored as it is, or None.

    Free text refuses only what cannot be stored and control characters other than tab and
    line breaks; a single line (a name, a code, a number, a title) refuses any control or
    format character, line breaks included.
    """
    if (_LINE_FAULT if single_line else _TEXT_FAULT).search(value) is None:
        return None
    for char in value:
        if _unstorable(char):
            return DomainError(
                _("this text holds a character that cannot be stored (U+{code}): remove it"),
                code=f"{ord(char):04X}",
            )
        if single_line and char in "\r\n\u2028\u2029\x85":
            return DomainError(_("a line break is not allowed here: write it on one line"))
        category = unicodedata.category(char)
        if (category == "Cc" and (single_line or char not in MULTILINE_CONTROLS)) or (
            single_line and category == "Cf"
        ):
            return DomainError(
                _("this text holds an invisible character (U+{code}): remove it"),
                code=f"{ord(char):04X}",
            )
    return None


def is_clean_line(value: str) -> bool:
    """True when `clean_line(value)` is `value` itself and not empty (one regex pass: the
    import's quick path for rows that need no correction and no refusal)."""
    return _CLEAN_LINE.fullmatch(value) is not None


def _refuse_text(value: str, field: str | None, *, single_line: bool) -> None:
    fault = text_fault(value, single_line=single_line)
    if fault is not None:
        raise DomainError(fault.message_id, field, **fault.params)


def clean_line(value: str, field: str | None = None) -> str:
    """A name, code or number: trimmed, on one line, with no invisible character."""
    text = value.strip()
    _refuse_text(text, field, single_line=True)
    return text


def clean_free_text(value: str, field: str | None = None) -> str:
    """Free text (a detail, a search): trimmed, and only characters that can be stored."""
    text = value.strip()
    _refuse_text(text, field, single_line=False)
    return text


def clean_storable(value: str, field: str | None = None) -> str:
    """`value` trimmed, refused only when no database can store or compare it (a lookup key:
    what it does not find is a NotFound, not a refusal)."""
    if _has_unstorable(value):
        fault = text_fault(value, single_line=False)
        assert fault is not None
        raise DomainError(fault.message_id, field, **fault.params)
    return value.strip()


def clean_moment(value: datetime, field: str | None = None, *, zone: bool = False) -> datetime:
    """A moment between 1970 and 2099 (UTC); `zone`: one without a time zone is refused,
    otherwise it is taken as UTC."""
    if value.tzinfo is None:
        if zone:
            raise DomainError(
                _("a time zone is required, e.g. 2026-11-20T08:00:00Z or +01:00"), field
            )
        value = value.replace(tzinfo=UTC)
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:  # the year 1 or 9999 with an offset: UTC cannot write it
        in_utc = None
    if in_utc is None or not MOMENT_MIN <= in_utc < MOMENT_MAX:
        raise DomainError(
            _("a date between {first} and {last} is expected here"),
            field,
            first=MOMENT_MIN.year,
            last=MOMENT_MAX.year - 1,
        )
    return value


def check_document(data: Any, root: str = "body", *, prefix: str = "", depth: int = 0) -> None:
    """Refuse a JSON document nested too deeply, or with text that cannot be stored (NUL,
    unpaired surrogates) in any key or value. The field is named by its path, as the import
    and the API name the others: `contacts[0].name`.

    Iterative: a document nested as deep as Python's recursion limit is refused, not a crash.
    """
    # `prefix` and `depth`: where `data` sits in a bigger document (an import file's DIT row)
    stack: list[tuple[Any, str, int]] = [(data, prefix, depth)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, str):
            if _has_unstorable(value):
                fault = text_fault(value, single_line=False)
                raise _refusal(where or root, fault)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= JSON_DEPTH_MAX:
            raise _refusal(where or root, _too_deep())
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, int):
                name = f"{where}[{key}]"
            else:
                name = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and _has_unstorable(key):
                fault = DomainError(
                    _("this name holds a character that cannot be stored: remove it")
                )
                raise _refusal(name, fault)
            stack.append((item, name, depth + 1))


_SCALARS = (str, int, float, bool, type(None))


def check_rows(rows: list[Any], root: str, kind: str, offset: int, depth: int) -> None:
    """`check_document` of each of `rows`, named `kind[offset + i]`; a flat object (an import
    file's DIT: texts and numbers) costs one regex pass over its keys and texts."""
    for index, row in enumerate(rows, offset):
        if type(row) is dict and all(type(value) in _SCALARS for value in row.values()):
            texts = "".join((*row, *(value for value in row.values() if type(value) is str)))
            if not _has_unstorable(texts):
                continue
        check_document(row, root, prefix=f"{kind}[{index}]", depth=depth)


def _has_unstorable(value: str) -> bool:
    return _UNSTORABLE.search(value) is not None


def _too_deep() -> DomainError:
    return DomainError(
        _("the document is nested more than {limit} levels deep"), limit=JSON_DEPTH_MAX
    )


def _refusal(where: str, fault: DomainError | None) -> ValidationFailed:
    """`where: what is wrong`, as the other refusals of a document read."""
    problem = fault or DomainError(_("a text is expected here"))
    return ValidationFailed(
        {where: DomainError(_("{where}: {problem}"), where, where=where, problem=problem)}
    )


def not_json(token: str) -> Any:
    """For json's `parse_constant`: NaN, Infinity and -Infinity are not JSON (RFC 8259),
    though Python's json reads them; a number of hours that is NaN is no number."""
    raise ValueError(f"{token} is not JSON")


def load_json(raw: bytes | str, root: str = "body", *, check: bool = True) -> Any:
    """Parse a JSON document (UTF-8) and `check_document` it (unless `check` is False: the
    caller checks the part it reads); DomainError when it is not one."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        data = json.loads(text, parse_constant=not_json)
    except RecursionError:
        raise _refusal(root, _too_deep()) from None
    except (UnicodeDecodeError, ValueError):
        raise DomainError(_("The body is not valid JSON (UTF-8).")) from None
    if check:
        check_document(data, root)
    return data


def clean_email(value: str | None, field: str) -> str | None:
    """A stripped e-mail address, None when empty; refuses anything that is not one."""
    if value is None or not value.strip():
        return None
    address = clean_line(value, field)
    if len(address) > 254 or not EMAIL.match(address) or ".." in address:
        raise DomainError(
            _("'{value}' is not a valid e-mail address (expected name@domain.tld)."),
            field,
            value=address[:80],
        )
    return address


def clean_detail(value: str | None, field: str = "detail") -> str:
    """The required Détail: not blank, at most 3000 characters."""
    text = clean_free_text(value or "", field)
    if not text:
        raise DomainError(_("The detail is required: write what was said."), field)
    if len(text) > DETAIL_MAX:
        raise DomainError(
            _("The detail is {length} characters long; the limit is {limit}. Shorten it."),
            field,
            length=len(text),
            limit=DETAIL_MAX,
        )
    return text


def clean_subject(value: str | None, field: str = "subject") -> str | None:
    """The optional Objet: one line (it becomes a mail's Subject header), at most 300."""
    text = clean_line(value or "", field)
    if len(text) > SUBJECT_MAX:
        raise DomainError(
            _("The subject is {length} characters long; the limit is {limit}."),
            field,
            length=len(text),
            limit=SUBJECT_MAX,
        )
    return text or None
