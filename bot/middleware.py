"""bolt middleware: who is acting (collaborateur + language), and events handled once.

`who_middleware` puts a `Who` into the context (listeners receive it as the `who` argument).
It is lazy: nothing is looked up before the listener asks, so acks stay fast. The first
`who.actor(session)` or `who.t` resolves the Slack user to a collaborateur
(ditbot/domain/people.py),
calling `users.info` (with the locale) only when the user is not linked yet or has no cached
locale; the locale is cached on `Collaborator.locale`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.deps import Deps
from ditbot.core.i18n import Translator, _, normalize_locale
from ditbot.domain.errors import DomainError, NotLinked
from ditbot.domain.exchanges import Actor
from ditbot.domain.people import collaborator_for_slack_user
from storage.models import Collaborator, ProcessedEvent
from storage.types import utcnow
from storage.vocabulary import Source

log = logging.getLogger(__name__)


def user_id_of(body: dict[str, Any]) -> str | None:
    """The acting Slack user of any payload (command, interaction, event)."""
    user = body.get("user")
    if isinstance(user, dict):
        return user.get("id")
    if isinstance(user, str):
        return user
    event = body.get("event")
    if isinstance(event, dict) and isinstance(event.get("user"), str):
        return str(event["user"])
    return body.get("user_id")


class Who:
    """The Slack user behind a request, resolved on first use."""

    def __init__(self, deps: Deps, user_id: str, client: WebClient) -> None:
        self.deps = deps
        self.user_id = user_id
        self.client = client
        self._resolved = False
        self._error: DomainError | None = None
        self._slack_locale: str | None = None
        self._fetched = False
        self.collaborator_id: int | None = None
        self.code: str | None = None
        self.name: str | None = None
        self.manager = False
        self._locale: str | None = None

    # -- Slack profile -------------------------------------------------------------------
    def _profile(self) -> tuple[str | None, str | None]:
        """(e-mail, locale) from users.info, once per request; (None, None) when Slack fails."""
        if not self._fetched:
            self._fetched = True
            self._email: str | None = None
            try:
                user = self.client.users_info(user=self.user_id, include_locale=True)["user"]
            except SlackApiError as error:
                log.warning("users.info %s failed: %s", self.user_id, error.response.get("error"))
                return None, None
            self._email = (user.get("profile") or {}).get("email")
            self._slack_locale = user.get("locale")
        return self._email, self._slack_locale

    # -- resolution ----------------------------------------------------------------------
    def resolve(self, session: Session | None = None) -> Collaborator | None:
        """Find (or link) the collaborateur; raises NotLinked for an unknown Slack user.

        With `session`, the lookup joins the caller's unit of work (one transaction per
        request) and the collaborateur of that session is returned.
        """
        if self._resolved:
            if self._error is not None:
                raise self._error
            return None
        self._resolved = True
        try:
            if session is not None:
                return self._load(session)
            try:
                with self.deps.db.session() as own:
                    self._load(own)
            except IntegrityError:  # linked concurrently by a parallel request: read again
                with self.deps.db.session() as own:
                    self._load(own)
        except DomainError as error:
            self._error = error
            raise
        return None

    def _load(self, session: Session) -> Collaborator:
        collaborator = collaborator_for_slack_user(
            session, self.user_id, lambda: self._profile()[0]
        )
        if not collaborator.locale:
            locale = self._profile()[1]
            if locale:
                collaborator.locale = locale[:10]
        self.collaborator_id = collaborator.id
        self.code = collaborator.code
        self.name = collaborator.name
        self.manager = collaborator.manager
        self._locale = collaborator.locale
        return collaborator

    @property
    def linked(self) -> bool:
        try:
            self.resolve()
        except NotLinked:
            return False
        return True

    def actor(self, session: Session) -> Actor:
        """The domain Actor of this user, bound to `session` (raises NotLinked).

        Call it before `t` in a request: the first call resolves the user inside `session`.
        """
        collaborator = self.resolve(session) or session.get(Collaborator, self.collaborator_id)
        if collaborator is None:  # removed between two requests
            raise NotLinked(_("Your collaborateur was removed: ask an administrator."), "user")
        return Actor(source=Source.SLACK, collaborator=collaborator)

    # -- language ------------------------------------------------------------------------
    @property
    def locale(self) -> str:
        """'fr' or 'en': the user's Slack locale first, DITBOT_LOCALE otherwise."""
        try:
            self.resolve()
        except DomainError:
            pass
        raw = self._locale or self._slack_locale
        return normalize_locale(raw, self.deps.settings.locale)

    @property
    def t(self) -> Translator:
        return Translator(self.locale)


def ack_at_once(ack: Ack, next: Callable[[], Any]) -> Any:
    """Listener middleware: ack in the HTTP thread, before the listener is even scheduled.

    With `process_before_response=False` bolt runs the listener (which normally calls ack())
    on its thread pool and polls for the ack; under load the listener waits in the pool's
    queue and so does Slack's answer. Acking here answers at once; the listener then works
    (views.open, respond...) on the pool. Use it for listeners whose ack carries nothing:
    slash commands, buttons and menus, shortcuts (not view_submission, not options).
    """
    ack()
    return next()


def who_middleware(deps: Deps) -> Callable[..., Any]:
    """Global middleware: `context["who"]` for every request that names a user."""

    def middleware(body: dict[str, Any], context: BoltContext, next: Callable[[], Any]) -> Any:
        context["default_locale"] = deps.settings.locale
        user_id = user_id_of(body)
        if user_id and context.client is not None:
            context["who"] = Who(deps, user_id, context.client)
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

    def _maybe_purge(self, session: Any) -> None:
        with self._lock:
            self._count += 1
            due = self._count % self.PURGE_EVERY == 1
        if due:
            from datetime import timedelta

            cutoff = utcnow() - timedelta(seconds=self.KEEP_SECONDS)
            session.execute(delete(ProcessedEvent).where(ProcessedEvent.received_at < cutoff))

    def middleware(self) -> Callable[..., Any]:
        def middleware(body: dict[str, Any], next: Callable[[], Any]) -> Any:
            if body.get("type") == "event_callback" and body.get("event_id"):
                if not self.first_time(str(body["event_id"])):
                    log.info("event %s already processed: acked, skipped", body["event_id"])
                    return BoltResponse(status=200, body="")
            return next()

        return middleware
