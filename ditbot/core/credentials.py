"""Secrets and tokens: how they are compared, how logs name them, which values are published.

- `same(given, expected)`: constant-time equality of two secrets, tokens or signatures.
- `fingerprint(secret)`: what a log line shows instead of a token (a short hash).
- `published(value)`: where ditbot publishes `value` as an example (`.env.example`, README...),
  or None. Settings refuse such a value for any secret (ditbot/core/settings.py).

The published values are *derived* from the files, never listed by hand: `published_in(root)`
reads `.env.example`, `README.md` and the documents of the packages and collects every value
given to a secret variable (`NAME=value`). An installed wheel has neither `.env.example` nor the
README as a file, so `python -m ditbot.core.credentials` writes what it found to
`ditbot/core/published.py`, a module the package carries; tests/foundation/test_settings.py
derives the list again from the files and fails when that module is stale.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sys
from pathlib import Path

MIN_SECRET_LENGTH = 32
GENERATE = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'

# Every setting that holds a secret (CONTRACT.md section 2).
SECRET_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "DITBOT_API_TOKEN",
    "DITBOT_PORTAL_SECRET",
    "SMTP_PASSWORD",
)
# The files that publish examples: beside the packages, and the documents inside them.
PUBLISHING_FILES = (".env.example", "README.md")
PACKAGES = ("ditbot", "bot", "storage")
DOCUMENT_SUFFIXES = (".md", ".rst", ".txt", ".html", ".py", ".yml", ".yaml", ".toml", ".example")
GENERATED = Path(__file__).with_name("published.py")

# `NAME=value` as a shell, a `.env` file or a docker-compose list writes it; the value may be
# quoted. `$NAME`, `<...>` and `{...}` are references or placeholders that nobody can set as is.
_ASSIGNMENT = re.compile(
    r"\b(?P<name>" + "|".join(SECRET_VARIABLES) + r")=(?P<quote>[\"']?)(?P<value>[^\s\"'`#]+)"
)
_NOT_A_VALUE = re.compile(r"^[$<{]|^\.+$")


def same(given: str | bytes | None, expected: str | bytes) -> bool:
    """True when `given` equals `expected`, in a time that does not depend on where they differ.

    Both are compared as UTF-8 bytes, so any text (a header holding a non-ASCII byte) is just a
    mismatch; `hmac.compare_digest` refuses non-ASCII `str`.
    """
    if given is None:
        return False
    left = given.encode("utf-8", "surrogateescape") if isinstance(given, str) else given
    right = expected.encode("utf-8", "surrogateescape") if isinstance(expected, str) else expected
    return hmac.compare_digest(left, right)


def fingerprint(secret: str | bytes) -> str:
    """12 hex characters of SHA-256: tells two tokens apart in a log, and cannot be used."""
    data = secret.encode("utf-8", "surrogateescape") if isinstance(secret, str) else secret
    return hashlib.sha256(data).hexdigest()[:12]


def _normalized(value: str) -> str:
    return value.strip().casefold()


def published(value: str) -> str | None:
    """The file that publishes `value` as an example of a secret (any case), else None."""
    from ditbot.core.published import PUBLISHED

    return PUBLISHED.get(_normalized(value))


def examples_in(text: str) -> list[str]:
    """The values that `text` gives to a secret variable (`NAME=value`), in order."""
    found = []
    for match in _ASSIGNMENT.finditer(text):
        value = match["value"]
        if not _NOT_A_VALUE.search(value):
            found.append(value)
    return found


def _documents(root: Path) -> list[Path]:
    files = [root / name for name in PUBLISHING_FILES if (root / name).is_file()]
    for package in PACKAGES:
        files += sorted(
            path
            for path in (root / package).rglob("*")
            if path.suffix in DOCUMENT_SUFFIXES
            and path.is_file()
            and "__pycache__" not in path.parts
            and path != root / "ditbot" / "core" / "published.py"
        )
    return files


def published_in(root: Path) -> dict[str, str]:
    """Every example value of a secret found in the files under `root`: value -> file."""
    found: dict[str, str] = {}
    for path in _documents(root):
        for value in examples_in(path.read_text(encoding="utf-8", errors="replace")):
            found.setdefault(_normalized(value), path.relative_to(root).as_posix())
    return dict(sorted(found.items()))


def module_text(values: dict[str, str]) -> str:
    """The source of ditbot/core/published.py for `values`."""
    lines = [
        '"""Example values of secrets that ditbot publishes: settings refuse them.',
        "",
        "Generated from .env.example, README.md and the packages' documents by",
        "`python -m ditbot.core.credentials` (see ditbot/core/credentials.py); do not edit.",
        '"""',
        "",
        "PUBLISHED: dict[str, str] = {",
        *(f"    {json.dumps(value)}: {json.dumps(where)}," for value, where in values.items()),
        "}",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    """Write ditbot/core/published.py from the files of the checkout it belongs to."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".env.example").is_file():
        print(f"error: {root} is not a ditbot checkout (no .env.example).", file=sys.stderr)
        return 1
    GENERATED.write_text(module_text(published_in(root)), encoding="utf-8")
    print(f"Wrote {GENERATED.relative_to(root)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
