"""The one Flask application: /slack/events, /api/v1, /portal, /healthz."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from ditbot.context import Context
from portal.page import portal_page
from portal.webhook import portal_webhook
from web.api import api
from web.problems import problem


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
            return handler.handle(request)  # type: ignore[no-any-return]

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response | HTTPException:
        if request.path.startswith("/api/"):
            return problem(error.code or 500, error.description or error.name)
        return error

    return app
