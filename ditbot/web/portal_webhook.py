"""`POST /api/v1/portal/messages`: a message from an external client portal (CONTRACT.md s. 6).

Order of the checks: size (413), signature over the raw body (401), then the body is parsed
(400), then the domain answers (404, 409; 201 or 200 for a message id already received).
Nothing is stored unless the answer is 200 or 201: the unit of work rolls back on any refusal.
No bearer token: the signature is the authentication (ditbot/web/api.py lists this endpoint
as public).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import IntegrityError

from ditbot.core.context import Context
from ditbot.core.i18n import _, gettext
from ditbot.domain import portal as rules
from ditbot.domain.errors import DomainError
from ditbot.domain.exchanges import replay_of
from ditbot.domain.reference import parse_records
from ditbot.domain.validation import check_document, load_json
from ditbot.portal import signing
from ditbot.web.api import current_locale
from ditbot.web.limits import refusal
from ditbot.web.problems import from_domain, problem
from ditbot.web.schemas import PORTAL_MAX_BODY as MAX_BODY
from ditbot.web.schemas import ExchangeOut, PortalMessageIn
from ditbot.web.serialize import exchange_out, respond

log = logging.getLogger(__name__)

portal_webhook = Blueprint("portal_webhook", __name__, url_prefix="/api/v1/portal")


def _ctx() -> Context:
    ctx: Context = current_app.config["DITBOT"]
    return ctx


def _refuse(status: int, message: str, **params: Any) -> Response:
    return problem(status, gettext(current_locale(), message, **params))


def _read_body() -> bytes | None:
    """The raw body, or None when it is over the limit (announced or actually sent)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None
    raw = request.stream.read(MAX_BODY + 1)
    return None if len(raw) > MAX_BODY else raw


@portal_webhook.post("/messages")
def receive() -> tuple[Response, int] | Response:
    ctx = _ctx()
    raw = _read_body()
    if raw is None:
        return _refuse(413, _("The body is over {limit} bytes."), limit=MAX_BODY)
    secret = ctx.settings.portal_secret
    if not secret:
        return _refuse(503, _("The portal webhook is off: DITBOT_PORTAL_SECRET is not set."))
    if not signing.verify(
        secret,
        request.headers.get(signing.TIMESTAMP_HEADER),
        request.headers.get(signing.SIGNATURE_HEADER),
        raw,
    ):
        refusal("portal webhook signature does not verify")
        response = _refuse(
            401,
            _(
                'Bad or old signature: sign "{timestamp}.{body}" with HMAC-SHA256 and '
                "DITBOT_PORTAL_SECRET, send it as X-Ditbot-Signature: v1=<hex> with "
                "X-Ditbot-Timestamp within 300 seconds of now."
            ),
        )
        response.headers["WWW-Authenticate"] = 'Signature realm="ditbot-portal"'
        return response
    try:
        data = load_json(raw, check=False)
        if not isinstance(data, dict):
            return _refuse(400, _("The body must be a JSON object."))
        # A portal may send more than we read (CONTRACT.md): only the fields read are checked.
        data = {name: data[name] for name in PortalMessageIn.model_fields if name in data}
        check_document(data)
        body: PortalMessageIn = parse_records(PortalMessageIn, data)
        answer, created = _record(ctx, body)
    except DomainError as error:
        return from_domain(error, current_locale())
    if created:
        ctx.wake_delivery()
    return respond(answer, 201 if created else 200)


def _record(ctx: Context, body: PortalMessageIn) -> tuple[ExchangeOut, bool]:
    message = rules.PortalMessage(
        dit=body.dit,
        contact=body.contact,
        detail=body.detail,
        subject=body.subject,
        relance=body.relance,
        sent_at=body.sent_at,
        message_id=body.message_id,
    )
    settings = ctx.settings
    try:
        with ctx.db.session() as session:
            exchange, created = rules.post_message(
                session,
                message,
                window_days=settings.portal_window_days,
                relance_after_hours=settings.relance_after_hours,
            )
            return exchange_out(exchange), created
    except IntegrityError:
        # The same message id arrived twice at once and the other request stored it first.
        with ctx.db.session() as session:
            key = rules.external_key(body.message_id)
            existing = replay_of(session, key, body.dit, "message_id")
            if existing is None:
                raise
            return exchange_out(existing), False
