"""The one Flask application: /slack/events, /api/v1, /portal, /healthz."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from slack_bolt import App
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from bot.inbound import Refused, SignatureCheck, check_request
from ditbot.core.context import Context
from ditbot.web.api import api, current_locale
from ditbot.web.limits import API_MAX_BODY, Guard, loggable_path, refusal
from ditbot.web.portal_page import portal_page, unavailable_page
from ditbot.web.portal_webhook import portal_webhook
from ditbot.web.problems import from_http, unavailable
from storage.db import database_unavailable, outage_summary

log = logging.getLogger(__name__)


class _Flask(Flask):
    def log_exception(
        self,
        exc_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None],
    ) -> None:
        """Flask's line for a 500, with the path as a log may show it (no portal token)."""
        self.logger.error(
            "Exception on %s [%s]", loggable_path(request.path), request.method, exc_info=exc_info
        )


SIGNATURE_HEADERS = ("X-Slack-Request-Timestamp", "X-Slack-Signature")
SLACK_RETRY_AFTER = 10  # seconds, in the 503 of POST /slack/events while Slack is not connected


class SlackLink(Protocol):
    """Slack as the server holds it (ditbot/cli/slack_link.py): the bolt App once connected
    (None until then) and what /healthz says of the connection."""

    @property
    def app(self) -> App | None: ...

    def health(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Connected:
    """A bolt App that is connected already (tests): a SlackLink that is always up."""

    app: App

    def health(self) -> dict[str, Any]:
        return {"state": "up"}


def create_web_app(
    ctx: Context, slack: App | SlackLink | None = None, *, slack_events: bool = True
) -> Flask:
    """Wire the routes. `slack`: the bolt App (or the link that connects it) served at
    POST /slack/events, whose state /healthz shows. In Socket Mode (`slack_events=False`)
    Slack's requests come over the socket: the route does not exist.

    The route checks each request before bolt (bot/inbound.py: signature, freshness, replay,
    shape) and refuses to exist without SLACK_SIGNING_SECRET (UnverifiedApp).
    """
    link: SlackLink | None = Connected(slack) if isinstance(slack, App) else slack
    app = _Flask("ditbot")
    app.config["DITBOT"] = ctx
    app.config["MAX_CONTENT_LENGTH"] = API_MAX_BODY
    app.wsgi_app = Guard(app.wsgi_app, ctx.settings.locale)  # type: ignore[method-assign]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.register_blueprint(api)
    app.register_blueprint(portal_webhook)
    app.register_blueprint(portal_page)

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        """200 while the database answers (the portal and the API work), whatever Slack does;
        `slack` says whether Slack is connected (`up`), being connected, or `down` and why."""
        slack_state = {"slack": link.health()} if link is not None else {}
        try:
            ctx.db.ping()
        except Exception as error:  # any driver error means "not healthy"
            answer = {"status": "unavailable", "detail": type(error).__name__, **slack_state}
            return jsonify(answer), 503
        return jsonify({"status": "ok", **slack_state}), 200

    if link is not None and slack_events:
        mount_slack_events(app, link, SignatureCheck(ctx.settings.slack_signing_secret))

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)
    def database_error(error: Exception) -> Response:
        """The database does not answer: 503 that says to try again, never a 500 page.

        /api/v1 (the REST API has its own handler, the portal webhook uses this one): problem+
        json. The portal page: a page in the client's language that keeps what they typed.
        """
        if not database_unavailable(error):
            raise error  # a bug: Flask logs it and answers 500
        log.warning(
            "%s %s: database unavailable: %s",
            request.method,
            loggable_path(request.path),
            outage_summary(error),
        )
        if request.path.startswith("/portal/"):
            return unavailable_page()
        return unavailable(current_locale())

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response | HTTPException:
        if request.path.startswith("/api/"):
            return from_http(error)
        return error

    return app


def mount_slack_events(app: Flask, link: SlackLink, signature: SignatureCheck) -> None:
    """POST /slack/events: checked here (401 / 400, one log line), then handed to bolt."""
    from slack_bolt import BoltContext
    from slack_bolt.adapter.flask.handler import to_bolt_request, to_flask_response
    from slack_bolt.request.internals import build_context

    @app.post("/slack/events")
    def slack_events() -> ResponseReturnValue:
        # The content type as bolt reads it (slack_bolt/request/internals.py), so that the
        # body checked here is the one bolt parses.
        content_type = request.headers.get("Content-Type", "").split(";")[0] or None
        try:
            headers = {name: request.headers.get(name) for name in SIGNATURE_HEADERS}
            body = check_request(signature, headers, request.get_data(), content_type)
        except Refused as refused:
            refusal(
                f"Slack request refused: {refused.reason}"
            )  # the Guard logs it, with the status
            return jsonify({"error": refused.reason}), refused.status
        bolt = link.app
        if bolt is None:
            log.info("Slack request answered 503: ditbot is not connected to Slack yet")
            answer = jsonify({"error": "ditbot is not connected to Slack yet, retry later"})
            return answer, 503, {"Retry-After": str(SLACK_RETRY_AFTER)}
        bolt_request = to_bolt_request(request)
        if bolt_request.body != body:  # a form that contains "payload": bolt reads {} (inbound.py)
            bolt_request.body = body
            bolt_request.context = build_context(BoltContext(), body)
        return to_flask_response(bolt.dispatch(bolt_request))
