"""The IMAP collector against a real Dovecot: what the mailbox and the DITs end up with."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ditbot.core.context import Context
from ditbot.mail.collector import (
    ERROR_FLAG,
    NETWORK_ERRORS,
    Mailbox,
    MailboxProblem,
    MailCollector,
    count_waiting,
)
from ditbot.mail.inbound.pipeline import Outcome, TemporaryFailure, receive
from storage.db import Database
from storage.models import Exchange, InboundMail
from tests.mail.conftest import wait_until
from tests.mail.dovecot import PASSWORD, USER, Dovecot
from tests.mail.inbound.conftest import Raw, SentMail, fixture_bytes

SEEN = b"\\Seen"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot().start()
    yield server
    server.stop()


def mailbox_of(server: Dovecot, **changes: object) -> Mailbox:
    base = Mailbox(
        host="127.0.0.1",
        port=server.port,
        security="none",
        username=USER,
        password=PASSWORD,
        folder="INBOX",
        move_to=None,
        poll_seconds=30.0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def count(ctx: Context, model: type[object]) -> int:
    with ctx.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def mail_exchanges(ctx: Context) -> list[Exchange]:
    with ctx.db.session() as session:
        return list(session.scalars(select(Exchange).where(Exchange.source == "mail")))


def reply(sent: SentMail, n: int) -> bytes:
    message = EmailMessage()
    message["From"] = "Paul Martin <p.martin@acme.example>"
    message["To"] = sent.reply_to
    message["Subject"] = "Re: [DIT-2026-0001] Copieur en panne"
    message["Message-ID"] = make_msgid(idstring=f"r{n}", domain="acme.example")
    message["In-Reply-To"] = sent.message_id
    message.set_content(f"Réponse numéro {n}.")
    return message.as_bytes()


def test_a_round_takes_each_waiting_message_once_and_flags_it(
    mail_ctx: Context, dovecot: Dovecot, raw: Raw
) -> None:
    for name in ("thunderbird_reply.eml", "unmatched.eml", "out_of_office.eml"):
        dovecot.append(raw(name))
    dovecot.append(fixture_bytes("malformed.eml"))  # set aside; the rest goes on
    collector = MailCollector(mail_ctx, mailbox=mailbox_of(dovecot))
    try:
        assert collector.collect_once() == 4
        assert collector.collect_once() == 0  # flagged: never read twice
    finally:
        collector.stop()
    assert [flags for _, flags in dovecot.messages()] == [{SEEN}] * 4
    assert [e.detail.split(",")[0] for e in mail_exchanges(mail_ctx)] == ["Bonjour Jeanne"]
    with mail_ctx.db.session() as session:
        statuses = sorted(session.scalars(select(InboundMail.status)))
    assert statuses == ["auto_reply", "recorded", "rejected", "unmatched"]


def test_handled_messages_are_moved_when_a_folder_is_set(
    mail_ctx: Context, dovecot: Dovecot, raw: Raw
) -> None:
    dovecot.append(raw("gmail_reply.eml"))
    dovecot.append(raw("windows1252.eml"))
    collector = MailCollector(mail_ctx, mailbox=mailbox_of(dovecot, move_to="Traités"))
    try:
        assert collector.collect_once() == 2
    finally:
        collector.stop()
    assert dovecot.messages("INBOX") == []
    assert len(dovecot.messages("Traités")) == 2
    assert len(mail_exchanges(mail_ctx)) == 2


def test_new_mail_wakes_the_collector_in_idle(
    mail_ctx: Context, dovecot: Dovecot, sent: SentMail
) -> None:
    collector = MailCollector(mail_ctx, mailbox=mailbox_of(dovecot, poll_seconds=60.0)).start()
    try:
        wait_until(lambda: collector.idling)  # the server said "+ idling"
        started = time.monotonic()
        dovecot.append(reply(sent, 1))
        wait_until(lambda: len(mail_exchanges(mail_ctx)) == 1, timeout=15)
        assert time.monotonic() - started < 10  # woken by IDLE, not the 60 s poll
    finally:
        collector.stop()


def test_stop_cuts_a_wait_in_idle_at_once(mail_ctx: Context, dovecot: Dovecot) -> None:
    """`ditbot serve` stopping does not wait for the server to say anything."""
    collector = MailCollector(mail_ctx, mailbox=mailbox_of(dovecot, poll_seconds=60.0)).start()
    try:
        wait_until(lambda: collector.idling)
    finally:
        started = time.monotonic()
        collector.stop()
        stopped_in = time.monotonic() - started
    assert not collector.running
    assert stopped_in < 0.5, f"stopped in {stopped_in:.2f} s"  # IDLE_SLICE is 5 s
    # What it leaves is a mailbox as it was: the next collector reads it as usual.
    dovecot.append(fixture_bytes("malformed.eml"))
    again = MailCollector(mail_ctx, mailbox=mailbox_of(dovecot))
    try:
        assert again.collect_once() == 1
    finally:
        again.stop()


def test_without_idle_the_collector_polls(mail_ctx: Context, sent: SentMail) -> None:
    server = Dovecot(idle=False).start()
    try:
        collector = MailCollector(mail_ctx, mailbox=mailbox_of(server, poll_seconds=0.5)).start()
        try:
            wait_until(lambda: collector.rounds >= 1)
            server.append(reply(sent, 1))
            wait_until(lambda: len(mail_exchanges(mail_ctx)) == 1, timeout=15)
        finally:
            collector.stop()
    finally:
        server.stop()


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_starttls_and_imaps(mail_ctx: Context, sent: SentMail, security: str) -> None:
    server = Dovecot(tls=True).start()
    try:
        server.append(reply(sent, 1))
        port = server.tls_port if security == "tls" else server.port
        mailbox = mailbox_of(server, security=security, port=port)
        collector = MailCollector(mail_ctx, mailbox=mailbox, ssl_context=server.client_context)
        try:
            assert collector.collect_once() == 1
        finally:
            collector.stop()
        # Without the server's authority the certificate is refused: no mail read in clear.
        with pytest.raises(NETWORK_ERRORS):
            count_waiting(mailbox)
    finally:
        server.stop()


def test_a_wrong_password_or_folder_is_named(mail_ctx: Context, dovecot: Dovecot) -> None:
    # The folder first: after a refused login Dovecot slows the next logins from that address.
    with pytest.raises(MailboxProblem, match="folder 'Nulle-part' cannot be opened"):
        count_waiting(replace(mailbox_of(dovecot), folder="Nulle-part"))
    with pytest.raises(MailboxProblem, match="login refused for sav"):
        count_waiting(replace(mailbox_of(dovecot), password="wrong"))


def test_a_connection_cut_after_recording_leaves_nothing_twice(
    mail_ctx: Context, dovecot: Dovecot, sent: SentMail
) -> None:
    for n in range(3):
        dovecot.append(reply(sent, n))
    taken: list[int] = []

    def take_then_cut(raw: bytes) -> Outcome:
        outcome = receive(mail_ctx, raw)
        taken.append(1)
        if len(taken) == 2:
            dovecot.kick()  # recorded, not yet flagged: the connection drops now
        return outcome

    collector = MailCollector(mail_ctx, mailbox=mailbox_of(dovecot), take=take_then_cut)
    try:
        with pytest.raises(NETWORK_ERRORS):
            collector.collect_once()
        collector._disconnect()
        collector.collect_once()  # a new connection: the second is a duplicate, then flagged
    finally:
        collector.stop()
    assert len(mail_exchanges(mail_ctx)) == 3
    assert count(mail_ctx, InboundMail) == 3
    assert [flags for _, flags in dovecot.messages()] == [{SEEN}] * 3


def test_the_database_down_while_mail_arrives_loses_nothing(
    mail_ctx: Context, dovecot: Dovecot, sent: SentMail
) -> None:
    dovecot.append(reply(sent, 1))
    down = Context(
        settings=mail_ctx.settings, db=Database("postgresql+psycopg://postgres@127.0.0.1:1/x")
    )
    collector = MailCollector(down, mailbox=mailbox_of(dovecot))
    try:
        with pytest.raises(TemporaryFailure):
            collector.collect_once()
    finally:
        collector.stop()
        down.db.dispose()
    assert [flags for _, flags in dovecot.messages()] == [set()]  # left for the next round
    collector = MailCollector(mail_ctx, mailbox=mailbox_of(dovecot))
    try:
        assert collector.collect_once() == 1
    finally:
        collector.stop()
    assert len(mail_exchanges(mail_ctx)) == 1


def test_a_message_that_breaks_the_pipeline_is_flagged_and_the_rest_goes_on(
    mail_ctx: Context, dovecot: Dovecot, sent: SentMail
) -> None:
    dovecot.append(reply(sent, 1))
    dovecot.append(reply(sent, 2))

    def take(raw: bytes) -> Outcome:
        if b"num=C3=A9ro 1" in raw or "numéro 1".encode() in raw:
            raise RuntimeError("a bug")
        return receive(mail_ctx, raw)

    collector = MailCollector(mail_ctx, mailbox=mailbox_of(dovecot), take=take)
    try:
        assert collector.collect_once() == 1
        assert collector.collect_once() == 0  # not retried in a loop
    finally:
        collector.stop()
    flags = [f for _, f in dovecot.messages()]
    assert flags == [{ERROR_FLAG}, {SEEN}]
    assert len(mail_exchanges(mail_ctx)) == 1


@pytest.mark.parametrize("when", ["before-commit", "after-commit"])
def test_kill_9_during_processing_ends_in_exactly_one_exchange(
    mail_ctx: Context, env: dict[str, str], dovecot: Dovecot, sent: SentMail, when: str
) -> None:
    dovecot.append(reply(sent, 1))
    child = subprocess.run(
        [sys.executable, "-m", "tests.mail.child_collector", when, str(dovecot.port)],
        env={**os.environ, **env},
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    assert [flags for _, flags in dovecot.messages()] == [set()]
    assert len(mail_exchanges(mail_ctx)) == (1 if when == "after-commit" else 0)
    collector = MailCollector(mail_ctx, mailbox=mailbox_of(dovecot))
    try:
        collector.collect_once()
    finally:
        collector.stop()
    assert len(mail_exchanges(mail_ctx)) == 1
    assert [flags for _, flags in dovecot.messages()] == [{SEEN}]


def test_two_collectors_on_one_database_read_one_mailbox_without_a_duplicate(
    mail_ctx: Context, db_url: str, dovecot: Dovecot, sent: SentMail
) -> None:
    for n in range(12):
        dovecot.append(reply(sent, n))
    second = Context(settings=mail_ctx.settings, db=Database(db_url))  # another process's pool
    collectors = [
        MailCollector(ctx, mailbox=mailbox_of(dovecot, poll_seconds=0.5)).start()
        for ctx in (mail_ctx, second)
    ]
    try:
        wait_until(lambda: len(mail_exchanges(mail_ctx)) == 12, timeout=60)
        wait_until(lambda: all(SEEN in f for _, f in dovecot.messages()), timeout=30)
    finally:
        for collector in collectors:
            collector.stop()
        second.db.dispose()
    assert count(mail_ctx, InboundMail) == 12
    details = sorted(e.detail for e in mail_exchanges(mail_ctx))
    assert details == sorted(f"Réponse numéro {n}." for n in range(12))


def test_doctor_checks_the_mailbox(
    env: dict[str, str], dovecot: Dovecot, raw: Raw, tmp_path: Path
) -> None:
    from ditbot.cli.doctor import check_mailbox
    from ditbot.core.settings import Settings

    dovecot.append(raw("unmatched.eml"))
    dovecot.append(raw("gmail_reply.eml"))
    imap = {
        "IMAP_HOST": "127.0.0.1",
        "IMAP_PORT": str(dovecot.port),
        "IMAP_SECURITY": "none",
        "IMAP_USERNAME": USER,
        "IMAP_PASSWORD": PASSWORD,
    }

    def findings(**changes: str) -> list[tuple[str, str]]:
        settings = Settings.from_env({**env, **imap, **changes}, dotenv=tmp_path / "no.env")
        return [(f.level, f.text) for f in check_mailbox(settings, timeout=5)]

    where = f"sav@127.0.0.1:{dovecot.port}/INBOX"
    assert findings() == [
        ("ok", f"Mailbox {where} read: 2 messages waiting; handled ones are flagged as seen."),
        ("warn", "IMAP_SECURITY=none: the mailbox password and the mails travel in clear."),
    ]
    [(level, text)] = findings(IMAP_FOLDER="Archives")
    assert level == "fail" and "folder 'Archives' cannot be opened" in text
    [(level, text)] = findings(IMAP_PASSWORD="wrong")
    assert level == "fail" and "login refused for sav" in text and "IMAP_PASSWORD" in text
    [(level, text)] = findings(IMAP_PORT="1")
    assert level == "fail" and text.endswith("check IMAP_HOST, IMAP_PORT and IMAP_SECURITY.")
