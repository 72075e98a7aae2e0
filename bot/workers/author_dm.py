"""The outbox worker of kind `slack_dm`: direct messages of the mail feature.

- `mail_failed`: tells the author that their mail was not delivered, with the reason;
- `draft_kept`: tells a user that the mail they closed was kept as a draft (resume/discard).

The message is built at delivery time from the database, so a DM about a draft that was sent
or discarded meanwhile is simply dropped. Slack hiccups (5xx, connection errors, 429) are
retried with backoff; errors that retrying cannot fix (unknown user, revoked token) fail the
item and are kept in the outbox for `ditbot doctor`.
"""

from __future__ import annotations

import http.client
import logging
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.views import mail as views
from ditbot.core.context import Context
from ditbot.core.i18n import Translator, normalize_locale
from ditbot.delivery.backoff import Backoff
from ditbot.delivery.dispatcher import owner_id, record_despite_outage
from storage import outbox
from storage import repositories as repo
from storage.models import Collaborator, Draft, Exchange
from storage.vocabulary import OutboxKind

log = logging.getLogger(__name__)
# Slack errors that no retry can fix.
PERMANENT = {
    "account_inactive",
    "cannot_dm_bot",
    "channel_not_found",
    "invalid_auth",
    "is_archived",
    "missing_scope",
    "not_authed",
    "not_in_channel",
    "restricted_action",
    "token_revoked",
    "user_disabled",
    "user_not_found",
    "invalid_blocks",
    "invalid_arguments",
    "msg_too_long",
    "no_text",
}


class SlackDmWorker:
    name = OutboxKind.SLACK_DM

    def __init__(
        self,
        ctx: Context,
        client: WebClient,
        *,
        backoff: Backoff | None = None,
        lease_seconds: float = 60.0,
        owner: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.client = client
        self.backoff = backoff or Backoff(base=5.0, cap=600.0, max_attempts=10)
        self.lease_seconds = lease_seconds
        self.owner = owner or owner_id()

    def run_once(self) -> bool:
        with self.ctx.db.session() as session:
            items = outbox.claim(
                session,
                [OutboxKind.SLACK_DM],
                self.owner,
                lease_seconds=self.lease_seconds,
                limit=1,
            )
            claimed = [(item.id, dict(item.payload), item.attempts) for item in items]
        for item_id, payload, attempts in claimed:
            self.deliver(item_id, payload, attempts)
        return bool(claimed)

    def deliver(self, item_id: int, payload: dict[str, Any], attempts: int) -> None:
        # Our lease lasts lease_seconds from the claim: record the outcome before it ends.
        until = time.monotonic() + self.lease_seconds * 0.8
        with self.ctx.db.session() as session:
            message = self._message(session, payload)
        if message is None:
            with self.ctx.db.session() as session:
                outbox.mark_done(session, item_id)
            return
        try:
            self.client.chat_postMessage(channel=payload["user"], parse="none", **message)
        except SlackApiError as error:
            code = str(error.response.get("error") or "")
            status = error.response.status_code
            reason = f"Slack {status} {code}".strip()
            if code in PERMANENT:
                self._finish(item_id, reason, failed=True)
            elif status == 429:
                wait = float(error.response.headers.get("Retry-After", "1") or 1)
                self._retry(item_id, reason, attempts, minimum=wait)
            else:
                self._retry(item_id, reason, attempts)
            return
        except (OSError, http.client.HTTPException) as error:
            self._retry(item_id, f"{type(error).__name__}: {error}", attempts)
            return
        # Slack took the DM: record it through a database hiccup, or it would be sent twice.
        record_despite_outage(
            lambda: self._finish(item_id, None, failed=False), until=until, what="Slack DM sent"
        )

    def _message(self, session: Any, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The text and blocks of the DM, or None when it no longer applies."""
        user = repo.collaborator_by_slack_id(session, str(payload.get("user") or ""))
        t = Translator(self._locale(user))
        if payload.get("reason") == "mail_failed":
            exchange = session.get(Exchange, int(payload.get("exchange_id", 0)))
            if exchange is None:
                return None
            return views.mail_failed_message(t, exchange)
        if payload.get("reason") == "draft_kept":
            draft = session.get(Draft, int(payload.get("draft_id", 0)))
            if draft is None or user is None or draft.collaborator_id != user.id:
                return None  # sent or discarded meanwhile
            return views.draft_kept_message(t, draft)
        log.warning("unknown slack_dm payload %r: dropped", payload)
        return None

    def _locale(self, user: Collaborator | None) -> str:
        return normalize_locale(user.locale if user else None, self.ctx.settings.locale)

    def _retry(self, item_id: int, reason: str, attempts: int, minimum: float = 0.0) -> None:
        attempt = attempts + 1
        if self.backoff.exhausted(attempt):
            self._finish(item_id, reason, failed=True)
            return
        delay = max(minimum, self.backoff.delay(attempt))
        with self.ctx.db.session() as session:
            outbox.retry_later(session, item_id, reason, delay)
        log.info("Slack DM %s not delivered (%s); retry in %.1fs", item_id, reason, delay)

    def _finish(self, item_id: int, reason: str | None, *, failed: bool) -> None:
        with self.ctx.db.session() as session:
            if failed:
                outbox.mark_failed(session, item_id, reason or "failed")
                log.warning("Slack DM %s given up: %s", item_id, reason)
            else:
                outbox.mark_done(session, item_id)
