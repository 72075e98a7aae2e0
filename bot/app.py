"""`create_app`: the bolt App of ditbot, with every listener module registered.

Serving model (measured in bench/bench_slack.py): the sync bolt `App` behind waitress's
thread pool (`ditbot serve`), `process_before_response=False`: each listener acks at once
and continues on bolt's listener thread pool, so `views.open` follows the ack within the 3 s
of a trigger_id and slow Slack calls never hold an HTTP worker past the ack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.deps import Deps, Hooks
from bot.errors import handle_error
from bot.middleware import EventDeduplicator, who_middleware
from ditbot.context import Context

log = logging.getLogger(__name__)
LISTENER_THREADS = 16

Register = Callable[[App, Deps], None]


def handler_modules() -> list[Register]:
    """The `register(app, deps)` of every listener module, in routing order.

    To plug in a module, add ONE line here. Listeners are matched in this order; the
    fallbacks (placeholders) come last so a real listener registered above always wins.
    """
    from bot.handlers import commands, fallbacks, forms, home, mail, panel, shortcuts

    return [
        commands.register,
        panel.register,
        forms.register,
        home.register,
        shortcuts.register,
        # --- plug-ins: one line each -----------------------------------------------------
        mail.register,
        # --- keep last ------------------------------------------------------------------
        fallbacks.register,
    ]


def web_client(ctx: Context) -> WebClient:
    """The app's WebClient; bolt copies its base_url and retry handlers to every request."""
    return WebClient(
        token=ctx.settings.slack_bot_token,
        base_url=ctx.settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


def create_app(
    ctx: Context,
    client: WebClient | None = None,
    *,
    listener_executor: Executor | None = None,
    hooks: Hooks | None = None,
) -> App:
    """Build the bolt App (calls auth.test once to learn the bot's identity)."""
    settings = ctx.settings
    deps = Deps(ctx=ctx, hooks=hooks or Hooks())
    app = App(
        client=client or web_client(ctx),
        signing_secret=settings.slack_signing_secret,
        # Socket Mode has no signature (the socket is authenticated); HTTP always verifies.
        request_verification_enabled=bool(settings.slack_signing_secret),
        process_before_response=False,
        listener_executor=listener_executor
        or ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="bolt"),
        name="ditbot",
    )
    app.use(EventDeduplicator(deps).middleware())
    app.use(who_middleware(deps))
    app.error(handle_error)
    for register in handler_modules():
        register(app, deps)
    app._ditbot_deps = deps  # type: ignore[attr-defined]  # for tests and plug-ins
    return app
