"""`create_app`: the bolt App of ditbot, with every listener module registered.

Serving model (measured by bench/bench_slack.py): the sync bolt `App` behind waitress's
thread pool (`ditbot serve`, or Socket Mode), `process_before_response=False`. Listeners whose
ack carries nothing (the slash command, buttons, menus, shortcuts) are acked by the
`ack_at_once` listener middleware in the HTTP thread, before bolt schedules them; they then do
their work (who is acting, DB, views.open, respond) on bolt's listener pool. So an ack never
waits for a busy pool, and comes without bolt's 10 ms ack polling (p50 about half the bare
app's). The units of work of listeners hold one of `WORK_SLOTS` (bot/deps.py) so that, under
load, they do not take the GIL from the acking threads. View submissions ack themselves:
field errors need the domain's verdict first.

A listener module (bot/handlers/) has module-level listeners and `register(app)`, which
registers each one wrapped in `bot.errors.guarded` (ack-only ones with
`middleware=[ack_at_once]`); add its `register` to `HANDLER_MODULES` below. Listeners take
what they need as arguments: bolt's (`body`, `ack`, `client`...), `deps` (bot/deps.py) and the
request's `requester` and `t` (bot/requester.py). They call flows (bot/flows/), never another
listener module. Every Slack identifier is in bot/ids.py.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.deps import Deps
from bot.errors import handle_error
from bot.handlers import commands, forms, home, inbound, mail, panel, reminders, shortcuts
from bot.inbound import signing_secret
from bot.middleware import EventDeduplicator, checked_requests, with_deps
from ditbot.core.context import Context

LISTENER_THREADS = 16

# The `register(app)` of every listener module, in routing order (listeners are matched in
# this order). To plug in a module, add ONE line here.
HANDLER_MODULES: tuple[Callable[[App], None], ...] = (
    commands.register,
    panel.register,
    forms.register,
    home.register,
    shortcuts.register,
    mail.register,
    inbound.register,
    reminders.register,
)


def web_client(ctx: Context, rate_limit_retries: int = 2) -> WebClient:
    """The app's WebClient; bolt copies its base_url and retry handlers to every request.
    `rate_limit_retries`: how many 429s in a row a call waits out before it fails."""
    return WebClient(
        token=ctx.settings.slack_bot_token,
        base_url=ctx.settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
        ],
    )


def waiting(executor: Executor) -> int:
    """Tasks waiting in a ThreadPoolExecutor's queue (0 for an executor that has none)."""
    queue = getattr(executor, "_work_queue", None)
    return queue.qsize() if queue is not None else 0


def create_app(
    ctx: Context,
    client: WebClient | None = None,
    *,
    socket_mode: bool = False,
    listener_executor: Executor | None = None,
    clock: Callable[[], float] | None = None,
) -> App:
    """Build the bolt App (calls auth.test once to learn the bot's identity).

    For HTTP (the default) it verifies every request and refuses to be built without
    SLACK_SIGNING_SECRET. With `socket_mode` requests come over the socket, which Slack
    authenticates (they carry no signature); such an app must never be served over HTTP.
    `clock` (monotonic seconds) times how long a request waited (bot/deps.py TRIGGER_BUDGET).
    """
    settings = ctx.settings
    secret = "" if socket_mode else signing_secret(settings.slack_signing_secret)
    executor = listener_executor or ThreadPoolExecutor(
        max_workers=LISTENER_THREADS, thread_name_prefix="bolt"
    )
    deps = Deps(ctx=ctx, backlog=lambda: waiting(executor))
    if clock is not None:
        deps.clock = clock
    app = App(
        client=client or web_client(ctx),
        signing_secret=secret,
        request_verification_enabled=not socket_mode,
        process_before_response=False,
        listener_executor=executor,
        # bolt (re)sets the level of the logger named after the app at each request, to the
        # root's: "ditbot" would be the parent of every ditbot.* logger.
        name="ditbot.bolt",
    )
    app.use(checked_requests(deps))  # first: nothing of ditbot runs for a request it drops
    app.use(EventDeduplicator(deps).middleware())
    app.use(with_deps(deps))
    app.error(handle_error)
    for register in HANDLER_MODULES:
        register(app)
    return app
