"""Benchmark: from the Send of the mail form to the SMTP server accepting the mail.

    python bench/bench_mail.py [--mails 200] [--database-url postgresql://...]

Everything runs on loopback and stops by itself (under a minute):
- ditbot as `ditbot serve` builds it (`ditbot.cli.serve.build`: Flask + bolt + the outbox
  dispatcher and its mail worker), served by waitress in its own process;
- a bare bolt app whose only listener acks the same submission, served the same way in its
  own process (the baseline);
- in this process: the load generator, the Slack Web API fake and a real SMTP server (aiosmtpd).

For N mails (default 200), one after the other: a signed `view_submission` of the mail form,
as pushed on the DIT's panel, is POSTed; we time its HTTP answer (the ack) and the moment the
SMTP server accepts the mail. Between two Sends the bench waits for the previous one's
background work (delivery, panel redraw) to be over, so each ack is measured like the bare
app's. Then the same submissions go N times to the bare app. Printed: p50/p99 of Send -> SMTP
accepted, of ditbot's ack, of the bare ack, and the ratios. The ack does not wait for SMTP: it
answers once the mail is recorded and queued (one transaction), before delivery starts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import DATABASE_HELP, scratch_database  # noqa: E402
from bench.serving import SECRET, serve  # noqa: E402
from ditbot.playground.slack_api import FakeSlack  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Exchange  # noqa: E402
from tests.factories import seed_reference  # noqa: E402
from tests.mail.smtp_server import SmtpServer  # noqa: E402
from tests.slack.harness import (  # noqa: E402
    block_actions_payload,
    command_payload,
    find_element,
    sign,
    view_state,
    view_submission_payload,
)

WARM_UP = 5
USER = "UJDU"


# -- load -------------------------------------------------------------------------------------
def post(session: requests.Session, url: str, fields: dict[str, str]) -> requests.Response:
    body = urlencode(fields).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=SECRET)}
    return session.post(url, data=body, headers=headers, timeout=10)


def open_mail_form(http: requests.Session, url: str, fake: FakeSlack) -> dict[str, Any]:
    """`/dit DIT-2026-0001`, then the panel's compose_mail: the form as ditbot pushes it."""
    command = command_payload(
        "DIT-2026-0001",
        user=USER,
        response_url=fake.response_url("bench"),
        trigger_id=fake.new_trigger_id(),
    )
    post(http, url, command).raise_for_status()
    [opened] = fake.wait_for("views.open", timeout=30)
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
    post(http, url, {"payload": json.dumps(click)}).raise_for_status()
    [pushed] = fake.wait_for("views.push", timeout=30)
    form = fake.view(pushed.response["view"]["id"])
    assert form is not None and form["callback_id"] == "mail_compose"
    return form


def settle(db: Database, fake: FakeSlack, panels: int, timeout: float = 30.0) -> None:
    """Wait until the previous Sends' background work is over: mails sent, panels redrawn."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session() as session:
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


def run(mails: int, database_url: str) -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    dotenv = folder / "none.env"
    database = database_url
    db = Database(database)
    db.upgrade()
    with db.session() as session:
        seed_reference(session)
    with FakeSlack() as fake, SmtpServer() as smtp:
        fake.add_user(USER, email="j.dupuis@sav.example", locale="fr-FR")
        env = {
            "DATABASE_URL": database,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.base_url,
            "DITBOT_PORTAL_SECRET": "bench-portal-secret-ZmC4o0v7Xq2yT9kLwR5a",
            "DITBOT_MAIL_FROM": "DIT SAV <sav@sav.example>",
            "SMTP_HOST": smtp.host,
            "SMTP_PORT": str(smtp.port),
        }
        ditbot, bare = serve("ditbot", env, dotenv), serve("bare", env, dotenv, bare="mail")
        http = requests.Session()
        try:
            form = open_mail_form(http, ditbot.url, fake)

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
                post(http, ditbot.url, submission(-1 - i)).raise_for_status()
                post(http, bare.url, submission(-1 - i)).raise_for_status()
            smtp.wait_for(WARM_UP, timeout=30)
            settle(db, fake, panels=WARM_UP)

            acks: list[float] = []
            end_to_end: list[float] = []
            for i in range(mails):
                fields = submission(i)
                already = len(smtp.received)
                start = time.time()
                answer = post(http, ditbot.url, fields)
                acks.append(time.time() - start)
                if answer.status_code != 200 or answer.content:
                    print(f"submission {i} refused: {answer.status_code} {answer.text[:200]}")
                    return 1
                received = smtp.wait_for(already + 1, timeout=30)[already]
                end_to_end.append(received.at - start)
                settle(db, fake, panels=WARM_UP + i + 1)

            baseline: list[float] = []
            for i in range(mails):
                fields = submission(mails + i)
                start = time.time()
                post(http, bare.url, fields).raise_for_status()
                baseline.append(time.time() - start)
        finally:
            http.close()
            ditbot.stop()
            bare.stop()
            db.dispose()

    print(f"bench_mail: {mails} mails, database {database.split(':')[0]}, all on loopback")
    print(summary("Send -> SMTP accepted (ditbot)", end_to_end))
    print(summary("ack of the Send (ditbot)", acks))
    print(summary("ack, bare bolt app (baseline)", baseline))
    p50_ratio = percentile(acks, 50) / percentile(baseline, 50)
    p99_ratio = percentile(acks, 99) / percentile(baseline, 99)
    print(f"ratio ack ditbot / bare bolt: p50 x{p50_ratio:.2f}, p99 x{p99_ratio:.2f}")
    share = percentile(acks, 50) / percentile(end_to_end, 50)
    print(f"ratio ack / Send->SMTP accepted (p50): {share:.2f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=200)
    parser.add_argument("--database-url", default=None, help=DATABASE_HELP)
    args = parser.parse_args(argv)
    with scratch_database(args.database_url, "mail") as database_url:
        return run(args.mails, database_url)


if __name__ == "__main__":
    raise SystemExit(main())
