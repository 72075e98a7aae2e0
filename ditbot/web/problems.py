"""RFC 9457 problem+json answers and the one mapping from domain errors to HTTP."""

from __future__ import annotations

from typing import Any

from flask import Response, json

from ditbot.core.i18n import _, gettext
from ditbot.domain.errors import DomainError, ValidationFailed

# Seconds a caller should wait before trying again after a 503 (Retry-After).
RETRY_AFTER = 5

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
