"""`ditbot serve`: one process with the Slack endpoint, the REST API, the portal and delivery."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from ditbot.cli.http_server import http_server
from ditbot.cli.slack_link import RETRY, SlackLink
from ditbot.core.context import Context
from ditbot.core.settings import Settings
from ditbot.delivery.backoff import Backoff
from ditbot.delivery.dispatcher import Dispatcher
from ditbot.delivery.registry import Registry
from ditbot.web.app import create_web_app
from storage.vocabulary import OutboxKind

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything `serve` runs, built without side effects so tests can start and stop it."""

    ctx: Context
    slack: SlackLink
    web: Flask
    dispatcher: Dispatcher
    workers: Registry
    collector: Any | None = None  # the IMAP collector (ditbot.mail.collector), when IMAP_HOST
    scanner: Any | None = None  # the reminder scan (bot.workers.reminders), run by the dispatcher


def workers(ctx: Context, slack_client: Any) -> Registry:
    """The outbox workers of this process, one for each kind of outbox item."""
    from bot.workers.author_dm import SlackDmWorker
    from bot.workers.inbound import UnmatchedMailWorker
    from bot.workers.notifications import NotificationWorker
    from bot.workers.reminders import ReminderWorker
    from ditbot.mail.worker import MailWorker

    return Registry(
        {
            OutboxKind.MAIL: MailWorker(ctx),
            # Its own client: it paces and retries itself.
            OutboxKind.NOTIFY: NotificationWorker(ctx),
            OutboxKind.SLACK_DM: SlackDmWorker(ctx, slack_client),
            OutboxKind.UNMATCHED_MAIL: UnmatchedMailWorker(ctx, slack_client),
            OutboxKind.REMINDER: ReminderWorker(ctx, slack_client),
        }
    )


def slack_link(
    ctx: Context,
    client: Any,
    *,
    socket_mode: bool,
    backoff: Backoff = RETRY,
    wait: Callable[[float], bool] | None = None,
) -> SlackLink:
    """Slack for this process: the bolt App, and in Socket Mode its socket, connected when
    Slack answers (ditbot/cli/slack_link.py)."""
    from bot.app import create_app

    probe = quiet_client(ctx.settings)

    def connect() -> Any:
        probe.auth_test()  # one quiet try: while Slack is away the link says so, in one line
        return create_app(ctx, client=client, socket_mode=socket_mode)

    def socket(app: Any) -> Any:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        return SocketModeHandler(app, ctx.settings.slack_app_token)

    return SlackLink(
        connect,
        socket=socket if socket_mode else None,
        backoff=backoff,
        wait=wait,
    )


def quiet_client(settings: Settings) -> Any:
    """A WebClient that tries once and logs nothing (the app's retries, and logs, each call)."""
    from slack_sdk import WebClient

    logger = logging.getLogger(f"{__name__}.slack_probe")
    logger.setLevel(logging.CRITICAL)
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        logger=logger,
        retry_handlers=[],
    )


def build(
    settings: Settings,
    *,
    socket_mode: bool = False,
    slack_client: Any | None = None,
    slack_backoff: Backoff = RETRY,
    slack_wait: Callable[[float], bool] | None = None,
) -> Runtime:
    """Everything `serve` runs. Over HTTP, Slack is tried once here (auth.test): when it does
    not answer, the rest is built anyway and `runtime.slack.start()` keeps trying."""
    from bot.app import web_client

    ctx = Context.from_settings(settings)
    ctx.db.upgrade()
    client = slack_client or web_client(ctx)
    slack = slack_link(ctx, client, socket_mode=socket_mode, backoff=slack_backoff, wait=slack_wait)
    if not socket_mode:  # Socket Mode opens its socket in `start()`, not while building
        slack.attempt()
    registry = workers(ctx, client)
    from bot.workers.reminders import ReminderScanner

    # The scan enqueues reminders; it delivers nothing itself, so it is no kind's worker.
    scanner = ReminderScanner(ctx)
    periodic: list[Any] = [scanner]
    if settings.digest_at:
        from bot.workers.digest import DigestScheduler

        periodic.append(DigestScheduler(ctx, client))  # posts at DITBOT_DIGEST_AT, no outbox kind
    dispatcher = Dispatcher([*registry.values(), *periodic])
    ctx.wake_delivery = dispatcher.wake
    collector = None
    if settings.imap_host:
        from ditbot.mail.collector import MailCollector

        collector = MailCollector(ctx)
    return Runtime(
        ctx=ctx,
        slack=slack,
        web=create_web_app(ctx, slack, slack_events=not socket_mode),
        dispatcher=dispatcher,
        workers=registry,
        collector=collector,
        scanner=scanner,
    )


def serve(settings: Settings, *, socket_mode: bool = False) -> None:
    from ditbot.mail.smtp import cleartext_login

    if (plain := cleartext_login(settings)) is not None:
        log.warning(str(plain))  # the log stays English
    runtime = build(settings, socket_mode=socket_mode)
    server = http_server(runtime.web, settings)
    runtime.dispatcher.start()
    runtime.slack.start()  # Socket Mode connects; a Slack that did not answer is retried
    if runtime.collector is not None:
        runtime.collector.start()
        log.info("reading mail from %s", runtime.collector.mailbox.where)
    try:
        where = f"http://{settings.host}:{settings.port}"
        how = "Slack over Socket Mode; " if socket_mode else ""
        log.info("ditbot listening on %s (%sAPI, portal)", where, how)
        server.run()
    finally:
        runtime.slack.stop()
        if runtime.collector is not None:
            runtime.collector.stop()
        runtime.dispatcher.stop()
        runtime.ctx.db.dispose()
