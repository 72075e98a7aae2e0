"""The one Flask application: /slack/events, /api/v1, /portal, /healthz."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from ditbot.core.context import Context
from ditbot.web.api import api, current_locale
from ditbot.web.portal_page import portal_page, unavailable_page
from ditbot.web.portal_webhook import portal_webhook
from ditbot.web.problems import from_http, unavailable
from storage.db import database_unavailable, outage_summary

log = logging.getLogger(__name__)


def create_web_app(ctx: Context, slack_app: Any | None = None) -> Flask:
    """Wire the routes; `slack_app` is the bolt App served at POST /slack/events."""
    app = Flask("ditbot")
    app.config["DITBOT"] = ctx
    app.config["MAX_CONTENT_LENGTH"] = 8 * 1024 * 1024
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

        @app.post("/slack/events")
        def slack_events() -> Response:
            return handler.handle(request)

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
            "%s %s: database unavailable: %s", request.method, request.path, outage_summary(error)
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
