"""Benchmark: inbound mail through the pipeline, from arrival to the Slack post.

    python -m bench.bench_inbound [--messages 1000] [--database-url postgresql://...]

Everything runs on loopback and stops by itself: the database (a temporary SQLite file, or a
scratch database made on the PostgreSQL server given and dropped at the end, see
bench/scratch.py) and ditbot's outbox dispatcher with the workers `ditbot serve` runs for
Slack (channel notifications, DMs, unmatched mail) in this process; the Slack Web API fake in
its own process, as Slack is remote.

N raw messages (default 1,000), a realistic mix written like the fixtures of
tests/mail/inbound: replies in the conversation (Thunderbird, Outlook in Windows-1252, Gmail
HTML, some with a PDF), replies by reply address only, new mails naming a DIT in the subject,
out-of-office answers, bounces, unmatched mails and the same message again. They are handed one
after the other to `ditbot.mail.inbound.pipeline.receive`, as the IMAP collector does. Printed:
messages per second through the pipeline, p50/p99 from arrival to the Slack post of each
message that is posted (the outbox item done: Slack accepted it), and the process's memory
(RSS) after each quarter, which must stay flat. Targets: at least 50 messages/s on 2 cores,
RSS at the end at most 10 % over the first quarter's (the first quarter warms the caches).
Exits 1 when a target is missed or an outbox item failed.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, select  # noqa: E402

from bench.scratch import DATABASE_HELP, scratch_database  # noqa: E402
from bench.serving import remote_slack  # noqa: E402
from bot.workers.author_dm import SlackDmWorker  # noqa: E402
from bot.workers.inbound import UnmatchedMailWorker  # noqa: E402
from bot.workers.notifications import NotificationWorker  # noqa: E402
from ditbot.core.context import Context  # noqa: E402
from ditbot.core.settings import Settings  # noqa: E402
from ditbot.delivery.dispatcher import Dispatcher  # noqa: E402
from ditbot.domain.exchanges import Actor  # noqa: E402
from ditbot.domain.mail import MailInput, send_mail  # noqa: E402
from ditbot.mail.inbound.pipeline import Disposition, receive  # noqa: E402
from ditbot.mail.reply_address import reply_address  # noqa: E402
from storage import repositories as repo  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Exchange, OutboxItem  # noqa: E402
from storage.types import utcnow  # noqa: E402
from storage.vocabulary import MailStatus, Source  # noqa: E402
from tests.factories import seed_reference  # noqa: E402

DISPATCH, RELANCES = "CDISPATCH", "CRELANCES"
PDF = b"%PDF-1.4\n" + b"0" * 40_000 + b"\n%%EOF\n"
CONTACTS = {
    "DIT-2026-0001": ("Paul Martin", "p.martin@acme.example"),
    "DIT-2026-0002": ("Claire Lambert", "claire@acme.example"),
    "DIT-2026-0003": ("Léon Lemaire", "leon@boulangerie.example"),
}
TARGET = 50.0
MEMORY_GROWTH = 1.10  # end RSS / first-quarter RSS


def rss_mib() -> float:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


class Mix:
    """The raw messages of the run, built on the mails ditbot sent before it."""

    def __init__(self, sent: list[tuple[str, str, str]]) -> None:
        self.sent = sent  # (DIT number, Message-ID, reply address)
        self.n = 0

    def _head(self, sender: str, to: str, subject: str, extra: str = "") -> str:
        self.n += 1
        return (
            f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: {format_datetime(utcnow())}\r\n"
            f"Message-ID: {make_msgid(str(self.n), 'bench.example')}\r\n"
            f"MIME-Version: 1.0\r\n{extra}"
        )

    def message(self, i: int) -> bytes:
        dit, message_id, address = self.sent[i % len(self.sent)]
        name, mail = CONTACTS[dit]
        thread = f"In-Reply-To: {message_id}\r\nReferences: {message_id}\r\n"
        subject = f"Re: [{dit}] Suite"
        kind = i % 20
        quote = (
            "\r\n\r\nLe 2 déc. 2026 à 10:15, DIT SAV <sav@sav.example> a écrit :\r\n"
            "> Bonjour,\r\n> Le technicien passe jeudi.\r\n"
        )
        if kind < 7:  # Thunderbird-like reply in the conversation
            body = (
                f"Bonjour,\r\n\r\nMerci, message {i} bien reçu.\r\n\r\n"
                f"Cordialement,\r\n{name}{quote}"
            )
            head = self._head(f"{name} <{mail}>", address, subject, thread)
            return (
                head
                + "Content-Type: text/plain; charset=utf-8\r\n"
                + "Content-Transfer-Encoding: 8bit\r\n\r\n"
                + body
            ).encode("utf-8")
        if kind < 9:  # Outlook, Windows-1252, by reply address only
            body = (
                f"Le devis de 120 € est validé, l'œil du scanner aussi (n° {i}).\r\n\r\n"
                "De : DIT SAV\r\nEnvoyé : mercredi 2 décembre 2026 10:15\r\n"
                f"À : {name}\r\nObjet : [{dit}]\r\n\r\nBonjour,\r\n"
            )
            head = self._head(f"{name} <{mail}>", address, subject)
            return (
                head.encode()
                + b"Content-Type: text/plain; charset=windows-1252\r\n"
                + b"Content-Transfer-Encoding: 8bit\r\n\r\n"
                + body.encode("cp1252")
            )
        if kind < 11:  # Gmail, HTML only, gmail_quote
            html = (
                f'<div dir="ltr">Parfait, merci ! ({i})</div>'
                '<div class="gmail_quote"><blockquote>Bonjour</blockquote></div>'
            )
            head = self._head(f"{name} <{mail}>", address, subject, thread)
            return (head + "Content-Type: text/html; charset=utf-8\r\n\r\n" + html).encode("utf-8")
        if kind == 11:  # with a PDF
            boundary = "bench-boundary"
            pdf = base64.encodebytes(PDF).decode().replace("\n", "\r\n")
            head = self._head(f"{name} <{mail}>", address, subject, thread)
            return (
                head + f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
                f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                f"Voici le devis signé ({i}).\r\n"
                f"--{boundary}\r\nContent-Type: application/pdf\r\n"
                f'Content-Disposition: attachment; filename="devis-{i}.pdf"\r\n'
                f"Content-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n--{boundary}--\r\n"
            ).encode("utf-8")
        if kind == 12:  # a new mail naming its DIT, from a contact
            head = self._head(f"{name} <{mail}>", "sav@sav.example", f"Question sur {dit}")
            return (
                head + "Content-Type: text/plain; charset=utf-8\r\n\r\nUne question de plus.\r\n"
            ).encode("utf-8")
        if kind in (13, 14):  # out of office
            head = self._head(
                f"{name} <{mail}>",
                "sav@sav.example",
                f"Réponse automatique : [{dit}]",
                thread + "Auto-Submitted: auto-replied\r\n",
            )
            return (
                head + "Content-Type: text/plain; charset=utf-8\r\n\r\nJe suis absent.\r\n"
            ).encode("utf-8")
        if kind == 15:  # a bounce
            head = self._head(
                "MAILER-DAEMON@sav.example",
                "sav@sav.example",
                "Undelivered Mail Returned to Sender",
            )
            return (
                head + "Content-Type: multipart/report; report-type=delivery-status;"
                ' boundary="b"\r\n\r\n'
                "--b\r\nContent-Type: text/plain\r\n\r\nnot delivered\r\n"
                "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
                "Final-Recipient: rfc822; x@acme.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
                "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
                "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
                f"Message-ID: {message_id}\r\n--b--\r\n"
            ).encode("utf-8")
        if kind in (16, 17):  # unmatched
            head = self._head(
                f"Prospect {i} <prospect{i}@ailleurs.example>",
                "sav@sav.example",
                "Demande de devis",
            )
            return (
                head + "Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour, un devis ?\r\n"
            ).encode("utf-8")
        # 18, 19: the message before again (the MTA retrying): see `messages`
        return b""

    def messages(self, count: int) -> list[bytes]:
        made: list[bytes] = []
        for i in range(count):
            raw = self.message(i)
            made.append(raw or (made[-1] if made else self.message(0)))
        return made


class QueryCounter:
    """Statements and commits on `engine`, by thread: the outbox workers' threads are named
    `outbox-<worker>` (ditbot.delivery.dispatcher), everything else is the pipeline."""

    def __init__(self, engine: Any) -> None:
        self.queries: Counter[str] = Counter()
        self.commits: Counter[str] = Counter()
        self.on = False
        event.listen(engine, "before_cursor_execute", self._query)
        event.listen(engine, "commit", self._commit)

    @staticmethod
    def _who() -> str:
        name = threading.current_thread().name
        return name if name.startswith("outbox-") else "pipeline"

    def _query(self, *_args: Any) -> None:
        if self.on:
            self.queries[self._who()] += 1

    def _commit(self, *_args: Any) -> None:
        if self.on:
            self.commits[self._who()] += 1

    def report(self, count: int) -> str:
        lines = []
        for who in sorted(set(self.queries) | set(self.commits)):
            lines.append(
                f"    {who:28} {self.queries[who] / count:6.2f} queries "
                f"{self.commits[who] / count:5.2f} commits per mail"
            )
        outbox_q = sum(n for who, n in self.queries.items() if who != "pipeline")
        outbox_c = sum(n for who, n in self.commits.items() if who != "pipeline")
        lines.append(
            f"    {'outbox workers, all':28} {outbox_q / count:6.2f} queries "
            f"{outbox_c / count:5.2f} commits per mail"
        )
        return "\n".join(lines)


def run(count: int, database_url: str, count_queries: bool = False) -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-inbound-"))
    database = database_url
    # The Slack fake runs in its own process, as Slack runs elsewhere: its CPU (checking every
    # payload against Slack's rules) is not ditbot's. The bench measures ditbot's pipeline, not
    # Slack's one-post-per-second-per-channel pacing (26 posts to one channel would take 26 s
    # whatever ditbot does): the pacing is lifted.
    fake = remote_slack({DISPATCH: "dispatch", RELANCES: "relances"}, paced=False)
    try:
        settings = Settings.from_env(
            {
                "DATABASE_URL": database,
                "SLACK_BOT_TOKEN": "xoxb-bench",
                "SLACK_API_URL": fake.base_url,
                "DITBOT_PORTAL_SECRET": "bench-portal-secret-0123456789abcdef",
                "DITBOT_MAIL_FROM": "DIT SAV <sav@sav.example>",
                "DITBOT_MAIL_REPLY_TO": "sav+{token}@sav.example",
                "DITBOT_MAIL_STORE": str(folder / "store"),
                "DITBOT_CHANNEL_PORTAL": DISPATCH,
                "DITBOT_CHANNEL_RELANCES": RELANCES,
            },
            dotenv=folder / "none.env",
        )
        db = Database(settings.database_url)
        db.upgrade()
        ctx = Context(settings=settings, db=db)
        sent: list[tuple[str, str, str]] = []
        with db.session() as session:
            seed_reference(session)
            author = repo.collaborator_by_code(session, "JDU")
            for number, (_name, address) in CONTACTS.items():
                for n in range(4):
                    exchange, _ = send_mail(
                        session,
                        number,
                        MailInput(detail=f"Mail {n}", to=address),
                        Actor(source=Source.SLACK, collaborator=author),
                        mail_from=settings.mail_from,
                    )
                    exchange.mail_status = MailStatus.SENT
                    session.flush()
                    sent.append(
                        (
                            number,
                            exchange.mail_message_id or "",
                            reply_address(settings, exchange.id) or "",
                        )
                    )
            session.execute(OutboxItem.__table__.delete())
        from slack_sdk import WebClient

        client = WebClient(token="xoxb-bench", base_url=fake.base_url)
        dispatcher = Dispatcher(
            [
                NotificationWorker(ctx, pace_seconds=0.0, backoff_base=0.05, max_wait=2.0),
                SlackDmWorker(ctx, client),
                UnmatchedMailWorker(ctx, client),
            ],
            idle_seconds=0.05,
        )
        ctx.wake_delivery = dispatcher.wake
        counter = QueryCounter(db.engine) if count_queries else None
        if counter is not None:
            counter.on = True
        dispatcher.start()
        mix = Mix(sent)
        messages = mix.messages(count)
        arrivals: dict[tuple[str, int], float] = {}
        outcomes: dict[str, int] = {}
        memory = [rss_mib()]
        start = time.monotonic()
        try:
            for i, raw in enumerate(messages):
                arrived = time.time()
                outcome = receive(ctx, raw)
                outcomes[outcome.disposition] = outcomes.get(outcome.disposition, 0) + 1
                if outcome.disposition == Disposition.RECORDED and outcome.exchange_id:
                    arrivals[("exchange", outcome.exchange_id)] = arrived
                elif outcome.disposition == Disposition.UNMATCHED and outcome.inbound_id:
                    arrivals[("inbound", outcome.inbound_id)] = arrived
                if (i + 1) % max(count // 4, 1) == 0:
                    memory.append(rss_mib())
            elapsed = time.monotonic() - start
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with db.session() as session:
                    pending = session.scalar(
                        select(OutboxItem.id).where(OutboxItem.status == "pending").limit(1)
                    )
                if pending is None:
                    break
                time.sleep(0.05)
        finally:
            dispatcher.stop()
            if counter is not None:
                counter.on = False
        latencies: list[float] = []
        with db.session() as session:
            for item in session.scalars(select(OutboxItem).where(OutboxItem.status == "done")):
                payload = item.payload
                key = (
                    ("exchange", payload.get("exchange_id"))
                    if item.kind == "notify"
                    else (
                        ("inbound", payload.get("inbound_id"))
                        if item.kind == "unmatched_mail"
                        else None
                    )
                )
                if key in arrivals and item.done_at is not None:
                    latencies.append(item.done_at.timestamp() - arrivals[key])  # type: ignore[index]
            failed = session.scalar(
                select(OutboxItem.id).where(OutboxItem.status == "failed").limit(1)
            )
            exchanges = len(
                session.scalars(select(Exchange.id).where(Exchange.source == "mail")).all()
            )
        db.dispose()
    finally:
        fake.stop()

    rate = count / elapsed
    print(f"bench_inbound: {count} messages, database {database.split(':')[0]}, all on loopback")
    print("  mix: " + ", ".join(f"{name} {n}" for name, n in sorted(outcomes.items())))
    print(f"  pipeline: {rate:7.1f} messages/s ({elapsed:.2f} s; target ≥ {TARGET:.0f}/s)")
    if latencies:
        print(
            f"  arrival -> Slack post: p50 {percentile(latencies, 50) * 1000:7.1f} ms   "
            f"p99 {percentile(latencies, 99) * 1000:7.1f} ms   "
            f"mean {statistics.mean(latencies) * 1000:7.1f} ms   ({len(latencies)} posts)"
        )
    print("  memory (RSS, MiB) at 0/25/50/75/100 %: " + " ".join(f"{m:.0f}" for m in memory))
    print(
        f"  exchanges from mail: {exchanges}; "
        f"failed outbox items: {0 if failed is None else 'some'}"
    )
    if counter is not None:
        print("  queries and commits per mail, from the first mail to the last item done:")
        print(counter.report(count))
    flat = memory[-1] <= memory[min(1, len(memory) - 1)] * MEMORY_GROWTH
    ok = rate >= TARGET and flat and failed is None and bool(latencies)
    print("  verdict: " + ("ok" if ok else "below target or failures"))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--database-url", default=None, help=DATABASE_HELP)
    parser.add_argument(
        "--count-queries",
        action="store_true",
        help="print the SQL statements and commits per mail, pipeline and each outbox worker",
    )
    args = parser.parse_args(argv)
    with scratch_database(args.database_url, "inbound") as database_url:
        return run(args.messages, database_url, args.count_queries)


if __name__ == "__main__":
    raise SystemExit(main())
