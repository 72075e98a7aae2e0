"""`ditbot serve`: one process with the Slack endpoint, the REST API, the portal and delivery."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from flask import Flask

from ditbot.core.context import Context
from ditbot.core.settings import Settings
from ditbot.delivery.dispatcher import Dispatcher
from ditbot.delivery.registry import Registry
from ditbot.web.app import create_web_app
from storage.vocabulary import OutboxKind

log = logging.getLogger(__name__)
HTTP_THREADS = 16


@dataclass
class Runtime:
    """Everything `serve` runs, built without side effects so tests can start and stop it."""

    ctx: Context
    slack_app: Any
    web: Flask
    dispatcher: Dispatcher
    workers: Registry
    collector: Any | None = None  # the IMAP collector (ditbot.mail.collector), when IMAP_HOST


def workers(ctx: Context, slack_app: Any) -> Registry:
    """The outbox workers of this process, one for each kind of outbox item."""
    from bot.workers.author_dm import SlackDmWorker
    from bot.workers.inbound import UnmatchedMailWorker
    from bot.workers.notifications import NotificationWorker
    from ditbot.mail.worker import MailWorker

    return Registry(
        {
            OutboxKind.MAIL: MailWorker(ctx),
            # Its own client: it paces and retries itself.
            OutboxKind.NOTIFY: NotificationWorker(ctx),
            OutboxKind.SLACK_DM: SlackDmWorker(ctx, slack_app.client),
            OutboxKind.UNMATCHED_MAIL: UnmatchedMailWorker(ctx, slack_app.client),
        }
    )


def build(settings: Settings, *, slack_client: Any | None = None) -> Runtime:
    from bot.app import create_app

    ctx = Context.from_settings(settings)
    ctx.db.upgrade()
    slack_app = create_app(ctx, client=slack_client)
    registry = workers(ctx, slack_app)
    dispatcher = Dispatcher(list(registry.values()))
    ctx.wake_delivery = dispatcher.wake
    collector = None
    if settings.imap_host:
        from ditbot.mail.collector import MailCollector

        collector = MailCollector(ctx)
    return Runtime(
        ctx=ctx,
        slack_app=slack_app,
        web=create_web_app(ctx, slack_app),
        dispatcher=dispatcher,
        workers=registry,
        collector=collector,
    )


class CannotListen(Exception):
    """The HTTP address is taken or not ours to use."""


def http_server(web: Flask, settings: Settings) -> Any:
    """Bind the HTTP server now, so a taken port is reported before anything starts."""
    from waitress.server import create_server

    try:
        return create_server(
            web, host=settings.host, port=settings.port, threads=HTTP_THREADS, ident="ditbot"
        )
    except OSError as error:
        raise CannotListen(
            f"cannot listen on {settings.host}:{settings.port} ({error.strerror or error}): "
            "stop what uses that port, or set DITBOT_PORT / DITBOT_HOST."
        ) from None


def serve(settings: Settings, *, socket_mode: bool = False) -> None:
    runtime = build(settings)
    server = http_server(runtime.web, settings)
    runtime.dispatcher.start()
    if runtime.collector is not None:
        runtime.collector.start()
        log.info("reading mail from %s", runtime.collector.mailbox.where)
    try:
        if socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            threading.Thread(target=server.run, daemon=True, name="http").start()
            log.info("Slack Socket Mode connecting; HTTP (API, portal) on %s", settings.port)
            handler = SocketModeHandler(runtime.slack_app, settings.slack_app_token)
            handler.start()  # type: ignore[no-untyped-call]  # slack-bolt leaves it untyped
        else:
            log.info("ditbot listening on http://%s:%s", settings.host, settings.port)
            server.run()
    finally:
        if runtime.collector is not None:
            runtime.collector.stop()
        runtime.dispatcher.stop()
        runtime.ctx.db.dispose()
