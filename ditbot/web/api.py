"""The REST API of CONTRACT.md sections 3 and 5, under /api/v1, behind a bearer token."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from ditbot.core import credentials
from ditbot.core.context import Context
from ditbot.core.i18n import _, gettext, normalize_locale
from ditbot.domain import exchanges as service
from ditbot.domain.errors import DomainError, ValidationFailed
from ditbot.domain.records import ClientRecord, CollaboratorRecord, DitRecord, TeamRecord
from ditbot.domain.reference import (
    Summary,
    import_dits,
    parse_records,
    upsert_client,
    upsert_collaborator,
    upsert_dit,
    upsert_team,
)
from ditbot.domain.validation import check_document, load_json
from ditbot.web.limits import loggable_path, refusal
from ditbot.web.openapi import ROUTES, document
from ditbot.web.problems import from_domain, from_http, problem, unavailable
from ditbot.web.schemas import (
    IDEMPOTENCY_KEY_MAX,
    DitsIn,
    DitsOut,
    ExchangeIn,
    ExchangeListOut,
    ExchangeOut,
)
from ditbot.web.serialize import (
    client_out,
    collaborator_out,
    dit_out,
    exchange_out,
    respond,
    team_out,
)
from storage import repositories as repo
from storage.db import database_unavailable, outage_summary
from storage.vocabulary import Source

log = logging.getLogger(__name__)
api = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC = {route.endpoint for route in ROUTES if route.public}  # no bearer token


def context() -> Context:
    ctx: Context = current_app.config["DITBOT"]
    return ctx


def locale() -> str:
    header = request.headers.get("Accept-Language", "")
    return normalize_locale(header.split(",")[0] if header else None, context().settings.locale)


@api.before_request
def authenticate() -> Response | None:
    if request.endpoint in PUBLIC:
        return None
    token = context().settings.api_token
    if not token:
        return problem(
            404,
            gettext(locale(), _("The REST API is disabled: set DITBOT_API_TOKEN to enable it.")),
        )
    header = request.headers.get("Authorization", "")
    scheme, _sep, given = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.same(given.strip(), token):
        refusal("bearer token missing or wrong")
        return problem(
            401,
            gettext(
                locale(),
                _(
                    "Missing or wrong bearer token: "
                    "send 'Authorization: Bearer <DITBOT_API_TOKEN>'."
                ),
            ),
        )
    return None


@api.before_request
def text_only_path() -> None:
    """A path value that cannot be stored (NUL, a lone surrogate) is a 400 naming it; runs
    after `authenticate`. Path values are identifiers: the lookups trim them and compare
    them without regard to case."""
    check_document(request.view_args or {})


@api.errorhandler(DomainError)
def domain_error(error: DomainError) -> Response:
    return from_domain(error, locale())


@api.errorhandler(Exception)
def unexpected_error(error: Exception) -> Response:
    """Every other error of the API is problem+json too (a 500 is logged with its traceback)."""
    if isinstance(error, HTTPException):
        return from_http(error)
    if database_unavailable(error):  # an outage, not a bug: 503, the caller retries
        log.warning(
            "REST API %s %s: database unavailable: %s",
            request.method,
            loggable_path(request.path),
            outage_summary(error),
        )
        return unavailable(locale())
    log.exception("REST API error on %s %s", request.method, loggable_path(request.path))
    return problem(
        500, gettext(locale(), _("Internal error: it was logged. Try again, or tell the admin."))
    )


def body() -> Any:
    """The JSON body, checked by the domain's one rule for documents (depth, storable text)."""
    if not request.is_json:
        raise DomainError(_("The body must be a JSON document (Content-Type: application/json)."))
    return load_json(request.get_data())


def _record(model: type[Any], key: str, value: str) -> Any:
    data = body()
    if not isinstance(data, dict):
        raise DomainError(_("The body must be a JSON object."))
    if data.get(key, value) != value:
        raise DomainError(
            _("The {key} in the body ({given}) differs from the one in the URL ({value})."),
            key,
            key=key,
            given=str(data.get(key))[:60],
            value=value,
        )
    return parse_records(model, {**data, key: value}, root="body")


def _answer(answer: BaseModel, created: bool) -> tuple[Response, int]:
    return respond(answer, 201 if created else 200)


@api.put("/collaborators/<code>")
def put_collaborator(code: str) -> tuple[Response, int]:
    record = _record(CollaboratorRecord, "code", code)
    summary = Summary()
    with context().db.session() as session:
        answer = collaborator_out(upsert_collaborator(session, record, summary))
    return _answer(answer, bool(summary.created))


@api.put("/teams/<code>")
def put_team(code: str) -> tuple[Response, int]:
    record = _record(TeamRecord, "code", code)
    summary = Summary()
    with context().db.session() as session:
        answer = team_out(upsert_team(session, record, summary))
    return _answer(answer, bool(summary.created))


@api.put("/clients/<code>")
def put_client(code: str) -> tuple[Response, int]:
    record = _record(ClientRecord, "code", code)
    summary = Summary()
    with context().db.session() as session:
        client = upsert_client(session, record, summary)
        session.refresh(client)
        answer = client_out(client, repo.contacts_of_client(session, client.id))
    return _answer(answer, "clients" in summary.created)


@api.put("/dits/<number>")
def put_dit(number: str) -> tuple[Response, int]:
    record = _record(DitRecord, "number", number)
    summary = Summary()
    with context().db.session() as session:
        answer = dit_out(upsert_dit(session, record, summary))
    return _answer(answer, bool(summary.created))


@api.put("/dits")
def put_dits() -> tuple[Response, int]:
    """Many DITs in one request, all or nothing, at the import's cost per row."""
    data: DitsIn = parse_records(DitsIn, body(), root="body")
    with context().db.session() as session:
        summary = import_dits(session, data.dits)
    created = summary.created.get("dits", 0)
    updated = summary.updated.get("dits", 0)
    answer = DitsOut(created=created, updated=updated, unchanged=len(data.dits) - created - updated)
    return respond(answer, 200)


@api.get("/dits/<number>")
def get_dit(number: str) -> tuple[Response, int]:
    with context().db.session() as session:
        return respond(dit_out(service.get_dit(session, number)))


@api.get("/dits/<number>/exchanges")
def list_exchanges(number: str) -> tuple[Response, int]:
    with context().db.session() as session:
        dit = service.get_dit(session, number)
        rows = repo.exchanges_of_dit(
            session, dit.id, include_deleted=True, newest_first=False, with_mail_facts=True
        )
        return respond(ExchangeListOut(dit=dit.number, exchanges=[exchange_out(e) for e in rows]))


@api.post("/dits/<number>/exchanges")
def post_exchange(number: str) -> tuple[Response, int]:
    data: ExchangeIn = parse_records(ExchangeIn, body(), root="body")
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key.strip()) <= IDEMPOTENCY_KEY_MAX:
        raise ValidationFailed(
            {
                "Idempotency-Key": DomainError(
                    _("The Idempotency-Key header must be 1 to {limit} characters long."),
                    "Idempotency-Key",
                    limit=IDEMPOTENCY_KEY_MAX,
                )
            }
        )
    external_key = f"api:{key.strip()}" if key else None
    try:
        answer, created = _log_exchange(number, data, external_key)
    except IntegrityError:
        if external_key is None:
            raise
        # A concurrent request with the same key committed first: answer as its replay.
        answer, created = _log_exchange(number, data, external_key)
    if created:
        context().wake_delivery()  # a relance enqueued a notification
    return _answer(answer, created)


def _log_exchange(
    number: str, data: ExchangeIn, external_key: str | None
) -> tuple[ExchangeOut, bool]:
    with context().db.session() as session:
        author = None
        if data.author:
            author = repo.collaborator_by_code(session, data.author)
            if author is None:
                unknown = DomainError(
                    _("Unknown collaborator '{code}'."), "author", code=data.author
                )
                raise ValidationFailed({"author": unknown})
        entry = service.ExchangeInput(
            direction=data.direction,
            detail=data.detail,
            type_code=data.type,
            sent_by=service.Party(data.sent_by.kind, data.sent_by.code) if data.sent_by else None,
            received_by=(
                service.Party(data.received_by.kind, data.received_by.code)
                if data.received_by
                else None
            ),
            recipient_email=data.recipient_email,
            subject=data.subject,
            occurred_at=data.occurred_at,
        )
        exchange, created = service.log_exchange(
            session,
            number,
            entry,
            service.Actor(source=Source.API, collaborator=author),
            external_key=external_key,
        )
        return exchange_out(exchange), created


@api.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document(context().settings.public_url))


def current_locale() -> str:
    """The language of this request's answers (used by other blueprints too)."""
    if "locale" not in g:
        g.locale = locale()
    return str(g.locale)
