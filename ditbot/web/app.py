"""The one Flask application: /slack/events, /api/v1, /portal, /healthz."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from ditbot.core.context import Context
from ditbot.web.api import api, current_locale
from ditbot.web.limits import API_MAX_BODY, Guard, loggable_path, refusal
from ditbot.web.portal_page import portal_page, unavailable_page
from ditbot.web.portal_webhook import portal_webhook
from ditbot.web.problems import from_http, unavailable
from storage.db import database_unavailable, outage_summary

log = logging.getLogger(__name__)
# bolt logs each request whose signature fails with its whole body, at INFO (its
# RequestVerification middleware); limits.Guard logs one bounded line for it instead.
BOLT_REFUSAL_LOGGER = "slack_bolt.RequestVerification"


class _NoRequestBody(logging.Filter):
    """Drops bolt's line for a badly signed request (it is the whole body, any size)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


class _Flask(Flask):
    def log_exception(
        self,
        exc_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None],
    ) -> None:
        """Flask's line for a 500, with the path as a log may show it (no portal token)."""
        self.logger.error(
            "Exception on %s [%s]", loggable_path(request.path), request.method, exc_info=exc_info
        )


def create_web_app(ctx: Context, slack_app: Any | None = None) -> Flask:
    """Wire the routes; `slack_app` is the bolt App served at POST /slack/events."""
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
        try:
            ctx.db.ping()
        except Exception as error:  # any driver error means "not healthy"
            return jsonify({"status": "unavailable", "detail": type(error).__name__}), 503
        return jsonify({"status": "ok"}), 200

    if slack_app is not None:
        from slack_bolt.adapter.flask import SlackRequestHandler

        handler = SlackRequestHandler(slack_app)
        bolt_log = logging.getLogger(BOLT_REFUSAL_LOGGER)
        if not any(isinstance(f, _NoRequestBody) for f in bolt_log.filters):
            bolt_log.addFilter(_NoRequestBody())

        @app.post("/slack/events")
        def slack_events() -> Response:
            response = handler.handle(request)
            if response.status_code == 401:
                refusal("Slack signature does not verify")
            return response

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
