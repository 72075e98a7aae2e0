"""RFC 9457 problem+json answers, the one mapping from domain errors to HTTP, and the one
test of "the database does not answer" (`database_unavailable`, used by Slack and delivery too).
"""

from __future__ import annotations

from typing import Any

from flask import Response, json
from sqlalchemy import exc

from ditbot.i18n import _, gettext
from domain.errors import DomainError, ValidationFailed

# Seconds a caller should wait before trying again after a 503 (Retry-After).
RETRY_AFTER = 5
# SQLite reports these programming errors as OperationalError: they are bugs, not outages.
_SQLITE_BUGS = ("no such table", "no such column", "syntax error", "has no column")

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem(status: int, detail: str, **extra: Any) -> Response:
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status}
    body["detail"] = detail
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="ditbot"'
    return response


def from_domain(error: DomainError, locale: str) -> Response:
    extra: dict[str, Any] = {}
    if isinstance(error, ValidationFailed):
        extra["errors"] = error.messages(locale)
    elif error.field:
        extra["errors"] = {error.field: error.message(locale)}
    return problem(error.status, error.message(locale), **extra)


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


def unavailable(locale: str) -> Response:
    """503 problem+json: the database does not answer; the caller may retry the same request."""
    response = problem(
        503,
        gettext(
            locale,
            _(
                "The service is briefly unavailable (its database does not answer). Nothing "
                "was recorded: send the same request again in a moment."
            ),
        ),
    )
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response
