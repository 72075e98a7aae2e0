"""What the HTTP layer refuses before a route reads a body, and how a refused request is logged.

`Guard` is a WSGI middleware around the whole application (ditbot/web/app.py puts it there):

- each route has a body limit (`BODY_LIMITS`): a `Content-Length` over it is answered 413 at
  once, before anything reads the body; a body without one (chunked) is counted as it is read
  and refused past the limit. The HTTP server's own bound (ditbot/cli/http_server.py) is the
  largest of these limits, so nothing bigger is ever buffered;
- every refused request (an answer 4xx) is logged once, at INFO, on one bounded line: method,
  path, status, reason, length. Never its body, never a portal token (a fingerprint instead),
  and control characters escaped, so that a request cannot write lines of its own in the log.

A route says why it refused with `refusal("...")`; otherwise the line gives the HTTP reason.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from flask import request

from ditbot.core import credentials
from ditbot.core.i18n import _, gettext, normalize_locale
from ditbot.web.schemas import PORTAL_MAX_BODY

log = logging.getLogger(__name__)

# The REST API's limit (its OpenAPI document states it for each 413): a client with its
# contacts, a DIT, an exchange of 3000 characters fit with a wide margin.
API_MAX_BODY = 8 * 1024 * 1024
FORM_MAX_BYTES = 64 * 1024  # the portal page's form: 3000 characters of 4-byte UTF-8, encoded
# Slack documents no maximum. Its largest requests are view submissions and message shortcuts:
# at most 100 blocks of 3000 characters (../shared/SLACK.md), form-encoded; that fits in 2 MiB.
SLACK_MAX_BODY = 2 * 1024 * 1024
# Everything else (/healthz, unknown paths) has no use for a body.
OTHER_MAX_BODY = 64 * 1024
# Path prefix -> the most bytes its requests may carry; the first prefix that matches wins.
BODY_LIMITS: tuple[tuple[str, int], ...] = (
    ("/api/v1/portal/", PORTAL_MAX_BODY),  # the portal webhook: 64 KiB (CONTRACT.md section 6)
    ("/api/", API_MAX_BODY),
    ("/slack/", SLACK_MAX_BODY),
    ("/portal/", FORM_MAX_BYTES),  # the portal page's form
)
LARGEST_BODY = max(OTHER_MAX_BODY, *(limit for _prefix, limit in BODY_LIMITS))

REFUSAL_KEY = "ditbot.refusal"
SHOWN_MAX = 200  # characters of a path or a reason in a log line

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def body_limit(path: str) -> int:
    """The most bytes a request body to `path` may hold."""
    return next((limit for prefix, limit in BODY_LIMITS if path.startswith(prefix)), OTHER_MAX_BODY)


def refusal(reason: str) -> None:
    """Say why this request is refused, for its log line (call it within a Flask request)."""
    request.environ[REFUSAL_KEY] = reason


def printable(text: str, limit: int = SHOWN_MAX) -> str:
    """`text` on one line: control characters (CR, LF, ESC, U+2028...) escaped, cut at `limit`."""
    shown = "".join(
        ch if ch.isprintable() and ch != "\\" else ch.encode("unicode_escape").decode("ascii")
        for ch in text[: limit + 1]
    )
    return shown[:limit] + "…" if len(shown) > limit else shown


def loggable_path(path: str) -> str:
    """`path` as a log may show it: a portal link's token becomes its fingerprint."""
    prefix = "/portal/"
    if path.startswith(prefix) and len(path) > len(prefix):
        token = path[len(prefix) :]
        path = f"{prefix}[token {credentials.fingerprint(token)}]"
    return printable(path)


def _declared_length(environ: dict[str, Any]) -> int | None:
    value = str(environ.get("CONTENT_LENGTH") or "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _unframed(environ: dict[str, Any]) -> bool:
    """A body whose end only the stream knows (chunked): no Content-Length announces it."""
    chunked = "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
    return chunked or bool(environ.get("wsgi.input_terminated"))


def _read_at_most(stream: Any, limit: int) -> bytes:
    """Up to `limit` + 1 bytes of `stream` (one more than allowed says it is too long)."""
    parts: list[bytes] = []
    left = limit + 1
    while left > 0:
        part = stream.read(min(left, 64 * 1024))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


class Guard:
    """Body limits per route and one log line per refused request (see the module's text)."""

    def __init__(self, app: WsgiApp, default_locale: str = "fr") -> None:
        self.app = app
        self.default_locale = default_locale

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        limit = body_limit(str(environ.get("PATH_INFO", "")))
        declared = _declared_length(environ)
        if declared is not None and declared > limit:
            return self._too_large(environ, start_response, limit, str(declared))
        if declared is None and _unframed(environ):
            body = _read_at_most(environ["wsgi.input"], limit)
            if len(body) > limit:
                return self._too_large(environ, start_response, limit, f"over {limit}")
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))

        def logged(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            code = int(status.split(" ", 1)[0])
            if 400 <= code < 500:
                _log_refused(environ, code, environ.get(REFUSAL_KEY))
            return start_response(status, headers, exc_info)

        return self.app(environ, logged)

    def _too_large(
        self, environ: dict[str, Any], start_response: StartResponse, limit: int, length: str
    ) -> Iterable[bytes]:
        """413 problem+json; the body is left unread (the server drains or drops it)."""
        language = str(environ.get("HTTP_ACCEPT_LANGUAGE", "")).split(",")[0]
        locale = normalize_locale(language or None, self.default_locale)
        detail = gettext(locale, _("The body is over {limit} bytes."), limit=limit)
        status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
        body = json.dumps(
            {"title": "Content Too Large", "status": status.value, "detail": detail},
            ensure_ascii=False,
        ).encode("utf-8")
        _log_refused(environ, status.value, f"body over {limit} bytes", length)
        start_response(
            f"{status.value} Content Too Large",
            [
                ("Content-Type", "application/problem+json"),
                ("Content-Length", str(len(body))),
            ],
        )
        return [body]


def _log_refused(
    environ: dict[str, Any], code: int, reason: str | None, length: str | None = None
) -> None:
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = "refused"
    size = length if length is not None else str(environ.get("CONTENT_LENGTH") or 0)
    log.info(
        "refused %s %s: %s %s (body: %s bytes)",
        printable(str(environ.get("REQUEST_METHOD", "")), 20),
        loggable_path(str(environ.get("PATH_INFO", ""))),
        code,
        printable(reason or phrase),
        printable(size, 20),
    )
