"""The outbox worker of kind `unmatched_mail`: post a mail no DIT was found for, for triage.

The post goes to the dispatch channel (DITBOT_CHANNEL_PORTAL) with "Attach to a DIT" and
"Dismiss" buttons (bot/handlers/inbound.py). It is built at delivery time: a mail already
handled meanwhile is not posted. Without a dispatch channel nothing is posted (the mail stays
kept). Slack hiccups are retried with backoff; errors no retry can fix fail the item.
"""

from __future__ import annotations

import http.client
import logging
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.views.inbound import unmatched_message
from bot.workers.slack_refusals import PERMANENT
from ditbot.core.context import Context
from ditbot.core.i18n import Translator
from ditbot.delivery.backoff import Backoff
from ditbot.delivery.dispatcher import owner_id, record_despite_outage
from storage import outbox
from storage.models import InboundMail
from storage.outbox_payloads import UnmatchedMail
from storage.vocabulary import InboundStatus, OutboxKind

log = logging.getLogger(__name__)


class UnmatchedMailWorker:
    kind = OutboxKind.UNMATCHED_MAIL
    name = OutboxKind.UNMATCHED_MAIL

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
        """Post at most one unmatched mail; True when there was one."""
        until = time.monotonic() + self.lease_seconds * 0.8
        channel = self.ctx.settings.channel_portal
        with self.ctx.db.session() as session:
            items = outbox.claim(
                session, [self.kind], self.owner, lease_seconds=self.lease_seconds, limit=1
            )
            if not items:
                return False
            readable = outbox.load_or_fail(session, items, UnmatchedMail)
            if not readable:
                return True
            [(item, notice)] = readable
            item_id, attempts = item.id, item.attempts
            row = session.get(InboundMail, notice.inbound_id)
            if channel is None or row is None or row.status != InboundStatus.UNMATCHED:
                outbox.mark_done(session, item_id)
                return True
            message = unmatched_message(Translator(self.ctx.settings.locale), row)
        try:
            self.client.chat_postMessage(channel=channel, parse="none", **message)
        except SlackApiError as error:
            code = str(error.response.get("error") or "")
            reason = f"Slack {error.response.status_code} {code}".strip()
            self._retry_or_fail(item_id, attempts, reason, permanent=code in PERMANENT)
            return True
        except (OSError, http.client.HTTPException) as error:
            self._retry_or_fail(item_id, attempts, f"{type(error).__name__}: {error}")
            return True

        def done() -> None:
            with self.ctx.db.session() as session:
                outbox.mark_done(session, item_id)

        record_despite_outage(done, until=until, what="unmatched mail posted")
        return True

    def _retry_or_fail(
        self, item_id: int, attempts: int, reason: str, *, permanent: bool = False
    ) -> None:
        attempt = attempts + 1
        with self.ctx.db.session() as session:
            if permanent or self.backoff.exhausted(attempt):
                outbox.mark_failed(session, item_id, reason)
                log.warning("unmatched mail post %s given up: %s", item_id, reason)
            else:
                outbox.retry_later(session, item_id, reason, self.backoff.delay(attempt))
