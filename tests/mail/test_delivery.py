"""Delivery through a real SMTP server: what the client receives, and every fault path."""

from __future__ import annotations

from email.utils import parseaddr, parsedate_to_datetime
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from bot.workers.author_dm import SlackDmWorker
from ditbot.core.context import Context
from ditbot.domain import drafts
from ditbot.domain.errors import ValidationFailed
from ditbot.domain.exchanges import Actor, delete_exchange
from ditbot.mail.worker import MailWorker
from ditbot.playground.slack_api import FakeSlack
from ditbot.portal.tokens import read_token
from storage import repositories as repo
from storage.models import Dit, Exchange, OutboxItem
from tests.factories import raw_outbox_row
from tests.mail.conftest import Sender, drive, exchange
from tests.mail.smtp_server import SmtpServer


def outbox_items(ctx: Context, kind: str) -> list[OutboxItem]:
    with ctx.db.session() as session:
        return list(session.scalars(select(OutboxItem).where(OutboxItem.kind == kind)))


def test_the_client_receives_a_complete_multipart_mail(
    mail_ctx: Context, worker: MailWorker, smtp: SmtpServer, queue_mail: Sender
) -> None:
    exchange_id = queue_mail(
        "Bonjour, la sonde est commandée.\nLe technicien repasse vendredi.",
        dit="DIT-2026-0003",
        author="MLE",
    )
    queued = exchange(mail_ctx, exchange_id)
    assert (queued.mail_status, queued.type_code, queued.direction) == (
        "queued",
        "courriel",
        "sent",
    )

    drive([worker], lambda: exchange(mail_ctx, exchange_id).mail_status == "sent")
    [received] = smtp.wait_for(1)
    message = received.message
    sent = exchange(mail_ctx, exchange_id)

    assert received.mail_from == "sav@sav.example"
    assert received.rcpt_tos == ["leon@boulangerie.example"]
    assert parseaddr(message["To"]) == ("Léon Lemaire", "leon@boulangerie.example")
    # From: the company's address with the collaborateur's name; Reply-To: the collaborateur.
    assert parseaddr(message["From"]) == ("Marc Lefèvre", "sav@sav.example")
    assert parseaddr(message["Reply-To"]) == ("Marc Lefèvre", "marc@sav.example")
    assert message["Subject"] == "[DIT-2026-0003] Chambre froide à 9 °C"
    # Non-ASCII headers travel RFC 2047-encoded; the raw message is plain ASCII.
    head = received.raw.split(b"\r\n\r\n", 1)[0]
    assert b"=?utf-8?" in head.lower()
    received.raw.decode("ascii")
    assert message["Message-ID"] == sent.mail_message_id
    assert sent.mail_message_id.endswith("@sav.example>")
    assert parsedate_to_datetime(message["Date"]) == sent.occurred_at.replace(microsecond=0)
    assert message.get_content_type() == "multipart/alternative"

    text, html = received.part("plain"), received.part("html")
    assert text.startswith("Bonjour Léon Lemaire,")
    assert "la sonde est commandée.\nLe technicien repasse vendredi." in text
    assert "Cordialement,\nMarc Lefèvre" in text and "<strong>Marc Lefèvre</strong>" in html
    portal = "http://localhost:3000/portal/"
    link = next(word for word in text.split() if word.startswith(portal))
    assert f'href="{link}"' in html
    token = read_token(mail_ctx.settings.portal_secret or "", link.removeprefix(portal))
    assert token is not None and (token.dit, token.contact) == ("DIT-2026-0003", "BOUL-LL")

    assert (sent.mail_status, sent.mail_attempts, sent.mail_error) == ("sent", 1, None)
    assert [i.status for i in outbox_items(mail_ctx, "mail")] == ["done"]


def test_smtp_down_then_up_goes_from_queued_to_sent_with_the_same_message_id(
    mail_ctx: Context, worker: MailWorker, smtp: SmtpServer, queue_mail: Sender
) -> None:
    smtp.stop()
    exchange_id = queue_mail()
    assert worker.run_once()
    waiting = exchange(mail_ctx, exchange_id)
    assert waiting.mail_status == "queued"
    assert waiting.mail_attempts == 1
    assert "connection refused" in (waiting.mail_error or "")
    first_id = waiting.mail_message_id

    smtp.start()
    drive([worker], lambda: exchange(mail_ctx, exchange_id).mail_status == "sent")
    [received] = smtp.wait_for(1)
    sent = exchange(mail_ctx, exchange_id)
    assert received.message["Message-ID"] == first_id == sent.mail_message_id
    assert sent.mail_attempts == 2 and sent.mail_error is None


def test_unknown_recipient_fails_at_once_and_tells_the_author(
    mail_ctx: Context,
    worker: MailWorker,
    dm_worker: SlackDmWorker,
    smtp: SmtpServer,
    slack: FakeSlack,
    queue_mail: Sender,
) -> None:
    smtp.fail("RCPT", 550, times=5)
    exchange_id = queue_mail(to="ACME-PM:2")
    drive([worker, dm_worker], lambda: bool(slack.calls_to("chat.postMessage")))

    failed = exchange(mail_ctx, exchange_id)
    assert failed.mail_status == "failed"
    assert failed.mail_attempts == 1
    assert failed.mail_error == "550 5.1.1 Recipient address rejected: User unknown"
    assert smtp.commands["RCPT"] == 1  # no retry storm
    assert not worker.run_once() and smtp.commands["RCPT"] == 1
    assert [i.status for i in outbox_items(mail_ctx, "mail")] == ["failed"]

    [dm] = slack.calls_to("chat.postMessage")
    assert dm.args["channel"] == "UJDU"
    text = dm.args["text"]
    assert "DIT-2026-0001" in text and "paul@acme.example" in text and "550" in text
    assert "n’a pas été envoyé" in text  # in the author's language (French)
    assert dm.args["blocks"][-1]["elements"][0]["value"] == "DIT-2026-0001"
    assert smtp.received == []


def test_temporary_refusal_is_retried_then_sent(
    mail_ctx: Context, worker: MailWorker, smtp: SmtpServer, queue_mail: Sender
) -> None:
    smtp.fail("RCPT", 451)
    exchange_id = queue_mail()
    drive([worker], lambda: exchange(mail_ctx, exchange_id).mail_status == "sent")
    assert len(smtp.wait_for(1)) == 1
    assert smtp.commands["RCPT"] == 2
    assert exchange(mail_ctx, exchange_id).mail_attempts == 2


def test_exhausted_retries_fail_and_tell_the_author(
    mail_ctx: Context,
    worker: MailWorker,
    dm_worker: SlackDmWorker,
    smtp: SmtpServer,
    slack: FakeSlack,
    queue_mail: Sender,
) -> None:
    smtp.fail("DATA", 451, times=10)
    exchange_id = queue_mail()
    drive([worker, dm_worker], lambda: bool(slack.calls_to("chat.postMessage")))
    failed = exchange(mail_ctx, exchange_id)
    assert (failed.mail_status, failed.mail_attempts) == ("failed", worker.backoff.max_attempts)
    assert failed.mail_error is not None and failed.mail_error.startswith("451")
    assert smtp.commands["DATA"] == worker.backoff.max_attempts


def test_the_failure_dm_survives_a_slack_hiccup(
    mail_ctx: Context,
    worker: MailWorker,
    dm_worker: SlackDmWorker,
    smtp: SmtpServer,
    slack: FakeSlack,
    queue_mail: Sender,
) -> None:
    slack.fail_next("chat.postMessage", 500, times=2)
    smtp.fail("RCPT", 550)
    queue_mail()
    drive([worker, dm_worker], lambda: bool(slack.calls_to("chat.postMessage", status=200)))
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [500, 500, 200]
    assert [i.status for i in outbox_items(mail_ctx, "slack_dm")] == ["done"]


def test_the_same_submission_twice_sends_one_mail(
    mail_ctx: Context, worker: MailWorker, smtp: SmtpServer, queue_mail: Sender
) -> None:
    first = queue_mail(key="mail:V123")
    second = queue_mail(key="mail:V123")
    assert first == second
    assert len(outbox_items(mail_ctx, "mail")) == 1
    drive([worker], lambda: exchange(mail_ctx, first).mail_status == "sent")
    assert not worker.run_once()
    assert len(smtp.received) == 1


def test_a_mail_deleted_before_its_first_attempt_is_not_sent(
    mail_ctx: Context, worker: MailWorker, smtp: SmtpServer, queue_mail: Sender
) -> None:
    exchange_id = queue_mail()
    with mail_ctx.db.session() as session:
        author = repo.collaborator_by_code(session, "JDU")
        delete_exchange(session, exchange_id, Actor(source="slack", collaborator=author))
    assert worker.run_once()
    assert not worker.run_once()
    assert smtp.commands["RCPT"] == 0 and smtp.received == []
    assert [i.status for i in outbox_items(mail_ctx, "mail")] == ["done"]
    assert exchange(mail_ctx, exchange_id).mail_status == "failed"


def test_a_mail_handed_to_the_server_can_no_longer_be_deleted(
    mail_ctx: Context, worker: MailWorker, queue_mail: Sender, seeded: dict[str, Any]
) -> None:
    import pytest

    from ditbot.domain.errors import NotAllowed

    exchange_id = queue_mail()
    drive([worker], lambda: exchange(mail_ctx, exchange_id).mail_status == "sent")
    with mail_ctx.db.session() as session:
        author = repo.collaborator_by_code(session, "JDU")
        with pytest.raises(NotAllowed):
            delete_exchange(session, exchange_id, Actor(source="slack", collaborator=author))


def test_a_subject_with_a_newline_goes_out_on_one_line(
    mail_ctx: Context, worker: MailWorker, smtp: SmtpServer, queue_mail: Sender
) -> None:
    # A subject stored before the entry points refused line breaks may hold a newline; the
    # email package refuses such a header, which used to fail every attempt of the mail.
    exchange_id = queue_mail(subject="Sonde")
    with mail_ctx.db.session() as session:
        session.execute(
            update(Exchange)
            .where(Exchange.id == exchange_id)
            .values(subject="Sonde\nBcc: spy@evil.example")
        )

    drive([worker], lambda: exchange(mail_ctx, exchange_id).mail_status == "sent")
    [received] = smtp.wait_for(1)

    assert received.message["Subject"] == "Sonde Bcc: spy@evil.example"
    assert received.message["Bcc"] is None
    assert len(received.rcpt_tos) == 1


def test_a_subject_with_a_newline_is_refused_when_the_mail_is_written(
    mail_ctx: Context, queue_mail: Sender
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        queue_mail(subject="Sonde\nBcc: spy@evil.example")
    assert "subject" in refused.value.errors
    assert outbox_items(mail_ctx, "mail") == []


def test_a_mail_whose_headers_can_never_be_written_fails_at_once_with_the_reason(
    mail_ctx: Context,
    worker: MailWorker,
    dm_worker: SlackDmWorker,
    smtp: SmtpServer,
    slack: FakeSlack,
    queue_mail: Sender,
) -> None:
    """A DIT number with CR/LF (stored before ditbot refused them) left the mail `queued`
    forever with "Header values may not contain linefeed"."""
    exchange_id = queue_mail()
    with mail_ctx.db.session() as session:
        session.execute(
            update(Dit).where(Dit.number == "DIT-2026-0001").values(number="DIT-2026-0001\r\nX")
        )
    drive([worker, dm_worker], lambda: bool(slack.calls_to("chat.postMessage")))

    failed = exchange(mail_ctx, exchange_id)
    assert failed.mail_status == "failed"
    assert failed.mail_attempts == 1
    assert "linefeed" in (failed.mail_error or "")
    assert [i.status for i in outbox_items(mail_ctx, "mail")] == ["failed"]
    assert smtp.received == []
    assert not worker.run_once()  # nothing left to retry


def test_items_written_by_the_previous_version_are_delivered(
    mail_ctx: Context,
    worker: MailWorker,
    dm_worker: SlackDmWorker,
    smtp: SmtpServer,
    slack: FakeSlack,
    queue_mail: Sender,
) -> None:
    exchange_id = queue_mail()
    with mail_ctx.db.session() as session:
        session.execute(delete(OutboxItem))  # replaced by the rows the previous version wrote
        jeanne = repo.collaborator_by_code(session, "JDU")
        assert jeanne is not None
        draft = drafts.save_draft(
            session, jeanne, "DIT-2026-0002", to=None, subject=None, detail="À reprendre"
        )
        raw_outbox_row(session, "mail", {"exchange_id": exchange_id, "dit": "DIT-2026-0001"})
        raw_outbox_row(
            session,
            "slack_dm",
            {"reason": "mail_failed", "user": "UJDU", "exchange_id": exchange_id},
        )
        raw_outbox_row(
            session, "slack_dm", {"reason": "draft_kept", "user": "UJDU", "draft_id": draft.id}
        )
    drive(
        [worker, dm_worker],
        lambda: (
            {i.status for i in outbox_items(mail_ctx, "mail")} == {"done"}
            and len([c for c in slack.calls_to("chat.postMessage") if c.ok]) == 2
        ),
    )
    [received] = smtp.wait_for(1)
    assert received.rcpt_tos == ["p.martin@acme.example"]
    assert exchange(mail_ctx, exchange_id).mail_status == "sent"
    # Two DMs to one user within a second: Slack (and the fake) answer the second with 429,
    # and the worker sends it again after Retry-After.
    failed, kept = [c for c in slack.calls_to("chat.postMessage") if c.ok]
    assert failed.args["channel"] == kept.args["channel"] == "UJDU"
    assert "n’a pas été envoyé" in failed.args["text"]
    assert "gardé en brouillon" in kept.args["text"] and "DIT-2026-0002" in kept.args["text"]
    assert [i.status for i in outbox_items(mail_ctx, "slack_dm")] == ["done", "done"]


def test_an_unreadable_item_is_failed_with_the_reason_and_the_next_one_goes_out(
    mail_ctx: Context,
    worker: MailWorker,
    dm_worker: SlackDmWorker,
    smtp: SmtpServer,
    slack: FakeSlack,
    queue_mail: Sender,
) -> None:
    with mail_ctx.db.session() as session:
        raw_outbox_row(session, "mail", {"dit": "DIT-2026-0001"})
        raw_outbox_row(session, "slack_dm", {"reason": "birthday", "user": "UJDU"})
    smtp.fail("RCPT", 550)  # the good mail fails, so a good DM follows the bad one
    exchange_id = queue_mail()
    drive([worker, dm_worker], lambda: bool(slack.calls_to("chat.postMessage")))

    bad_mail, good_mail = outbox_items(mail_ctx, "mail")
    assert (bad_mail.status, good_mail.status) == ("failed", "failed")
    assert bad_mail.last_error is not None
    assert "not a mail payload (exchange_id: Field required)" in bad_mail.last_error
    assert exchange(mail_ctx, exchange_id).mail_error is not None  # the good one was tried
    bad_dm, good_dm = outbox_items(mail_ctx, "slack_dm")
    assert (bad_dm.status, good_dm.status) == ("failed", "done")
    assert bad_dm.last_error is not None and "'birthday'" in bad_dm.last_error
    [dm] = slack.calls_to("chat.postMessage")
    assert dm.args["channel"] == "UJDU"
