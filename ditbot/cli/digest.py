"""`ditbot digest [--dry-run] [--out DIR] [--week 2026-W48]`: the managers' weekly digest.

For each team with a managers' channel (else once, for everyone, in DITBOT_CHANNEL_RELANCES):
the figures of `/dit stats` for the week against the week before, the five longest waits, and
one chart (PNG, matplotlib), in the team's language. Posted as a message, the chart uploaded
in its thread with Slack's external upload flow (files.getUploadURLExternal, the bytes, then
files.completeUploadExternal). `--dry-run` writes each message (JSON) and chart (PNG) to a
folder and says where; nothing is posted. Run it from cron at the time the managers want it,
e.g. `30 8 * * mon ditbot digest`.
"""

from __future__ import annotations

import argparse
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from ditbot.cli.common import command_context
from ditbot.core.context import Context
from ditbot.core.i18n import Translator, _, normalize_locale
from ditbot.domain import stats
from ditbot.domain.business_time import BusinessCalendar
from ditbot.domain.errors import DomainError
from storage.models import Team
from storage.types import utcnow

LONGEST = 5
CHART_SIZE = (10.0, 4.5)  # inches; 100 dpi: 1000 x 450 pixels
CHART_DPI = 100


@dataclass(frozen=True)
class Digest:
    """One team's digest, ready to post or to write."""

    key: str  # file name stem: the team code, or "all"
    channel: str | None
    message: dict[str, Any]
    chart: bytes
    chart_title: str


def week_of(text: str | None, now: datetime, calendar: BusinessCalendar) -> stats.Period:
    """`2026-W48` (ISO week, in the company's zone), or the last complete week before `now`."""
    zone = calendar.zone
    if text:
        match = re.fullmatch(r"(\d{4})-W(\d{2})", text.strip())
        if not match:
            raise DomainError(_("A week is written 2026-W48."), "week")
        try:
            monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
        except ValueError:
            raise DomainError(_("A week is written 2026-W48."), "week") from None
    else:
        today = now.astimezone(zone).date()
        monday = today - timedelta(days=today.weekday() + 7)
    start = datetime.combine(monday, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=zone).astimezone(UTC)
    return stats.Period(start, end, monday.isoformat(), monday, monday + timedelta(days=6))


def daily_counts(
    ctx: Context, period: stats.Period, calendar: BusinessCalendar, team: Team | None
) -> tuple[list[int], list[int]]:
    """Exchanges and follow-ups of each of the 7 days of `period` (company zone)."""
    exchanges, relances = [0] * 7, [0] * 7
    with ctx.db.session() as session:
        for moment, is_relance in stats.period_moments(session, period, team):
            day = (
                moment.astimezone(calendar.zone).date()
                - period.start.astimezone(calendar.zone).date()
            ).days
            if 0 <= day < 7:
                exchanges[day] += 1
                relances[day] += int(is_relance)
    return exchanges, relances


def render_chart(
    t: Translator,
    this_week: list[int],
    last_week: list[int],
    relances: list[int],
    title: str,
) -> bytes:
    """A PNG: exchanges per day this week against last week, with this week's follow-ups."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render to memory
    from matplotlib.figure import Figure

    days = [
        t(_("Mon")),
        t(_("Tue")),
        t(_("Wed")),
        t(_("Thu")),
        t(_("Fri")),
        t(_("Sat")),
        t(_("Sun")),
    ]
    figure = Figure(figsize=CHART_SIZE, dpi=CHART_DPI)
    axes = figure.subplots()
    positions = list(range(7))
    width = 0.38
    axes.bar(
        [p - width / 2 for p in positions],
        last_week,
        width,
        label=t(_("Previous week")),
        color="#b0bec5",
    )
    axes.bar(
        [p + width / 2 for p in positions],
        this_week,
        width,
        label=t(_("This week")),
        color="#1e88e5",
    )
    axes.plot(positions, relances, marker="o", color="#e53935", label=t(_("Follow-ups")))
    axes.set_xticks(positions, days)
    axes.set_ylabel(t(_("Exchanges")))
    axes.set_title(title)
    axes.legend(loc="upper right")
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def build_digests(ctx: Context, now: datetime, week: str | None = None) -> list[Digest]:
    """The digest of each team with a managers' channel, else one for everyone."""
    from bot.views.stats import digest_message

    settings = ctx.settings
    calendar = BusinessCalendar.from_settings(settings)
    period = week_of(week, now, calendar)
    previous = period.previous()
    with ctx.db.session() as session:
        teams: list[Team | None] = [
            team for team in stats.all_teams(session) if team.channel_managers
        ]
        session.expunge_all()
    if not teams:
        teams = [None]
    digests = []
    for team in teams:
        t = Translator(normalize_locale(team.locale if team else None, settings.locale))
        with ctx.db.session() as session:
            this = stats.compute(session, period, calendar, settings, team)
            before = stats.compute(session, previous, calendar, settings, team)
            waits = stats.longest_waits(session, now, calendar, settings, team, limit=LONGEST)
        name = team.name if team else None
        message = digest_message(t, name, this, before, waits)
        this_days, relances = daily_counts(ctx, period, calendar, team)
        last_days, _unused = daily_counts(ctx, previous, calendar, team)
        title = t(_("Exchanges per day, week of {monday}"), monday=period.label)
        chart = render_chart(t, this_days, last_days, relances, title)
        digests.append(
            Digest(
                key=team.code if team else "all",
                channel=(team.channel_managers if team else None) or settings.channel_relances,
                message=message,
                chart=chart,
                chart_title=title,
            )
        )
    return digests


def post(ctx: Context, digests: list[Digest], client: Any) -> list[str]:
    """Post each digest and upload its chart in the message's thread; the channels told."""
    told = []
    for digest in digests:
        if digest.channel is None:
            continue
        answer = client.chat_postMessage(
            channel=digest.channel, parse="none", unfurl_links=False, **digest.message
        )
        client.files_upload_v2(
            channel=digest.channel,
            thread_ts=answer["ts"],
            file=digest.chart,
            filename=f"digest-{digest.key}.png",
            title=digest.chart_title,
            alt_txt=digest.chart_title,
        )
        told.append(digest.channel)
    return told


def write(digests: list[Digest], folder: Path) -> list[Path]:
    """Write each digest's message (JSON, as posted) and chart (PNG) into `folder`."""
    from slack_sdk.models import JsonObject

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for digest in digests:
        message = {
            "channel": digest.channel,
            "text": digest.message["text"],
            "blocks": [
                b.to_dict() if isinstance(b, JsonObject) else b for b in digest.message["blocks"]
            ],
        }
        data = folder / f"digest-{digest.key}.json"
        data.write_text(json.dumps(message, ensure_ascii=False, indent=2), encoding="utf-8")
        chart = folder / f"digest-{digest.key}.png"
        chart.write_bytes(digest.chart)
        written += [data, chart]
    return written


def cmd_digest(args: argparse.Namespace) -> int:
    ctx = command_context(args)
    now = utcnow()
    digests = build_digests(ctx, now, args.week)
    if args.dry_run:
        folder = Path(args.out or f"digest-{now.astimezone(UTC):%Y%m%d-%H%M%S}")
        for path in write(digests, folder):
            print(path)
        print(f"dry run: nothing posted; the digest is in {folder}/")
        return 0
    args.settings.require("SLACK_BOT_TOKEN")
    from slack_sdk import WebClient

    client = WebClient(token=args.settings.slack_bot_token, base_url=args.settings.slack_api_url)
    told = post(ctx, digests, client)
    if not told:
        print(
            "no digest posted: set DITBOT_CHANNEL_RELANCES or a team's channel_managers",
            flush=True,
        )
        return 1
    print("digest posted to " + ", ".join(told))
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Declare `digest` on the `ditbot` command."""
    digest = commands.add_parser("digest", help="post the managers' weekly digest (with a chart)")
    digest.add_argument(
        "--dry-run",
        action="store_true",
        help="write the message and the chart to files, post nothing",
    )
    digest.add_argument(
        "--out", metavar="DIR", help="where --dry-run writes (default: ./digest-<time>)"
    )
    digest.add_argument(
        "--week", metavar="YYYY-Www", help="an ISO week (default: the last complete one)"
    )
    digest.set_defaults(run=cmd_digest)
