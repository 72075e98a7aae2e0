"""`POST /api/v1/portal/messages`: a message from an external client portal (CONTRACT.md s. 6).

Order of the checks: size (413), signature over the raw body (401), then the body is parsed
(400), then the domain answers (404, 409; 201 or 200 for a message id already received).
Nothing is stored unless the answer is 200 or 201: the unit of work rolls back on any refusal.
No bearer token: the signature is the authentication (ditbot/web/api.py lists this endpoint
as public).

Messages that arrive together are written together (`Burst`): one transaction, one lock and
one rewrite of the indicators per DIT for all the messages waiting, instead of one each. Under
a burst (200 messages in a second over 5 DITs) the per-message commits and DIT locks were what
queued the answers; a lone message is a batch of one.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, request
from flask.blueprints import BlueprintSetupState
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
BURST = "ditbot.portal_burst"  # the app's Burst, in app.extensions
MAX_BATCH = 50  # messages in one transaction: bounds how long one write holds the locks


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
        answer, created = current_app.extensions[BURST].submit(ctx, _message(body))
    except DomainError as error:
        return from_domain(error, current_locale())
    if created:
        ctx.wake_delivery()
    return respond(answer, 201 if created else 200)


@portal_webhook.record_once
def _one_burst_per_app(state: BlueprintSetupState) -> None:
    state.app.extensions[BURST] = Burst()


def _message(body: PortalMessageIn) -> rules.PortalMessage:
    return rules.PortalMessage(
        dit=body.dit,
        contact=body.contact,
        detail=body.detail,
        subject=body.subject,
        relance=body.relance,
        sent_at=body.sent_at,
        message_id=body.message_id,
    )


Answer = tuple[ExchangeOut, bool]


@dataclass
class _Waiting:
    """A message handed to the Burst, and what became of it once `done`."""

    message: rules.PortalMessage
    done: bool = False
    answer: Answer | None = None
    error: BaseException | None = None

    def outcome(self) -> Answer:
        if self.error is not None:
            raise self.error
        assert self.answer is not None
        return self.answer


@dataclass
class Burst:
    """Group commit of the messages being received: no thread of its own.

    A request queues its message; when no one is writing, it takes the queue (up to MAX_BATCH)
    and writes it in one transaction, then hands over to the next waiting request. A batch
    that fails as a whole (the same message id committed meanwhile by another process, the
    database gone) is written again one message per transaction, so each gets its own answer.
    """

    _queue: list[_Waiting] = field(default_factory=list)
    _writing: bool = False
    _turn: threading.Condition = field(default_factory=threading.Condition)

    def submit(self, ctx: Context, message: rules.PortalMessage) -> Answer:
        mine = _Waiting(message)
        with self._turn:
            self._queue.append(mine)
            while not mine.done:
                if self._writing:
                    self._turn.wait()
                    continue
                self._writing = True
                batch, self._queue[:MAX_BATCH] = self._queue[:MAX_BATCH], []
                self._turn.release()
                try:
                    _write(ctx, batch)
                finally:
                    self._turn.acquire()
                    self._writing = False
                    self._turn.notify_all()
        return mine.outcome()


def _write(ctx: Context, batch: list[_Waiting]) -> None:
    """Write `batch` in one transaction, else each message alone; marks every one done."""
    messages = [waiting.message for waiting in batch]
    try:
        try:
            answers = _record(ctx, messages)
        except Exception as error:  # written again one by one: each answers its own error
            answers = [error] if len(batch) == 1 else [_record_alone(ctx, m) for m in messages]
        for waiting, answer in zip(batch, answers, strict=True):
            if isinstance(answer, BaseException):
                waiting.error = answer
            else:
                waiting.answer = answer
    except BaseException as error:
        for waiting in batch:
            if waiting.answer is None and waiting.error is None:
                waiting.error = error
        raise
    finally:
        for waiting in batch:
            waiting.done = True


def _record_alone(ctx: Context, message: rules.PortalMessage) -> Answer | BaseException:
    try:
        (answer,) = _record(ctx, [message])
    except Exception as error:  # raised in the request of that message
        return error
    return answer


def _record(ctx: Context, messages: list[rules.PortalMessage]) -> list[Answer | BaseException]:
    settings = ctx.settings
    try:
        with ctx.db.session() as session:
            outcomes = rules.post_messages(
                session,
                messages,
                window_days=settings.portal_window_days,
                relance_after_hours=settings.relance_after_hours,
            )
            return [
                outcome
                if isinstance(outcome, DomainError)
                else (exchange_out(outcome[0]), outcome[1])
                for outcome in outcomes
            ]
    except IntegrityError:
        if len(messages) > 1:
            raise
        # The same message id arrived twice at once and the other request stored it first.
        (message,) = messages
        with ctx.db.session() as session:
            key = rules.external_key(message.message_id) if message.message_id else None
            existing = replay_of(session, key, message.dit, "message_id")
            if existing is None:
                raise
            return [(exchange_out(existing), False)]
