"""Benchmark: from the Send of the mail form to the SMTP server accepting the mail.

Runs everything on loopback and stops by itself:
- ditbot as `ditbot serve` builds it (`ditbot.server.build`: Flask + bolt + the outbox
  dispatcher), served by waitress, a Slack Web API fake, a real SMTP server (aiosmtpd);
- a bare bolt app whose only listener acks the same submission, served the same way.

For N mails (default 200), one after the other: a signed `view_submission` of the mail form,
as pushed on the DIT's panel, is POSTed; we time its HTTP answer (the ack) and the moment the
SMTP server accepts the mail. Then the same submission is POSTed N times to the bare app.
Printed: p50/p99 of Send -> SMTP accepted, of ditbot's ack, of the bare ack, and the ratios.
The ack must not wait for SMTP: its p50 stays below the Send -> SMTP time. Between two Sends
the bench waits for the previous one's background work (delivery, panel redraw) to finish.

    python bench/bench_mail.py [--mails 200] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
from flask import Flask, request
from slack_bolt import Ack, App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient
from waitress.server import create_server

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ditbot.server import build  # noqa: E402
from ditbot.settings import Settings  # noqa: E402
from tests.factories import seed_reference  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.mail.smtp_server import SmtpServer  # noqa: E402
from tests.slack.harness import (  # noqa: E402
    block_actions_payload,
    command_payload,
    find_element,
    sign,
    view_state,
    view_submission_payload,
)

SECRET = "bench-signing-secret"
WARM_UP = 5
USER = "UJDU"


class Served:
    """A WSGI app served by waitress on 127.0.0.1 (port 0), in a thread."""

    def __init__(self, app: Any, threads: int = 16) -> None:
        self.server = create_server(app, host="127.0.0.1", port=0, threads=threads)
        self.url = f"http://127.0.0.1:{self.server.effective_port}/slack/events"  # type: ignore[union-attr]
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="waitress")
        self.thread.start()

    def close(self) -> None:
        self.server.close()


def bare_app(fake: FakeSlack) -> Flask:
    """A bolt app that only acks the mail form's submission, served like ditbot's."""
    from concurrent.futures import ThreadPoolExecutor

    bolt = App(
        client=WebClient(token="xoxb-bench", base_url=fake.base_url),
        signing_secret=SECRET,
        process_before_response=False,
        listener_executor=ThreadPoolExecutor(max_workers=16),
    )

    @bolt.view("mail_compose")
    def ack_only(ack: Ack) -> None:
        ack()

    handler = SlackRequestHandler(bolt)
    web = Flask("bare")

    @web.post("/slack/events")
    def events() -> Any:
        return handler.handle(request)

    return web


def post(session: requests.Session, url: str, fields: dict[str, str]) -> requests.Response:
    from urllib.parse import urlencode

    body = urlencode(fields).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=SECRET)}
    return session.post(url, data=body, headers=headers, timeout=10)


def settle(runtime: Any, fake: FakeSlack, panels: int, timeout: float = 30.0) -> None:
    """Wait until the previous Send's background work is over (its mail marked sent, its panel
    redrawn), so each ack is measured like the bare app's: without our own leftovers."""
    from sqlalchemy import func, select

    from storage.models import Exchange

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with runtime.ctx.db.session() as session:
            queued = session.scalar(
                select(func.count()).select_from(Exchange).where(Exchange.mail_status != "sent")
            )
        redrawn = len([c for c in fake.calls_to("views.update") if c.ok])
        if not queued and redrawn >= panels:
            return
        time.sleep(0.002)
    raise RuntimeError("the background work of a Send did not finish in time")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(name: str, values: list[float]) -> str:
    p50, p99 = percentile(values, 50) * 1000, percentile(values, 99) * 1000
    mean = statistics.mean(values) * 1000
    return f"{name:<34} p50 {p50:8.2f} ms   p99 {p99:8.2f} ms   mean {mean:8.2f} ms"


def run(mails: int, database_url: str | None) -> int:
    logging.basicConfig(level=logging.WARNING)
    folder = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    database = database_url or f"sqlite:///{folder / 'bench.db'}"
    with FakeSlack() as fake, SmtpServer() as smtp:
        fake.add_user(USER, email="j.dupuis@sav.example", locale="fr-FR")
        settings = Settings.from_env(
            {
                "DATABASE_URL": database,
                "SLACK_BOT_TOKEN": "xoxb-bench",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": fake.base_url,
                "DITBOT_PORTAL_SECRET": "bench-portal-secret",
                "DITBOT_MAIL_FROM": "DIT SAV <sav@sav.example>",
                "SMTP_HOST": smtp.host,
                "SMTP_PORT": str(smtp.port),
            },
            dotenv=folder / "none.env",
        )
        runtime = build(settings)
        with runtime.ctx.db.session() as session:
            seed_reference(session)
        runtime.dispatcher.start()
        ditbot_http, bare_http = Served(runtime.web), Served(bare_app(fake))
        http = requests.Session()
        try:
            # The mail form as ditbot pushes it on the DIT's panel (sealed metadata and all).
            command = command_payload(
                "DIT-2026-0001",
                user=USER,
                response_url=fake.response_url("bench"),
                trigger_id=fake.new_trigger_id(),
            )
            post(http, ditbot_http.url, command).raise_for_status()
            [opened] = fake.wait_for("views.open")
            panel = fake.view(opened.response["view"]["id"])
            assert panel is not None
            block, button = find_element(panel["blocks"], "compose_mail")
            click = block_actions_payload(
                user=USER,
                action={
                    "action_id": "compose_mail",
                    "block_id": block["block_id"],
                    "type": "button",
                    "value": button["value"],
                    "action_ts": f"{time.time():.6f}",
                },
                trigger_id=fake.new_trigger_id(),
                view=panel,
            )
            post(http, ditbot_http.url, {"payload": json.dumps(click)}).raise_for_status()
            [pushed] = fake.wait_for("views.push")
            form = fake.view(pushed.response["view"]["id"])
            assert form is not None and form["callback_id"] == "mail_compose"

            def submission(i: int) -> dict[str, str]:
                view = dict(form, id=f"VBENCH{i:06d}")  # one form per mail (idempotency key)
                payload = view_submission_payload(
                    view,
                    user=USER,
                    state=view_state(view, {"detail": f"Mail de mesure n° {i}"}),
                    trigger_id=fake.new_trigger_id(),
                )
                return {"payload": json.dumps(payload)}

            # Warm-up (imports, connections, first templates), not measured.
            for i in range(WARM_UP):
                post(http, ditbot_http.url, submission(-1 - i)).raise_for_status()
                post(http, bare_http.url, submission(-1 - i)).raise_for_status()
            smtp.wait_for(WARM_UP, timeout=30)
            settle(runtime, fake, panels=WARM_UP)

            acks: list[float] = []
            end_to_end: list[float] = []
            for i in range(mails):
                fields = submission(i)
                already = len(smtp.received)
                start = time.time()
                answer = post(http, ditbot_http.url, fields)
                acks.append(time.time() - start)
                if answer.status_code != 200 or answer.content:
                    print(f"submission {i} refused: {answer.status_code} {answer.text[:200]}")
                    return 1
                received = smtp.wait_for(already + 1, timeout=30)[already]
                end_to_end.append(received.at - start)
                settle(runtime, fake, panels=i + 1 + WARM_UP)

            bare: list[float] = []
            for i in range(mails):
                fields = submission(mails + i)
                start = time.time()
                post(http, bare_http.url, fields).raise_for_status()
                bare.append(time.time() - start)
        finally:
            http.close()
            ditbot_http.close()
            bare_http.close()
            runtime.dispatcher.stop()
            runtime.ctx.db.dispose()

    print(f"bench_mail: {mails} mails, database {database.split(':')[0]}, SMTP + Slack on loopback")
    print(summary("Send -> SMTP accepted (ditbot)", end_to_end))
    print(summary("ack of the Send (ditbot)", acks))
    print(summary("ack, bare bolt app (baseline)", bare))
    ratio_ack = percentile(acks, 50) / percentile(bare, 50)
    ratio_ack99 = percentile(acks, 99) / percentile(bare, 99)
    share = percentile(acks, 50) / percentile(end_to_end, 50)
    print(f"ratio ack ditbot / bare bolt: p50 x{ratio_ack:.2f}, p99 x{ratio_ack99:.2f}")
    print(f"ratio ack / Send->SMTP (p50): {share:.2f} (below 1: the ack does not wait for SMTP)")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    raise SystemExit(run(args.mails, args.database_url))


if __name__ == "__main__":
    main()
