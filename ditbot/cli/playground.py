"""`ditbot serve` in playground mode (CONTRACT.md section 1, README "Playground"): ditbot with
its own Slack, its own SMTP sink and demo data, on loopback only."""

from __future__ import annotations

import logging
from typing import Any, cast

from flask import Flask

from ditbot.cli.demo import load_demo
from ditbot.cli.http_server import http_server
from ditbot.cli.serve import build
from ditbot.core.settings import Settings
from ditbot.playground.app import Playground
from ditbot.playground.local import LEAVE, NotLoopback, is_loopback

log = logging.getLogger(__name__)


class _Later:
    """A WSGI app set after the server is bound (the playground needs the bound port first:
    its links carry it, and DITBOT_PORT=0 lets the system choose it)."""

    app: Any = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


def serve_playground(given: Settings) -> None:
    """Bind, start the playground's Slack and SMTP sink, point ditbot at them, load the demo
    data into an empty database, then serve; one line says where and how to leave."""
    if not is_loopback(given.host):
        raise NotLoopback(given.host)
    later = _Later()
    server = http_server(cast(Flask, later), given)
    port = int(server.effective_port)
    playground = Playground().start()
    try:
        settings = playground.settings(given, port=port)
        runtime = build(settings)
        loaded = playground.populate(runtime.ctx, load_demo)
        playground.attach(runtime.web, runtime.ctx)
        later.app = runtime.web
        runtime.dispatcher.start()
        runtime.slack.start()
        if loaded:
            log.info("playground: the demo data set was loaded into the empty database")
        print(f"ditbot playground on {settings.public_url}/playground ({LEAVE})", flush=True)
        try:
            server.run()
        finally:
            runtime.slack.stop()
            runtime.dispatcher.stop()
            runtime.ctx.db.dispose()
    finally:
        playground.stop()
