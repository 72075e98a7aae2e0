"""Memory benchmark: ditbot's resident memory after many mixed requests, and whether it grows.

    python bench/bench_memory.py [--requests 100000] [--clients 4] [--database-url URL]

ditbot runs as `ditbot serve` builds it (bench/serving.py: its own process, waitress, the
outbox dispatcher) against the Slack fake; 4 clients in this process send, over keep-alive
connections, a mix of the requests users make: `/dit help`, `/dit <number>` (a panel), the
submission of a received-exchange form, a portal webhook and a portal page. The child's RSS is
read (/proc) at the start, at half the requests and at the end.

Targets (issue 13): RSS at the end at most 150 MB, and no growth between the half and the end
(within 5 %). Prints the figures, exits 1 when missed. At ~100 requests/s the default takes
about 20 minutes; `--requests 20000` gives a first idea. Not part of pytest.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import random
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.bench_slack import USER, build_database  # noqa: E402
from bench.scratch import DATABASE_HELP, scratch_database  # noqa: E402
from bench.serving import SECRET, serve  # noqa: E402
from bot.metadata import ExchangeFormMeta, seal  # noqa: E402
from ditbot.playground.slack_api import FakeSlack  # noqa: E402
from ditbot.portal.signing import signed_headers  # noqa: E402
from ditbot.portal.tokens import make_token  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Contact, Dit  # noqa: E402
from storage.vocabulary import Direction  # noqa: E402

PORTAL_SECRET = "bench-portal-secret-ZmC4o0v7Xq2yT9kLwR5a"
KINDS = ("help", "panel", "form", "webhook", "page")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Client:
    """One keep-alive connection sending the mix."""

    def __init__(self, port: int, fake: FakeSlack, targets: list[tuple[str, str]]) -> None:
        self.port, self.fake, self.targets = port, fake, targets
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.rng = random.Random(port)
        self.sent = 0

    def _post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        try:
            self.connection.request("POST", path, body=body, headers=headers)
            response = self.connection.getresponse()
            response.read()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            return 0
        return response.status

    def _slack(self, fields: dict[str, str]) -> int:
        body = urlencode(fields).encode()
        stamp = str(int(time.time()))
        mac = hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
        return self._post(
            "/slack/events",
            body,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": "v0=" + mac.hexdigest(),
            },
        )

    def command(self, text: str) -> int:
        return self._slack(
            {
                "team_id": "T0FAKE",
                "channel_id": "C0BENCH",
                "user_id": USER,
                "command": "/dit",
                "text": text,
                "response_url": self.fake.response_url("bench"),
                "trigger_id": self.fake.new_trigger_id(),
                "api_app_id": "A0FAKE",
            }
        )

    def form(self, number: str) -> int:
        state = {
            "values": {
                "type": {"type": {"type": "static_select", "selected_option": {"value": "appel"}}},
                "detail": {"detail": {"type": "plain_text_input", "value": "Appel du client."}},
            }
        }
        payload = {
            "type": "view_submission",
            "team": {"id": "T0FAKE"},
            "user": {"id": USER},
            "api_app_id": "A0FAKE",
            "trigger_id": self.fake.new_trigger_id(),
            "view": {
                "id": "V0BENCH",
                "type": "modal",
                "callback_id": "exchange_received",
                "private_metadata": seal(
                    SECRET, ExchangeFormMeta(direction=Direction.RECEIVED, dit=number)
                ),
                "blocks": [],
                "state": state,
                "hash": "h",
            },
        }
        return self._slack({"payload": json.dumps(payload)})

    def webhook(self, number: str, contact: str) -> int:
        body = json.dumps(
            {
                "message_id": f"mem-{self.port}-{self.sent}-{self.rng.random()}",
                "dit": number,
                "contact": contact,
                "detail": "Le copieur fait encore un bruit.",
            }
        ).encode()
        headers = {"Content-Type": "application/json", **signed_headers(PORTAL_SECRET, body)}
        return self._post("/api/v1/portal/messages", body, headers)

    def page(self, number: str, contact: str) -> int:
        try:
            self.connection.request("GET", "/portal/" + make_token(PORTAL_SECRET, number, contact))
            response = self.connection.getresponse()
            response.read()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            return 0
        return response.status

    def one(self) -> None:
        number, contact = self.rng.choice(self.targets)
        kind = KINDS[self.sent % len(KINDS)]
        self.sent += 1
        if kind == "help":
            self.command("help")
        elif kind == "panel":
            self.command(number)
        elif kind == "form":
            self.form(number)
        elif kind == "webhook":
            self.webhook(number, contact)
        else:
            self.page(number, contact)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--dits", type=int, default=2000)
    parser.add_argument("--database-url", help=DATABASE_HELP)
    args = parser.parse_args(argv)
    with scratch_database(args.database_url, "memory") as url:
        return run(args, url)


def run(args: argparse.Namespace, url: str) -> int:
    """The mixed requests against ditbot served on the scratch database `url`."""
    workdir = tempfile.TemporaryDirectory(prefix="ditbot-bench-memory-")
    build_database(url, args.dits)
    db = Database(url)
    with db.session() as session:
        targets = [
            (number, code)
            for number, code in session.execute(
                select(Dit.number, Contact.code)
                .join(Contact, Contact.id == Dit.contact_id)
                .where(Dit.state.in_(["en_cours", "saisie_externe"]))
                .limit(500)
            )
        ]
    db.dispose()
    with FakeSlack() as fake:
        fake.add_user(USER, email="tech0@sav.example", locale="fr-FR")
        env = {
            "DATABASE_URL": url,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.base_url,
            "DITBOT_PORTAL_SECRET": PORTAL_SECRET,
            "DITBOT_LOCALE": "fr",
        }
        served = serve("ditbot", env, Path(workdir.name) / "none.env")
        pid = served.process.pid
        assert pid is not None
        try:
            start_mb = rss_mb(pid)
            half = args.requests // 2
            lock = threading.Lock()
            count = [0]
            marks: dict[str, float] = {}
            started = time.monotonic()

            def worker(index: int) -> None:
                client = Client(served.port, fake, targets)
                client.rng.seed(index)
                while True:
                    with lock:
                        if count[0] >= args.requests:
                            return
                        count[0] += 1
                        n = count[0]
                    client.one()
                    if n == half:
                        marks["half"] = rss_mb(pid)

            with ThreadPoolExecutor(args.clients) as pool:
                list(pool.map(worker, range(args.clients)))
            elapsed = time.monotonic() - started
            time.sleep(2)  # the work after the last acks
            end_mb = rss_mb(pid)
        finally:
            served.stop()
            workdir.cleanup()
    half_mb = marks.get("half", end_mb)
    growth = (end_mb - half_mb) / half_mb if half_mb else 0.0
    print(
        f"{args.requests:,} mixed requests ({', '.join(KINDS)}) from {args.clients} clients in "
        f"{elapsed:.0f} s ({args.requests / elapsed:.0f}/s)"
    )
    print(
        f"RSS: start {start_mb:.0f} MB, after {half:,} {half_mb:.0f} MB, "
        f"after {args.requests:,} {end_mb:.0f} MB ({growth * 100:+.1f} % over the second half)"
    )
    checks = [
        (f"RSS at the end {end_mb:.0f} MB (target <= 150 MB)", end_mb <= 150),
        (f"growth over the second half {growth * 100:+.1f} % (target <= 5 %)", growth <= 0.05),
    ]
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
