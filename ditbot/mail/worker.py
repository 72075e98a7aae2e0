"""The outbox worker of kind `mail`: deliver queued mails over SMTP, with retries.

One item at a time: claim it with a lease (a killed process's item is taken up again once the
lease expires), count the attempt and fix the Message-ID on the exchange (committed before
talking to the server, so a retry reuses it), send, then record the outcome:
- accepted: mail status `sent`;
- temporary failure (connection refused, timeout, 4xx): retried with exponential backoff,
  the last error kept on the exchange, until `max_attempts`;
- permanent failure (5xx) or retries exhausted: mail status `failed`, the server's reason on
  the exchange, and a Slack DM to the author enqueued in the same transaction.

If the database stops answering right after the server accepted the mail, the outcome is
recorded again and again while the item's lease holds
(ditbot.delivery.dispatcher.record_despite_outage), so the mail is not sent a second time
when the database comes back.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.orm import Session

from ditbot.core.context import Context
from ditbot.delivery.backoff import Backoff
from ditbot.delivery.dispatcher import owner_id, record_despite_outage
from ditbot.domain.mail import failure_notice
from ditbot.mail.compose import build, new_message_id
from ditbot.mail.render import TemplateProblem
from ditbot.mail.smtp import DeliveryFailed, SmtpSender
from storage import outbox
from storage.models import Exchange
from storage.outbox_payloads import MailDelivery
from storage.vocabulary import MailStatus, OutboxKind

log = logging.getLogger(__name__)


FINAL = (MailStatus.SENT, MailStatus.FAILED)  # a mail in these states is never sent again


class MailWorker:
    """Delivers outbox items of kind `mail` (see the module docstring)."""

    kind = OutboxKind.MAIL
    name = OutboxKind.MAIL

    def __init__(
        self,
        ctx: Context,
        *,
        sender: SmtpSender | None = None,
        backoff: Backoff | None = None,
        lease_seconds: float = 180.0,
        owner: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.sender = sender or SmtpSender.from_settings(ctx.settings)
        self.backoff = backoff or Backoff()
        # Must outlast one SMTP session (the sender's timeout applies per network operation).
        self.lease_seconds = max(lease_seconds, 1.0)
        self.owner = owner or owner_id()
        self._stopped = threading.Event()

    def stop(self) -> None:
        """Stop waiting for the database to record an outcome (the dispatcher is stopping)."""
        self._stopped.set()

    def run_once(self) -> bool:
        """Deliver at most one due mail; True when there was one."""
        # Our lease on the item lasts lease_seconds from the claim: record before it ends.
        until = time.monotonic() + self.lease_seconds * 0.8
        # Claim and prepare in one short transaction (SQLite has one writer at a time).
        with self.ctx.db.session() as session:
            items = outbox.claim(
                session, [self.kind], self.owner, lease_seconds=self.lease_seconds, limit=1
            )
            if not items:
                return False
            readable = outbox.load_or_fail(session, items, MailDelivery)
            if not readable:
                return True  # it was marked failed: nothing to send
            [(item, delivery)] = readable
            item_id, exchange_id = item.id, delivery.exchange_id
            prepared = self._prepare(session, item_id, exchange_id)
        if prepared is not None:
            exchange, attempt = prepared
            problem: DeliveryFailed | None = None
            try:
                outgoing = build(self.ctx.settings, exchange, exchange.mail_message_id or "")
            except (TemplateProblem, ValueError) as error:
                # A broken admin template or a missing DITBOT_MAIL_FROM: fixable, so retried.
                # A header no retry can write (a line break in a name or number stored before
                # the entry points refused them): failed at once, with the reason.
                problem = DeliveryFailed(str(error), permanent=_never_sendable(error))
            else:
                try:
                    self.sender.send(outgoing.message, outgoing.envelope_from, outgoing.recipients)
                except DeliveryFailed as error:
                    problem = error
            record_despite_outage(
                lambda: self._record(item_id, exchange_id, attempt, problem),
                until=until,
                stopped=self._stopped,
                what=f"mail of exchange {exchange_id}: {'sent' if problem is None else 'not sent'}",
            )
        return True

    def _prepare(
        self, session: Session, item_id: int, exchange_id: int
    ) -> tuple[Exchange, int] | None:
        """Count the attempt and fix the Message-ID; None when there is nothing to send."""
        exchange = session.get(Exchange, exchange_id)
        if exchange is None or exchange.deleted_at is not None:
            # Deleted before it went out (deletion is refused once an attempt was made).
            if exchange is not None and exchange.mail_status not in (
                MailStatus.SENT,
                MailStatus.FAILED,
            ):
                exchange.mail_status = MailStatus.FAILED
                exchange.mail_error = "not sent: the exchange was deleted before delivery"
            outbox.mark_done(session, item_id)
            return None
        if exchange.mail_status in FINAL:
            outbox.mark_done(session, item_id)  # a duplicate item: never a second mail
            return None
        if not exchange.mail_message_id:
            exchange.mail_message_id = new_message_id(self.ctx.settings, exchange.id)
        exchange.mail_attempts = (exchange.mail_attempts or 0) + 1
        return exchange, exchange.mail_attempts

    def _record(
        self, item_id: int, exchange_id: int, attempt: int, problem: DeliveryFailed | None
    ) -> None:
        told = False
        with self.ctx.db.session() as session:
            exchange = session.get(Exchange, exchange_id)
            if exchange is None:
                outbox.mark_done(session, item_id)
                return
            if problem is None:
                exchange.mail_status = MailStatus.SENT
                exchange.mail_error = None
                outbox.mark_done(session, item_id)
                log.info("mail of exchange %s sent (attempt %s)", exchange_id, attempt)
                return
            exchange.mail_error = problem.reason[:2000]
            if problem.permanent or self.backoff.exhausted(attempt):
                exchange.mail_status = MailStatus.FAILED
                outbox.mark_failed(session, item_id, problem.reason)
                failure_notice(session, exchange)
                told = True
                log.warning("mail of exchange %s failed: %s", exchange_id, problem.reason)
            else:
                delay = self.backoff.delay(attempt)
                outbox.retry_later(session, item_id, problem.reason, delay)
                log.info(
                    "mail of exchange %s not sent (%s); retry in %.1fs",
                    exchange_id,
                    problem.reason,
                    delay,
                )
        if told:
            self.ctx.wake_delivery()


def _never_sendable(error: Exception) -> bool:
    """True for the email package's refusal of a header value or an address part with CR or
    LF in it, which the same data meets on every attempt. The package has no exception class
    of its own for it, only these ValueErrors' texts (email/policy.py, email/headerregistry.py).
    """
    text = str(error).lower()
    return not isinstance(error, TemplateProblem) and (
        "header values may not" in text or "cannot contain cr or lf" in text
    )
