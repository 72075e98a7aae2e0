"""Slack benchmark: `/dit <number>` on a 100k-DIT database, against a bare bolt app.

    python bench/bench_slack.py [--dits 100000] [--database-url URL] [--seconds 5]

Both apps are served the way `ditbot serve` serves ditbot (waitress, same thread count) on
loopback, and talk to the Slack fake (ditbot/playground/slack_api.py) on loopback. It measures:

1. ack latency p50 of signed `/dit <number>` requests sent one after the other (target:
   ditbot within 1.5x of a bare bolt app that only acks);
2. throughput with concurrent clients (target: ditbot at least 0.7x of the bare app);
3. command-to-views.open latency at the fake for an open-loop load of 20 requests/s
   (target: p99 under 300 ms, and every panel opened).

Each app runs in its own process (as a deployment would); the load generator and the Slack fake
run in this one. It prints the figures and the ratios, and exits 1 when a target is missed. It
stops by itself (about a minute). Not part of pytest.

Reading the throughput figure: the bare app does nothing after its ack, while ditbot, for each
`/dit`, reads the user, the DIT and a page of exchanges, builds the panel and calls views.open,
in the same process (one GIL) as its acks. bot/deps.py WORK_SLOTS keeps that work from
starving the acks; under a flood far above 20 req/s the panels then queue up, and ditbot
bounds the queue (issue 13): a command that finds more than bot/deps.py MAX_BACKLOG waiting is
answered "very busy, try again" in its ack, and a queued one that waited past TRIGGER_BUDGET is
told "Slack took too long, try again" (ephemeral, through its response_url) instead of opened.
The flood's line shows what became of each command (one of the three, checked by trigger_id:
bench/serving.py `outcomes`, as bench/bench_overload.py counts them), how long that took, and
how many panels opened per second.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import DATABASE_HELP, scratch_database  # noqa: E402
from bench.serving import (  # noqa: E402
    SECRET,
    USER,
    Outcomes,
    Sender,
    percentile,
    serve,
    settle,
)
from ditbot.playground.slack_api import FakeSlack  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Client, Collaborator, Contact, Dit, Exchange  # noqa: E402

WARMUP = 20
STATES = ("saisie_externe", "en_cours", "en_cours", "travail_termine")


# -- the database -----------------------------------------------------------------------------
def build_database(url: str, dits: int) -> list[str]:
    """A migrated database with `dits` DITs (bulk inserts); returns the DIT numbers."""
    db = Database(url)
    db.upgrade()
    started = time.monotonic()
    now = datetime.now(UTC)
    clients = max(dits // 100, 10)
    with db.session() as session:
        session.execute(
            Collaborator.__table__.insert(),
            [
                {
                    "code": f"C{i:03d}",
                    "name": f"Technicien {i}",
                    "mail1": f"tech{i}@sav.example",
                    "slack_user_id": USER if i == 0 else None,
                    "manager": i == 1,
                    "locale": "fr-FR" if i == 0 else None,
                }
                for i in range(40)
            ],
        )
        session.execute(
            Client.__table__.insert(),
            [{"code": f"CL{i:05d}", "name": f"Client {i} SA"} for i in range(clients)],
        )
        session.flush()
        client_ids = dict(session.query(Client.code, Client.id).all())
        session.execute(
            Contact.__table__.insert(),
            [
                {
                    "code": f"CT{i:05d}-{k}",
                    "client_id": client_ids[f"CL{i:05d}"],
                    "name": f"Contact {k} du client {i}",
                    "mail1": f"c{k}@client{i}.example",
                    "mail2": f"contact{k}@client{i}.example" if k == 0 else None,
                }
                for i in range(clients)
                for k in range(2)
            ],
        )
        session.flush()
        contact_ids = dict(session.query(Contact.code, Contact.id).all())
        staff_ids = [row[0] for row in session.query(Collaborator.id).order_by(Collaborator.id)]
        numbers = [f"DIT-{2020 + i // 20000}-{i:06d}" for i in range(dits)]
        batch = 10_000
        for start in range(0, dits, batch):
            rows = []
            for i in range(start, min(start + batch, dits)):
                client = i % clients
                count = i % 4
                rows.append(
                    {
                        "number": numbers[i],
                        "title": f"Intervention {i}",
                        "state": STATES[i % len(STATES)],
                        "client_id": client_ids[f"CL{client:05d}"],
                        "contact_id": contact_ids[f"CT{client:05d}-0"],
                        "technician_id": staff_ids[i % len(staff_ids)],
                        "exchange_count": count,
                        "relance_count": 1 if count == 3 else 0,
                        "last_direction": ("received", "sent")[i % 2] if count else None,
                        "last_is_relance": count == 3,
                        "last_exchange_at": now - timedelta(hours=i % 500) if count else None,
                        "created_at": now - timedelta(days=i % 900),
                        "updated_at": now,
                    }
                )
            session.execute(Dit.__table__.insert(), rows)
        session.flush()
        dit_ids = dict(session.query(Dit.number, Dit.id).all())
        # the exchanges behind the counters (0 to 3 per DIT)
        for start in range(0, dits, batch):
            rows = []
            for i in range(start, min(start + batch, dits)):
                client = i % clients
                for k in range(i % 4):
                    received = (k + i) % 2 == 0
                    rows.append(
                        {
                            "dit_id": dit_ids[numbers[i]],
                            "direction": "received" if received else "sent",
                            "type_code": "relance" if k == 2 else "appel",
                            "sent_by_contact_id": contact_ids[f"CT{client:05d}-0"]
                            if received
                            else None,
                            "sent_by_collaborator_id": None if received else staff_ids[0],
                            "received_by_collaborator_id": staff_ids[0] if received else None,
                            "received_by_contact_id": None
                            if received
                            else contact_ids[f"CT{client:05d}-0"],
                            "detail": f"Échange {k} de la DIT {i}: " + "texte " * 30,
                            "occurred_at": now - timedelta(hours=i % 500, minutes=k),
                            "source": "slack",
                            "author_collaborator_id": staff_ids[0],
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
            if rows:
                session.execute(Exchange.__table__.insert(), rows)
    db.dispose()
    print(f"database: {dits} DITs built in {time.monotonic() - started:.1f}s ({url.split(':')[0]})")
    return numbers


# -- load -------------------------------------------------------------------------------------
def ack_latency(
    port: int, fake: FakeSlack, numbers: list[str], count: int
) -> tuple[list[float], int]:
    """(ack latencies of `count` commands sent one after the other, commands answered "busy"),
    after a warm-up of WARMUP commands (connections, caches), counted in the busy ones.

    ditbot acks before its work, so one sender can outrun the panels and fill the backlog: a
    command answered "busy" skipped the queue (a cheaper ack), its latency is left out."""
    sender = Sender(port, fake)
    busy = 0
    latencies = []
    for index, number in enumerate(random.sample(numbers, WARMUP + count)):
        latency = sender.command(number)
        busy += sender.busy
        if index >= WARMUP and not sender.busy:
            latencies.append(latency)
    return latencies, busy


def throughput(
    port: int, fake: FakeSlack, numbers: list[str], clients: int, seconds: float
) -> tuple[float, int, int]:
    """(acked requests per second, requests sent, answered "busy" in the ack) with `clients`
    concurrent senders."""
    deadline = time.monotonic() + seconds
    done = [0] * clients
    busy = [0] * clients

    def worker(index: int) -> None:
        sender = Sender(port, fake)
        while time.monotonic() < deadline:
            sender.command(random.choice(numbers))
            done[index] += 1
            busy[index] += sender.busy

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return sum(done) / seconds, sum(done), sum(busy)


def open_latency(
    port: int, fake: FakeSlack, numbers: list[str], rate: float, seconds: float
) -> tuple[list[float], int, int, Outcomes]:
    """Open loop at `rate` req/s: (seconds from sending each command to its views.open at the
    fake, commands sent, answered "busy", what became of the others)."""
    sent: dict[str, float] = {}
    busy = [0]
    lock = threading.Lock()
    local = threading.local()
    total = int(rate * seconds)
    since = len(fake.calls)

    def one(number: str) -> None:
        sender = getattr(local, "sender", None)
        if sender is None:
            sender = local.sender = Sender(port, fake)
        trigger = fake.new_trigger_id()
        with lock:
            sent[trigger] = time.time()
        sender.command(number, trigger)
        if sender.busy:
            with lock:
                busy[0] += 1

    start = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        for index, number in enumerate(random.sample(numbers, total)):
            delay = start + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, number)
    found = settle(fake, since, total - busy[0], timeout=60)
    opened = {
        c.args["trigger_id"]: c.at
        for c in fake.calls[since:]
        if c.method == "views.open" and c.ok and c.args["trigger_id"] in sent
    }
    return [opened[t] - sent[t] for t in sent if t in opened], total, busy[0], found


def fates(sent: int, busy: int, found: Outcomes) -> str:
    """What became of `sent` commands, in words."""
    text = (
        f"of {sent} panels: {busy} answered 'very busy' in the ack, {found.opened} opened,"
        f" {found.slow} told 'too slow, try again' ({found.expired} of them refused by Slack"
        " as expired)"
    )
    missing = sent - busy - found.settled
    if found.twice:
        text += f", {found.twice} with two outcomes"
    if missing:
        text += f", {missing} with none"
    return text


def accounted(sent: int, busy: int, found: Outcomes) -> bool:
    """True when each of `sent` commands had exactly one outcome."""
    return busy + found.opened + found.slow == sent and found.twice == 0


# -- main -------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dits", type=int, default=100_000)
    parser.add_argument("--database-url", help=DATABASE_HELP)
    parser.add_argument("--seconds", type=float, default=5.0, help="throughput run length")
    parser.add_argument("--requests", type=int, default=300, help="sequential requests for p50")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument(
        "--open-seconds", type=float, default=10.0, help="length of the 20 req/s run"
    )
    args = parser.parse_args(argv)
    random.seed(7)
    with scratch_database(args.database_url, "slack") as url:
        return run(args, url)


def run(args: argparse.Namespace, url: str) -> int:
    """The Slack measures on the scratch database `url`."""
    workdir = tempfile.TemporaryDirectory(prefix="ditbot-bench-")
    numbers = build_database(url, args.dits)
    open_numbers = [n for i, n in enumerate(numbers) if STATES[i % len(STATES)] != "cloturee"]

    with FakeSlack() as fake:
        fake.add_user(USER, email="tech0@sav.example", locale="fr-FR")
        env = {
            "DATABASE_URL": url,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.base_url,
            "DITBOT_PORTAL_SECRET": "bench-portal-secret-ZmC4o0v7Xq2yT9kLwR5a",
            "DITBOT_LOCALE": "fr",
        }
        dotenv = Path(workdir.name) / "none.env"
        bare = serve("bare", env, dotenv)
        real = serve("ditbot", env, dotenv)
        try:
            results: dict[str, dict[str, float]] = {}
            for served in (bare, real):
                since = len(fake.calls)
                latencies, busy = ack_latency(served.port, fake, open_numbers, args.requests)
                if served is real:  # start the flood with no work left over from above
                    sequential = WARMUP + args.requests
                    found = settle(fake, since, sequential - busy)
                    if found.opened != sequential:
                        line = f"sequential: {fates(sequential, busy, found)}"
                        print(f"{line}; ack p50 of the {len(latencies)} timed ones queued")
                since = len(fake.calls)
                started = time.monotonic()
                rate, sent, busy = throughput(
                    served.port, fake, open_numbers, args.clients, args.seconds
                )
                results[served.name] = {"p50": percentile(latencies, 0.5), "rps": rate}
                line = (
                    f"{served.name:>6}: ack p50 {results[served.name]['p50'] * 1000:6.1f} ms,"
                    f" p99 {percentile(latencies, 0.99) * 1000:6.1f} ms,"
                    f" throughput {rate:7.1f} req/s acked ({args.clients} clients)"
                )
                if served is real:
                    # the work after each ack (read the DIT, build the panel, views.open) runs
                    # on bolt's pool: wait until every command queued has an outcome
                    flood = settle(fake, since, sent - busy)
                    flooded = (sent, busy, flood)
                    drained = time.monotonic() - started
                    line += f"; {fates(*flooded)}, all in {drained:.1f}s"
                    line += f" ({flood.opened / drained:.0f} opened/s)"
                print(line, flush=True)
            opens, total, busy, found = open_latency(
                real.port, fake, open_numbers, rate=20, seconds=args.open_seconds
            )
            print(f"at 20 req/s: {fates(total, busy, found)}", flush=True)
        finally:
            for served in (real, bare):
                served.stop()
    p50_ratio = results["ditbot"]["p50"] / results["bare"]["p50"]
    rps_ratio = results["ditbot"]["rps"] / results["bare"]["rps"]
    p99_open = percentile(opens, 0.99)
    checks = [
        (f"ack p50 ratio ditbot/bare = {p50_ratio:.2f}x (target <= 1.5x)", p50_ratio <= 1.5),
        (f"throughput ratio ditbot/bare = {rps_ratio:.2f}x (target >= 0.7x)", rps_ratio >= 0.7),
        (
            f"command -> views.open at 20 req/s: p50 {percentile(opens, 0.5) * 1000:.0f} ms,"
            f" p99 {p99_open * 1000:.0f} ms over {len(opens)} (target p99 < 300 ms)",
            p99_open < 0.3,
        ),
        ("flood: every panel opened or answered, once", accounted(*flooded)),
        (f"at 20 req/s: every panel opened ({found.opened} of {total})", found.opened == total),
    ]
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    workdir.cleanup()
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
