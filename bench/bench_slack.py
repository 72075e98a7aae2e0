"""Slack benchmark: `/dit <number>` on a 100k-DIT database, against a bare bolt app.

    python bench/bench_slack.py [--dits 100000] [--database-url URL] [--seconds 5]

Both apps are served the way `ditbot serve` serves ditbot (waitress, same thread count) on
loopback, and talk to the Slack fake (ditbot/playground/slack_api.py) on loopback. It measures:

1. ack latency p50 of signed `/dit <number>` requests sent one after the other (target:
   ditbot within 1.5x of a bare bolt app that only acks);
2. throughput with concurrent clients (target: ditbot at least 0.7x of the bare app);
3. command-to-views.open latency at the fake for an open-loop load of 20 requests/s
   (target: p99 under 300 ms).

Each app runs in its own process (as a deployment would); the load generator and the Slack fake
run in this one. It prints the figures and the ratios, and exits 1 when a target is missed. It
stops by itself (about a minute). Not part of pytest.

Reading the throughput figure: the bare app does nothing after its ack, while ditbot, for each
`/dit`, reads the user, the DIT and a page of exchanges, builds the panel and calls views.open,
in the same process (one GIL) as its acks. bot/deps.py WORK_SLOTS keeps that work from
starving the acks; under a flood far above 20 req/s the panels then queue up: the line shows
how long the panels of the flood took to open, and at what rate.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import DATABASE_HELP, scratch_database  # noqa: E402
from bench.serving import SECRET, serve  # noqa: E402
from ditbot.playground.slack_api import FakeSlack  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Client, Collaborator, Contact, Dit, Exchange  # noqa: E402

USER = "UBENCH"
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
class Sender:
    """Signed `/dit` requests over one keep-alive connection."""

    def __init__(self, port: int, fake: FakeSlack) -> None:
        self.port = port
        self.fake = fake
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.last_body = b""  # the last answer (an ack may carry a message)

    def command(self, text: str, trigger_id: str | None = None) -> float:
        trigger = trigger_id or self.fake.new_trigger_id()
        body = urlencode(
            {
                "team_id": "T0FAKE",
                "channel_id": "C0BENCH",
                "user_id": USER,
                "command": "/dit",
                "text": text,
                "response_url": self.fake.response_url("bench"),
                "trigger_id": trigger,
                "api_app_id": "A0FAKE",
            }
        ).encode()
        stamp = str(int(time.time()))
        mac = hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": "v0=" + mac.hexdigest(),
        }
        started = time.perf_counter()
        try:
            self.connection.request("POST", "/slack/events", body=body, headers=headers)
            response = self.connection.getresponse()
            self.last_body = response.read()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            raise
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
        return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def ack_latency(port: int, fake: FakeSlack, numbers: list[str], count: int) -> list[float]:
    sender = Sender(port, fake)
    for number in random.sample(numbers, WARMUP):  # warm up (connections, caches)
        sender.command(number)
    return [sender.command(n) for n in random.sample(numbers, count)]


def throughput(
    port: int, fake: FakeSlack, numbers: list[str], clients: int, seconds: float
) -> tuple[float, int]:
    """(acked requests per second, requests sent) with `clients` concurrent senders."""
    deadline = time.monotonic() + seconds
    done = [0] * clients

    def worker(index: int) -> None:
        sender = Sender(port, fake)
        while time.monotonic() < deadline:
            sender.command(random.choice(numbers))
            done[index] += 1

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return sum(done) / seconds, sum(done)


def open_latency(
    port: int, fake: FakeSlack, numbers: list[str], rate: float, seconds: float
) -> list[float]:
    """Open loop at `rate` req/s; time from sending the command to views.open at the fake."""
    sent: dict[str, float] = {}
    lock = threading.Lock()
    local = threading.local()
    total = int(rate * seconds)

    def one(number: str) -> None:
        sender = getattr(local, "sender", None)
        if sender is None:
            sender = local.sender = Sender(port, fake)
        trigger = fake.new_trigger_id()
        with lock:
            sent[trigger] = time.time()
        sender.command(number, trigger)

    start = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        for index, number in enumerate(random.sample(numbers, total)):
            delay = start + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, number)
    calls = fake.wait_for(
        "views.open", count=total, timeout=60, predicate=lambda c: c.args["trigger_id"] in sent
    )
    opened = {c.args["trigger_id"]: c.at for c in calls}
    return [opened[t] - sent[t] for t in sent if t in opened]


# -- main -------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dits", type=int, default=100_000)
    parser.add_argument("--database-url", help=DATABASE_HELP)
    parser.add_argument("--seconds", type=float, default=5.0, help="throughput run length")
    parser.add_argument("--requests", type=int, default=300, help="sequential requests for p50")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
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
            opened_so_far = 0
            for served in (bare, real):
                latencies = ack_latency(served.port, fake, open_numbers, args.requests)
                if served is real:  # start the flood with no work left over from above
                    opened_so_far += WARMUP + args.requests
                    fake.wait_for("views.open", count=opened_so_far, timeout=120)
                started = time.monotonic()
                rate, sent = throughput(served.port, fake, open_numbers, args.clients, args.seconds)
                results[served.name] = {"p50": percentile(latencies, 0.5), "rps": rate}
                line = (
                    f"{served.name:>6}: ack p50 {results[served.name]['p50'] * 1000:6.1f} ms,"
                    f" p99 {percentile(latencies, 0.99) * 1000:6.1f} ms,"
                    f" throughput {rate:7.1f} req/s acked ({args.clients} clients)"
                )
                if served is real:
                    # the work after each ack (read the DIT, build the panel, views.open) runs
                    # on bolt's pool: wait until every panel was opened at the fake
                    opened_so_far += sent
                    fake.wait_for("views.open", count=opened_so_far, timeout=120)
                    drained = time.monotonic() - started
                    line += f"; {sent} panels opened in {drained:.1f}s ({sent / drained:.0f}/s)"
                print(line, flush=True)
            opens = open_latency(real.port, fake, open_numbers, rate=20, seconds=10)
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
    ]
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    workdir.cleanup()
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
