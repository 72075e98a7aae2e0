"""The outbox worker of kind `slack_dm`: direct messages of the mail feature (`AuthorDm`).

- `MailFailed`: tells the author that their mail was not delivered, with the reason;
- `DraftKept`: tells a user that the mail they closed was kept as a draft (resume/discard):
  one DM per draft, posted on the first close and updated in place (chat.update) on later
  ones, its channel and ts kept on the draft;
- `DraftGone`: that DM once the draft is emptied, discarded or sent (chat.update).

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
from sqlalchemy.orm import Session

from bot.views import mail as views
from bot.workers.slack_refusals import refusal_of
from ditbot.core.context import Context
from ditbot.core.i18n import Translator, normalize_locale
from ditbot.delivery.backoff import Backoff
from ditbot.delivery.dispatcher import owner_id, record_despite_outage
from storage import outbox
from storage import repositories as repo
from storage.models import Collaborator, Draft, Exchange
from storage.outbox_payloads import AuthorDm, DraftGone, DraftKept, MailFailed
from storage.vocabulary import OutboxKind

log = logging.getLogger(__name__)
# chat.update: the message to update no longer exists (deleted by the user, say).
GONE = {"message_not_found", "cant_update_message", "channel_not_found"}


class SlackDmWorker:
    """Delivers outbox items of kind `slack_dm` (see the module docstring)."""

    kind = OutboxKind.SLACK_DM
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
        """Deliver at most one due DM; True when there was one."""
        with self.ctx.db.session() as session:
            items = outbox.claim(
                session, [self.kind], self.owner, lease_seconds=self.lease_seconds, limit=1
            )
            claimed = [
                (item.id, dm, item.attempts)
                for item, dm in outbox.load_or_fail(session, items, AuthorDm)
            ]
        for item_id, dm, attempts in claimed:
            self.deliver(item_id, dm, attempts)
        return bool(items)

    def deliver(self, item_id: int, dm: AuthorDm, attempts: int) -> None:
        # Our lease lasts lease_seconds from the claim: record the outcome before it ends.
        until = time.monotonic() + self.lease_seconds * 0.8
        with self.ctx.db.session() as session:
            message = self._message(session, dm)
            target = self._target(session, dm)
        if message is None:
            with self.ctx.db.session() as session:
                outbox.mark_done(session, item_id)
            return
        posted: tuple[str, str] | None = None
        try:
            if target is not None and not self._update(target, message, dm):
                target = None  # the DM to update is gone: a new one is posted
            if target is None:
                answer = self.client.chat_postMessage(channel=dm.user, parse="none", **message)
                posted = (str(answer.get("channel") or dm.user), str(answer.get("ts") or ""))
        except SlackApiError as error:
            refused = refusal_of(error)
            if refused.permanent:
                self._finish(item_id, refused.reason, failed=True)
            else:
                self._retry(item_id, refused.reason, attempts, minimum=refused.wait)
            return
        except (OSError, http.client.HTTPException) as error:
            self._retry(item_id, f"{type(error).__name__}: {error}", attempts)
            return

        def record() -> None:
            self._finish(item_id, None, failed=False, dm=dm, posted=posted)

        # Slack took the DM: record it through a database hiccup, or it would be sent twice.
        record_despite_outage(record, until=until, what="Slack DM sent")

    def _update(self, target: tuple[str, str], message: dict[str, Any], dm: AuthorDm) -> bool:
        """chat.update of the DM `target`; False when that message no longer exists."""
        channel, ts = target
        try:
            self.client.chat_update(channel=channel, ts=ts, parse="none", **message)
        except SlackApiError as error:
            if str(error.response.get("error") or "") in GONE:
                return isinstance(dm, DraftGone)  # nothing left to update: done
            raise
        return True

    def _target(self, session: Session, dm: AuthorDm) -> tuple[str, str] | None:
        """The DM this one updates in place (the draft's one DM), or None to post one."""
        match dm:
            case DraftGone():
                return (dm.channel, dm.ts)
            case DraftKept():
                draft = session.get(Draft, dm.draft_id)
                if draft is not None and draft.dm_channel and draft.dm_ts:
                    return (draft.dm_channel, draft.dm_ts)
        return None

    def _message(self, session: Session, dm: AuthorDm) -> dict[str, Any] | None:
        """The text and blocks of the DM, or None when it no longer applies."""
        user = repo.collaborator_by_slack_id(session, dm.user)
        t = Translator(self._locale(user))
        match dm:
            case MailFailed():
                exchange = session.get(Exchange, dm.exchange_id)
                return None if exchange is None else views.mail_failed_message(t, exchange)
            case DraftKept():
                draft = session.get(Draft, dm.draft_id)
                if draft is None or user is None or draft.collaborator_id != user.id:
                    return None  # sent or discarded meanwhile (its DraftGone says so)
                return views.draft_kept_message(t, draft)
            case DraftGone():
                return views.draft_gone_message(t, dm.dit, dm.why)
        raise TypeError(f"no direct message is written for {type(dm).__name__}")

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

    def _finish(
        self,
        item_id: int,
        reason: str | None,
        *,
        failed: bool,
        dm: AuthorDm | None = None,
        posted: tuple[str, str] | None = None,
    ) -> None:
        with self.ctx.db.session() as session:
            if failed:
                outbox.mark_failed(session, item_id, reason or "failed")
                log.warning("Slack DM %s given up: %s", item_id, reason)
                return
            outbox.mark_done(session, item_id)
            if isinstance(dm, DraftKept) and posted is not None:
                draft = session.get(Draft, dm.draft_id)
                if draft is not None:  # later closes update this one DM
                    draft.dm_channel, draft.dm_ts = posted
