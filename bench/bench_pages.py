"""Pages benchmark: the portal page, the Slack panel and App Home of a DIT with 10 exchanges and
of one with 5,000 (issue 13: "pages flat in history").

    python bench/bench_pages.py [--small 10] [--page 60] [--large 5000] [--reads 200]

One database holds both DITs (same client, same contact, same technician); the exchanges are
portal messages of the contact and staff notes, one a minute. Each read is timed the way ditbot
serves it, in this process: `GET /portal/<token>` through the web app (the latest page of the
conversation), `bot.flows.panel.build_panel` (the panel's first page: the DIT and its latest
exchanges) and `bot.flows.home.build_home` (the technician's Home). A third DIT holds `--page`
exchanges, more than one page shows: 10 exchanges fill less of a page than 5,000, so the
history's own cost is the ratio 5,000 / `--page` (target: within 1.5x); the ratio to 10 is
printed too. Prints p50 and the weight of each answer. Exits 1 when missed. Not part of pytest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from bench.scratch import DATABASE_HELP, scratch_database  # noqa: E402
from bot.deps import Deps  # noqa: E402
from bot.flows.home import build_home  # noqa: E402
from bot.flows.panel import build_panel  # noqa: E402
from bot.requester import Requester  # noqa: E402
from ditbot.core.context import Context  # noqa: E402
from ditbot.core.i18n import Translator  # noqa: E402
from ditbot.core.settings import Settings  # noqa: E402
from ditbot.domain.exchanges import Actor  # noqa: E402
from ditbot.domain.reference import import_data  # noqa: E402
from ditbot.portal.tokens import make_token  # noqa: E402
from ditbot.web.app import create_web_app  # noqa: E402
from storage import repositories as repo  # noqa: E402
from storage.models import Exchange  # noqa: E402

SECRET = "bench-pages-portal-secret-7c1e9a3f5d"
START = datetime(2026, 1, 1, 8, tzinfo=UTC)
REFERENCE = {
    "collaborators": [
        {"code": "TEC", "name": "Tess Tech", "mail1": "tess@sav.example", "slack_user_id": "UTEC"}
    ],
    "clients": [
        {
            "code": "ACME",
            "name": "Acme SA",
            "contacts": [{"code": "ACME-PM", "name": "Paul Martin", "mail1": "pm@acme.example"}],
        }
    ],
    "dits": [
        {
            "number": f"DIT-{size}",
            "client": "ACME",
            "contact": "ACME-PM",
            "title": "Copieur",
            "technician": "TEC",
        }
        for size in ("small", "page", "large")
    ],
}


def fill(ctx: Context, number: str, count: int) -> None:
    """`count` exchanges on DIT `number`: two portal messages for one staff note."""
    with ctx.db.session() as session:
        dit = repo.dit_by_number(session, number)
        contact = repo.contact_by_code(session, "ACME-PM")
        tech = repo.collaborator_by_code(session, "TEC")
        assert dit is not None and contact is not None and tech is not None
        rows: list[dict[str, Any]] = []
        for n in range(count):
            portal = n % 3 != 2
            rows.append(
                {
                    "dit_id": dit.id,
                    "direction": "received",
                    "type_code": "complement" if portal else "appel",
                    "sent_by_contact_id": contact.id,
                    "received_by_collaborator_id": tech.id,
                    "detail": f"Message {n}: " + "le copieur fait un bruit étrange. " * 4,
                    "occurred_at": START + timedelta(minutes=n),
                    "source": "portal" if portal else "slack",
                    "author_contact_id": contact.id if portal else None,
                    "author_collaborator_id": None if portal else tech.id,
                }
            )
        session.execute(insert(Exchange), rows)
        dit.exchange_count = count
        dit.last_exchange_at = START + timedelta(minutes=count)


def timed(read: Callable[[], int], reads: int) -> tuple[float, int]:
    """(p50 seconds, size of the last answer) of `reads` calls after 10 to warm up."""
    for _ in range(10):
        read()
    times = []
    size = 0
    for _ in range(reads):
        started = time.perf_counter()
        size = read()
        times.append(time.perf_counter() - started)
    return statistics.median(times), size


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--page", type=int, default=60, help="more than one page holds")
    parser.add_argument("--large", type=int, default=5000)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--database-url", help=DATABASE_HELP)
    args = parser.parse_args(argv)
    with scratch_database(args.database_url, "pages") as url:
        return run(args, url)


def run(args: argparse.Namespace, url: str) -> int:
    """The three pages read with a short and a long history, on the scratch database `url`."""
    workdir = tempfile.TemporaryDirectory(prefix="ditbot-bench-pages-")
    settings = Settings.from_env(
        {"DATABASE_URL": url, "DITBOT_PORTAL_SECRET": SECRET, "DITBOT_LOCALE": "fr"},
        dotenv=Path(workdir.name) / "none.env",
    )
    ctx = Context.from_settings(settings)
    ctx.db.upgrade()
    with ctx.db.session() as session:
        import_data(session, REFERENCE)
    fill(ctx, "DIT-small", args.small)
    fill(ctx, "DIT-page", args.page)
    fill(ctx, "DIT-large", args.large)
    web = create_web_app(ctx).test_client()
    deps = Deps(ctx=ctx)
    t = Translator("fr")
    with ctx.db.session() as session:
        tech = repo.collaborator_by_code(session, "TEC")
        assert tech is not None
        requester = Requester(user_id="UTEC", locale="fr", collaborator_id=tech.id, code="TEC")

    def portal(number: str) -> Callable[[], int]:
        link = "/portal/" + make_token(SECRET, number, "ACME-PM")
        return lambda: len(web.get(link).get_data())

    def panel(number: str) -> Callable[[], int]:
        def read() -> int:
            with ctx.db.session() as session:
                actor = Actor(source="slack", collaborator=requester.collaborator(session))
                view = build_panel(session, "bench-secret", t, actor, number)
            return len(str(view.to_dict()))

        return read

    def home(_number: str) -> Callable[[], int]:
        return lambda: len(str(build_home(deps, requester).to_dict()))

    ok = True
    for name, reader in (("portal page", portal), ("Slack panel", panel), ("App Home", home)):
        small, small_size = timed(reader("DIT-small"), args.reads)
        paged, paged_size = timed(reader("DIT-page"), args.reads)
        large, large_size = timed(reader("DIT-large"), args.reads)
        ratio = large / paged
        flat = ratio <= 1.5
        ok = ok and flat
        print(
            f"{name:<12} p50 {small * 1000:6.2f} ms ({small_size} B) with {args.small},"
            f" {paged * 1000:6.2f} ms ({paged_size} B) with {args.page},"
            f" {large * 1000:6.2f} ms ({large_size} B) with {args.large} exchanges;"
            f" ratio {args.large}/{args.page} {ratio:.2f}x, {args.large}/{args.small}"
            f" {large / small:.2f}x {'ok' if flat else 'MISS'}"
        )
    ctx.db.dispose()
    workdir.cleanup()
    print("result: " + ("OK" if ok else "FAILED") + f" (target: {args.large}/{args.page} <= 1.5x)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
