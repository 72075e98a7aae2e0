"""Delivery through a database outage: the real Dispatcher keeps going, logs without flooding,
and delivers what was queued once the database is back, once.

Real MailWorker against aiosmtpd, real NotificationWorker against the Slack fake. The waits
are on conditions (log records, received mails, recorded calls) with timeouts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.workers.notifications import NotificationWorker
from ditbot.core.context import Context
from ditbot.delivery.backoff import Backoff
from ditbot.delivery.dispatcher import Dispatcher
from ditbot.domain.exchanges import Actor
from ditbot.domain.mail import MailInput, send_mail
from ditbot.domain.portal import PortalMessage, post_message
from ditbot.mail.smtp import SmtpSender
from ditbot.mail.worker import MailWorker
from ditbot.playground.slack_api import Call, FakeSlack
from storage import repositories as repo
from storage.models import Exchange, OutboxItem
from tests.mail.smtp_server import SmtpServer
from tests.outages.conftest import Records, wait_until
from tests.outages.outage import Outage

PORTAL = "CPORTAL"


def queue_mail(ctx: Context, detail: str = "Bonjour, passage jeudi à 9 h.") -> int:
    with ctx.db.session() as session:
        author = repo.collaborator_by_code(session, "JDU")
        exchange, _created = send_mail(
            session,
            "DIT-2026-0001",
            MailInput(detail=detail),
            Actor(source="slack", collaborator=author),
            mail_from=ctx.settings.mail_from,
        )
        return exchange.id


def queue_portal_message(ctx: Context, message_id: str = "m1") -> int:
    with ctx.db.session() as session:
        exchange, _created = post_message(
            session,
            PortalMessage(
                dit="DIT-2026-0001",
                contact="ACME-PM",
                detail="Le voyant clignote encore.",
                message_id=message_id,
            ),
            window_days=7,
            relance_after_hours=24,
        )
        return exchange.id


def mail_status(ctx: Context, exchange_id: int) -> str | None:
    with ctx.db.session() as session:
        exchange = session.get(Exchange, exchange_id)
        return exchange.mail_status if exchange is not None else None


def outbox_statuses(ctx: Context) -> list[str]:
    with ctx.db.session() as session:
        return list(session.scalars(select(OutboxItem.status).order_by(OutboxItem.id)))


def mail_worker(ctx: Context, lease_seconds: float = 30.0) -> MailWorker:
    sender = SmtpSender.from_settings(ctx.settings, timeout=5.0)
    backoff = Backoff(base=0.05, cap=0.2, max_attempts=4)
    return MailWorker(ctx, sender=sender, backoff=backoff, lease_seconds=lease_seconds)


@pytest.fixture
def channel_fake() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_channel(PORTAL, name="dispatch")
        yield fake


def notification_worker(ctx: Context, fake: FakeSlack, **kwargs: Any) -> NotificationWorker:
    assert ctx.settings.channel_portal == PORTAL  # tests/outages/conftest.py `env`
    client = WebClient(token="xoxb-test-token", base_url=fake.base_url, retry_handlers=[])
    return NotificationWorker(ctx, client, pace_seconds=0.0, backoff_base=0.05, **kwargs)


def posts(fake: FakeSlack) -> list[Call]:
    return [c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == PORTAL]


def test_the_dispatcher_rides_out_an_outage_then_delivers_the_queued_mail_and_notification(
    ctx: Context,
    seeded: Any,
    outage: Outage,
    smtp: SmtpServer,
    channel_fake: FakeSlack,
    records: Records,
) -> None:
    mail_id = queue_mail(ctx)
    queue_portal_message(ctx)
    outage.cut()
    workers = [mail_worker(ctx), notification_worker(ctx, channel_fake)]
    dispatcher = Dispatcher(workers, idle_seconds=0.02, max_backoff=0.05).start()
    try:
        retried = lambda: len(records.of("ditbot.delivery.dispatcher", logging.DEBUG)) >= 10  # noqa: E731
        wait_until(retried, what="the workers to try again during the outage")
        assert dispatcher.running
        assert smtp.received == [] and posts(channel_fake) == []

        outage.restore()
        [received] = smtp.wait_for(1)
        assert "Bonjour, passage jeudi à 9 h." in received.part("plain")
        channel_fake.wait_for("chat.postMessage", predicate=lambda c: c.args["channel"] == PORTAL)
        wait_until(lambda: mail_status(ctx, mail_id) == "sent", what="the mail to be sent")
        wait_until(lambda: set(outbox_statuses(ctx)) == {"done"}, what="an empty outbox")
        assert dispatcher.running
    finally:
        dispatcher.stop()

    assert len(smtp.received) == 1 and len(posts(channel_fake)) == 1
    # One warning per worker for the whole outage, one line each, no traceback; the many
    # retries are at debug level; one line when each worker works again.
    warnings = records.of("ditbot.delivery.dispatcher", logging.WARNING)
    assert sorted(w.getMessage().split(":")[0] for w in warnings) == [
        "outbox worker mail",
        "outbox worker notifications",
    ]
    for warning in warnings:
        assert "database does not answer" in warning.getMessage()
        assert warning.exc_info is None and "\n" not in warning.getMessage()
    assert records.of("ditbot.delivery.dispatcher", logging.ERROR) == []
    back = [r.getMessage() for r in records.of("ditbot.delivery.dispatcher", logging.INFO)]
    assert sum("working again" in line for line in back) == 2


def test_a_mail_accepted_as_the_database_goes_down_is_recorded_later_and_sent_once(
    ctx: Context, seeded: Any, outage: Outage, smtp: SmtpServer, records: Records
) -> None:
    mail_id = queue_mail(ctx)
    accept = smtp._accept

    def accept_then_cut(envelope: Any) -> None:  # the server says 250, the database dies
        accept(envelope)
        outage.cut()

    smtp._accept = accept_then_cut  # type: ignore[method-assign]
    # A short lease: were the outcome not recorded, the mail would go again after 4 s.
    dispatcher = Dispatcher([mail_worker(ctx, lease_seconds=4.0)], idle_seconds=0.02).start()
    try:
        smtp.wait_for(1)
        smtp._accept = accept  # type: ignore[method-assign]
        warned = lambda: records.of("ditbot.delivery.dispatcher", logging.WARNING)  # noqa: E731
        wait_until(warned, what="the worker to meet the outage")
        outage.restore()
        wait_until(lambda: outbox_statuses(ctx) == ["done"], what="the outcome recorded")
    finally:
        dispatcher.stop()
    assert mail_status(ctx, mail_id) == "sent"
    assert len(smtp.received) == 1  # not sent again when the database came back
    # The worker waited for the database to record the outcome (it did not give the mail up).
    [warning] = warned()
    assert warning.getMessage().startswith(f"mail of exchange {mail_id}: sent: the database")
    assert records.of("ditbot.delivery.dispatcher", logging.ERROR) == []


def test_a_notification_posted_as_the_database_goes_down_is_posted_once(
    ctx: Context, seeded: Any, outage: Outage, records: Records
) -> None:
    queue_portal_message(ctx)
    cut: list[bool] = []

    def on_call(call: Call) -> None:  # Slack has the post; the database dies before we note it
        if call.method == "chat.postMessage" and not cut:
            cut.append(True)
            outage.cut()

    with FakeSlack(on_call=on_call) as fake:
        fake.add_channel(PORTAL, name="dispatch")
        worker = notification_worker(ctx, fake, lease_seconds=4.0)
        dispatcher = Dispatcher([worker], idle_seconds=0.02).start()
        try:
            warned = lambda: records.of("ditbot.delivery.dispatcher", logging.WARNING)  # noqa: E731
            wait_until(warned, what="the worker to meet the outage")
            outage.restore()
            wait_until(lambda: outbox_statuses(ctx) == ["done"], what="the outcome recorded")
        finally:
            dispatcher.stop()
        assert len(posts(fake)) == 1  # not posted again when the database came back
        [warning] = warned()
        assert warning.getMessage().startswith(f"thread of DIT-2026-0001 in {PORTAL}: the")
    with ctx.db.session() as session:
        dit = repo.dit_by_number(session, "DIT-2026-0001")
        assert dit is not None and repo.slack_thread(session, PORTAL, dit.id) is not None
