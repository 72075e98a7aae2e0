"""Outbound threading and the reply address: what the client's mail program sees and does.

Every mail on a DIT names the earlier mails of that DIT with that contact (`In-Reply-To`,
`References`), so a real threading implementation (notmuch, Debian's) shows two mails and the
client's reply as one conversation; the reply address carries a signed token naming the mail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from pathlib import Path
from typing import Any

import pytest

from ditbot.core.context import Context
from ditbot.core.settings import Settings
from ditbot.domain.exchanges import Actor
from ditbot.domain.mail import MailInput, send_mail
from ditbot.domain.reference import import_data
from ditbot.mail.compose import build
from ditbot.mail.reply_address import exchange_named_by, make_token, read_token
from ditbot.mail.smtp import wire_bytes
from ditbot.mail.worker import MailWorker
from storage import repositories as repo
from storage.vocabulary import Source
from tests.mail.conftest import Sender, drive, exchange
from tests.mail.smtp_server import Received, SmtpServer

REPLY_TO = "sav+{token}@sav.example"


def needs(tool: str) -> str:
    """The path of a Debian tool; skipped outside CI when it is absent, failed in CI."""
    path = shutil.which(tool)
    if path is None:
        reason = f"{tool} is absent (apt-get install {tool}; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: in CI this test must run")
        pytest.skip(reason)
    return path


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "DITBOT_MAIL_REPLY_TO": REPLY_TO, "SMTP_EHLO_NAME": "mail.sav.example"}


def deliver(worker: MailWorker, smtp: SmtpServer, ctx: Context, *ids: int) -> list[Received]:
    drive([worker], lambda: all(exchange(ctx, i).mail_status == "sent" for i in ids))
    return smtp.wait_for(len(ids))


def client_reply(to: Received, text: str) -> bytes:
    """What a mail program writes when the client clicks Reply on `to`."""
    original = to.message
    reply = EmailMessage()
    reply["From"] = original["To"]
    reply["To"] = original["Reply-To"] or original["From"]
    reply["Subject"] = "Re: " + str(original["Subject"])
    reply["Message-ID"] = make_msgid(domain="acme.example")
    reply["In-Reply-To"] = original["Message-ID"]
    reply["References"] = " ".join(
        part for part in (original["References"], original["Message-ID"]) if part
    )
    reply.set_content(text)
    return reply.as_bytes()


def test_each_mail_names_the_earlier_mails_of_its_dit_with_that_contact(
    mail_ctx: Context, worker: MailWorker, smtp: SmtpServer, queue_mail: Sender
) -> None:
    first = queue_mail("Premier message.")
    second = queue_mail("Deuxième message.")  # queued before the first went out
    other_contact = queue_mail("À Claire.", to="ACME-CL:2")
    other_dit = queue_mail("Autre DIT.", dit="DIT-2026-0002", to="ACME-PM:1")
    third = queue_mail("Troisième message.")
    received = deliver(worker, smtp, mail_ctx, first, second, other_contact, other_dit, third)
    by_text = {r.part("plain").split("\n\n")[1].strip(): r.message for r in received}
    one, two, three = (
        by_text[t] for t in ("Premier message.", "Deuxième message.", "Troisième message.")
    )

    assert one["In-Reply-To"] is None and one["References"] is None
    assert two["In-Reply-To"] == one["Message-ID"]
    assert two["References"] == one["Message-ID"]
    assert three["In-Reply-To"] == two["Message-ID"]
    assert three["References"].split() == [one["Message-ID"], two["Message-ID"]]
    # Another contact, or another DIT: another conversation.
    assert by_text["À Claire."]["References"] is None
    assert by_text["Autre DIT."]["References"] is None


def test_notmuch_threads_two_mails_and_the_clients_reply_as_one_conversation(
    mail_ctx: Context, worker: MailWorker, smtp: SmtpServer, queue_mail: Sender, tmp_path: Path
) -> None:
    notmuch = needs("notmuch")
    first = queue_mail("Le technicien passe jeudi.")
    second = queue_mail("Finalement vendredi, désolée.")
    unrelated = queue_mail("Autre demande.", dit="DIT-2026-0003", author="MLE")
    received = deliver(worker, smtp, mail_ctx, first, second, unrelated)
    to_second = next(r for r in received if "vendredi" in r.part("plain"))
    # The client answers the second mail (a webmail that keeps only In-Reply-To would do too).
    messages = [r.raw for r in received] + [client_reply(to_second, "Vendredi me va, merci.")]

    maildir = tmp_path / "mail"
    for folder in ("cur", "new", "tmp"):
        (maildir / folder).mkdir(parents=True)
    for number, raw in enumerate(messages):
        (maildir / "new" / f"{number}.eml").write_bytes(raw)
    config = tmp_path / "notmuch-config"
    config.write_text(f"[database]\npath={maildir}\n[new]\ntags=new\n", encoding="utf-8")
    run_env = {**os.environ, "NOTMUCH_CONFIG": str(config)}
    subprocess.run([notmuch, "new", "--quiet"], check=True, env=run_env, timeout=60)
    threads = subprocess.run(
        [notmuch, "search", "--output=threads", "*"],
        check=True,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()
    dit_thread = subprocess.run(
        [notmuch, "search", "--output=threads", "subject:DIT-2026-0001"],
        check=True,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()
    counted = subprocess.run(
        [notmuch, "count", dit_thread[0]],
        check=True,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()

    assert len(threads) == 2  # DIT-2026-0001's conversation, and the other DIT's mail
    assert len(dit_thread) == 1 and counted == "3"


def test_the_reply_address_carries_a_signed_token_naming_the_mail(
    mail_ctx: Context, worker: MailWorker, smtp: SmtpServer, queue_mail: Sender
) -> None:
    exchange_id = queue_mail()
    [received] = deliver(worker, smtp, mail_ctx, exchange_id)
    name, address = parseaddr(received.message["Reply-To"])
    settings = mail_ctx.settings
    secret = settings.portal_secret or ""

    assert name == "Jeanne Dupuis"  # the technician is the display name, not a Cc
    assert received.message["Cc"] is None
    assert address == f"sav+{make_token(secret, exchange_id)}@sav.example"
    assert exchange_named_by(settings, [received.message["Reply-To"]]) == exchange_id
    # The case some servers change, and nothing else: a forged or altered token names nothing.
    assert exchange_named_by(settings, [address.upper()]) == exchange_id
    forged = address.replace(f"r{exchange_id}-", f"r{exchange_id + 1}-")
    assert exchange_named_by(settings, [forged]) is None
    assert read_token(secret, make_token("another-secret", exchange_id)) is None


def test_without_a_reply_address_a_freemail_author_is_not_the_reply_to(
    mail_ctx: Context, env: dict[str, str], seeded: dict[str, Any], tmp_path: Path
) -> None:
    """Reply-To at a gmail address under a company From is scored as forged (SpamAssassin's
    FREEMAIL_FORGED_REPLYTO); the author is the From's display name instead."""
    spamassassin = needs("spamassassin")
    no_inbound = {name: value for name, value in env.items() if name != "DITBOT_MAIL_REPLY_TO"}
    plain = Settings.from_env(no_inbound, dotenv=tmp_path / "no.env")
    with mail_ctx.db.session() as session:
        import_data(
            session,
            {
                "collaborators": [
                    {"code": "GLA", "name": "Gaston Lagaffe", "mail1": "gaston.lagaffe@gmail.com"}
                ]
            },
        )
    with mail_ctx.db.session() as session:
        queued, _ = send_mail(
            session,
            "DIT-2026-0001",
            MailInput(detail="Le technicien passe jeudi."),
            Actor(source=Source.SLACK, collaborator=repo.collaborator_by_code(session, "GLA")),
            mail_from=plain.mail_from,
        )
        outgoing = build(plain, queued, queued.mail_message_id or "")

    assert parseaddr(outgoing.message["From"]) == ("Gaston Lagaffe", "sav@sav.example")
    assert outgoing.message["Reply-To"] is None
    report = subprocess.run(
        [spamassassin, "-L", "-t"],
        input=wire_bytes(outgoing.message),
        capture_output=True,
        timeout=120,
        check=False,
    ).stdout.decode("utf-8", "replace")
    assert "Content analysis details" in report
    assert "FREEMAIL_FORGED_REPLYTO" not in report


def test_body_lines_starting_with_from_arrive_as_written(
    mail_ctx: Context, worker: MailWorker, smtp: SmtpServer, queue_mail: Sender
) -> None:
    exchange_id = queue_mail("Bonjour,\nFrom Paris, le technicien part à 8 h.\nFrom: lui")
    [received] = deliver(worker, smtp, mail_ctx, exchange_id)
    text, html = received.part("plain"), received.part("html")
    assert "\nFrom Paris, le technicien part à 8 h.\nFrom: lui" in text
    assert ">From" not in text and ">From" not in html
    assert b"\n>From" not in received.raw


def test_the_ehlo_name_is_the_configured_one(
    mail_ctx: Context, worker: MailWorker, smtp: SmtpServer, queue_mail: Sender
) -> None:
    deliver(worker, smtp, mail_ctx, queue_mail())
    assert smtp.ehlo_names == ["mail.sav.example"]


def test_a_bad_ehlo_name_or_reply_address_is_refused_at_start(tmp_path: Path) -> None:
    from ditbot.core.settings import SettingsError

    with pytest.raises(SettingsError) as refused:
        Settings.from_env(
            {"SMTP_EHLO_NAME": "mail server", "DITBOT_MAIL_REPLY_TO": "sav@sav.example"},
            dotenv=tmp_path / "no.env",
        )
    problems = "\n".join(refused.value.problems)
    assert "SMTP_EHLO_NAME='mail server' is not a host name" in problems
    assert "DITBOT_MAIL_REPLY_TO='sav@sav.example' must be an address with {token}" in problems
