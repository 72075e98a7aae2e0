"""bolt middleware: checked requests, the app's dependencies, early acks, events handled once.

Nothing here touches the database or Slack before the ack, except the deduplication of
Events API retries (one insert). Who is acting is resolved after the ack: bot/requester.py.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from slack_bolt import Ack, BoltContext, BoltResponse
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.deps import RECEIVED_AT, Deps
from bot.inbound import CHECKED, GuardedRespond, response_url_allowed
from bot.parsing import Body
from ditbot.core.i18n import Translator, _
from storage.models import ProcessedEvent
from storage.types import utcnow

log = logging.getLogger(__name__)

Next = Callable[[], BoltResponse | None]
Middleware = Callable[..., BoltResponse | None]


BUSY = _("ditbot is very busy right now: try again in a moment.")


class _BusyLog:
    """One warning line per EVERY seconds while commands are answered 'busy' (not one each)."""

    EVERY = 10.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since = 0
        self._last = float("-inf")

    def note(self, waiting: int) -> None:
        with self._lock:
            self._since += 1
            now = time.monotonic()
            if now - self._last < self.EVERY:
                return
            count, self._since, self._last = self._since, 0, now
        log.warning(
            "Slack commands answered 'very busy': %d since the last line, %d requests wait"
            " for the listener pool",
            count,
            waiting,
        )


_busy_log = _BusyLog()


def ack_at_once(ack: Ack, next: Next, body: Body, context: BoltContext) -> BoltResponse | None:
    """Listener middleware: ack in the HTTP thread, before the listener is even scheduled.

    With `process_before_response=False` bolt runs the listener (which normally calls ack())
    on its thread pool and polls for the ack; under load the listener waits in the pool's
    queue and so does Slack's answer. Acking here answers at once; the listener then works
    (views.open, respond...) on the pool. Use it for listeners whose ack carries nothing:
    slash commands, buttons and menus, shortcuts (not view_submission, not options).

    A slash command that comes while the pool's queue is full (bot/deps.py MAX_BACKLOG) is
    answered in the ack itself, ephemerally, and not queued: "very busy, try again".
    """
    deps = context.get("deps")
    if body.get("command") and isinstance(deps, Deps) and deps.too_busy():
        _busy_log.note(deps.backlog())
        text = Translator(deps.settings.locale)(BUSY)
        answer = json.dumps({"response_type": "ephemeral", "text": text}, ensure_ascii=False)
        return BoltResponse(status=200, body=answer, headers={"content-type": "application/json"})
    ack()
    return next()


def checked_requests(deps: Deps) -> Middleware:
    """Global middleware, the first of ditbot's: the request passed bolt's own checks; its
    `response_url` is Slack's, or the request is dropped before any listener runs.

    `respond()` is then one that can only POST to Slack (bot/inbound.py `GuardedRespond`):
    listeners and the error handler reach the response_url through it and nothing else.
    """
    bases = deps.settings.response_url_bases

    def middleware(context: BoltContext, next: Next) -> BoltResponse | None:
        url = context.response_url
        if url is not None and not response_url_allowed(url, bases):
            log.warning("Slack request dropped: its response_url is not on %s", " or ".join(bases))
            return BoltResponse(status=400, body="")
        client = context.client
        context["respond"] = GuardedRespond(
            response_url=url,
            bases=bases,
            proxy=client.proxy if client else None,
            ssl=client.ssl if client else None,
        )
        context[CHECKED] = True
        return next()

    return middleware


def with_deps(deps: Deps) -> Middleware:
    """Global middleware: `context["deps"]`, which listeners receive as their `deps` argument,
    and `context["received_at"]`, the arrival time a trigger_id's age is counted from."""

    def middleware(context: BoltContext, next: Next) -> BoltResponse | None:
        context["deps"] = deps
        context[RECEIVED_AT] = deps.clock()
        return next()

    return middleware


class EventDeduplicator:
    """Events API retries (x-slack-retry-num) must not run twice: one row per event_id."""

    KEEP_SECONDS = 2 * 3600
    PURGE_EVERY = 500

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._count = 0
        self._lock = threading.Lock()

    def first_time(self, event_id: str) -> bool:
        """Record `event_id`; False when it was already recorded."""
        try:
            with self.deps.db.session() as session:
                session.add(ProcessedEvent(event_id=event_id[:100]))
                session.flush()
                self._maybe_purge(session)
        except IntegrityError:
            return False
        return True

    def _maybe_purge(self, session: Session) -> None:
        with self._lock:
            self._count += 1
            due = self._count % self.PURGE_EVERY == 1
        if due:
            cutoff = utcnow() - timedelta(seconds=self.KEEP_SECONDS)
            session.execute(delete(ProcessedEvent).where(ProcessedEvent.received_at < cutoff))

    def middleware(self) -> Middleware:
        def middleware(body: Body, next: Next) -> BoltResponse | None:
            event_id = body.get("event_id")
            if body.get("type") == "event_callback" and event_id:
                if not self.first_time(str(event_id)):
                    log.info("event %s already processed: acked, skipped", event_id)
                    return BoltResponse(status=200, body="")
            return next()

        return middleware
