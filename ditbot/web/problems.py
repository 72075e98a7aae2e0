"""RFC 9457 problem+json answers and the one mapping from domain errors to HTTP."""

from __future__ import annotations

from flask import Response, json
from werkzeug.exceptions import HTTPException

from ditbot.core.i18n import _, gettext
from ditbot.domain.errors import DomainError, ValidationFailed
from ditbot.web.schemas import ProblemOut

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


def problem(status: int, detail: str, errors: dict[str, str] | None = None) -> Response:
    """A `status` answer whose body is a `ProblemOut` (`errors`: message per field at fault)."""
    body = ProblemOut(
        title=TITLES.get(status, "Error"), status=status, detail=detail, errors=errors
    )
    response = Response(
        json.dumps(body.model_dump(mode="json", exclude_none=True)),
        status=status,
        mimetype="application/problem+json",
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="ditbot"'
    return response


def from_http(error: HTTPException) -> Response:
    """Werkzeug's error (404, 405, 413...) as problem+json, with its headers (a 405's Allow)."""
    response = problem(error.code or 500, error.description or error.name)
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def from_domain(error: DomainError, locale: str) -> Response:
    errors = None
    if isinstance(error, ValidationFailed):
        errors = error.messages(locale)
    elif error.field:
        errors = {error.field: error.message(locale)}
    return problem(error.status, error.message(locale), errors)


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
