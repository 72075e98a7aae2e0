"""The managers' weekly digest (issue 12): built, posted, and scheduled by `ditbot serve`.

For each team with a managers' channel (else once, for everyone, in DITBOT_CHANNEL_RELANCES):
the figures of `/dit stats` for the week against the week before, the five longest waits, and
one chart (PNG, matplotlib), in the team's language. Posted as a message, the chart uploaded
in its thread with Slack's external upload flow (files.getUploadURLExternal, the bytes, then
files.completeUploadExternal).

`DigestScheduler`, run by the dispatcher of `ditbot serve` when DITBOT_DIGEST_AT is set,
posts each team's digest of the week just ended once per week, at that time or, after
downtime, when ditbot comes back (once, not once per week missed). The first scan of a
team (DITBOT_DIGEST_AT just set, a new managers' channel) starts its schedule: its first
digest is the next one due, not the week before. Without a table of its
own: the lane `digest@<team>` (delivery_lanes, leased by one process at a time) serialises
the processes, and the week posted is recorded as a processed event `digest@<team>@<week>`
(a primary key, so a second process, or a restart, sees it). Slack failing leaves nothing
recorded: the next scan tries again, and the lane's last error is shown by `ditbot doctor`.
A process that died between the post and the record is covered by looking for the post's
metadata in the channel first.
"""

from __future__ import annotations

import http.client
import io
import logging
import re
import time as monotonic_time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.views.stats import day_text, digest_message
from bot.workers.slack_history import LOOKBACK_SECONDS, messages_since
from ditbot.core.context import Context
from ditbot.core.i18n import Translator, _, normalize_locale
from ditbot.core.settings import parse_digest_at
from ditbot.delivery.dispatcher import owner_id
from ditbot.domain import stats
from ditbot.domain.business_time import BusinessCalendar
from ditbot.domain.errors import DomainError
from storage import outbox
from storage.models import DeliveryLane, ProcessedEvent, Team
from storage.types import utcnow

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
DIGEST_EVENT = "ditbot_digest"  # metadata event_type of a digest post, naming team and week
KEEP = timedelta(days=8)  # a week's record outlives the next digest (processed events are purged)
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
    from matplotlib.ticker import MaxNLocator

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
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.2 of an exchange
    axes.set_ylim(bottom=0)
    axes.set_title(title)
    axes.legend(loc="upper right")
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def digest_teams(ctx: Context) -> list[Team | None]:
    """The teams with a managers' channel, each with its digest; else None: one for everyone."""
    with ctx.db.session() as session:
        teams: list[Team | None] = [
            team for team in stats.all_teams(session) if team.channel_managers
        ]
        session.expunge_all()
    return teams or [None]


def digest_key(team: Team | None) -> str:
    """The name of a team's digest (files, lanes): its code, or "all"."""
    return team.code if team else "all"


def build_digests(
    ctx: Context,
    now: datetime,
    week: str | None = None,
    teams: list[Team | None] | None = None,
) -> list[Digest]:
    """The digest of each of `teams` (default: `digest_teams`) for `week` (default: the last
    complete week before `now`)."""
    settings = ctx.settings
    calendar = BusinessCalendar.from_settings(settings)
    period = week_of(week, now, calendar)
    previous = period.previous()
    digests = []
    for team in digest_teams(ctx) if teams is None else teams:
        t = Translator(normalize_locale(team.locale if team else None, settings.locale))
        with ctx.db.session() as session:
            this = stats.compute(session, period, calendar, settings, team)
            before = stats.compute(session, previous, calendar, settings, team)
            waits = stats.longest_waits(session, now, calendar, settings, team, limit=LONGEST)
        name = team.name if team else None
        message = digest_message(t, name, this, before, waits)
        this_days, relances = daily_counts(ctx, period, calendar, team)
        last_days, _unused = daily_counts(ctx, previous, calendar, team)
        monday = day_text(t, period.first_day or period.start.date())
        title = t(_("Exchanges per day, week of {monday}"), monday=monday)
        chart = render_chart(t, this_days, last_days, relances, title)
        digests.append(
            Digest(
                key=digest_key(team),
                channel=(team.channel_managers if team else None) or settings.channel_relances,
                message=message,
                chart=chart,
                chart_title=title,
            )
        )
    return digests


# 429s in a row a digest posted at once (`ditbot digest`, the playground's button) waits out:
# the managers' channel may take a notification or an escalation every second meanwhile, and
# a weekly message can wait a few seconds for its turn.
DIGEST_RATE_LIMIT_RETRIES = 10


def post(ctx: Context, digests: list[Digest], client: Any) -> list[str]:
    """Post each digest and upload its chart in the message's thread; the channels told."""
    told = []
    for digest in digests:
        if digest.channel is None:
            continue
        post_one(client, digest)
        told.append(digest.channel)
    return told


def post_one(client: Any, digest: Digest, metadata: dict[str, Any] | None = None) -> str:
    """Post `digest` (to its channel, which is set) with `metadata`, then its chart in the
    message's thread; the message's ts."""
    extra = {"metadata": metadata} if metadata else {}
    answer = client.chat_postMessage(
        channel=digest.channel, parse="none", unfurl_links=False, **extra, **digest.message
    )
    upload_chart(client, digest, str(answer["ts"]))
    return str(answer["ts"])


def upload_chart(client: Any, digest: Digest, thread_ts: str) -> None:
    """The digest's chart, in the thread of its message (Slack's external upload flow)."""
    client.files_upload_v2(
        channel=digest.channel,
        thread_ts=thread_ts,
        file=digest.chart,
        filename=f"digest-{digest.key}.png",
        title=digest.chart_title,
        alt_txt=digest.chart_title,
    )


def last_due(now: datetime, weekday: int, at: time, calendar: BusinessCalendar) -> datetime:
    """The last moment, at or before `now`, that is `weekday` at `at` in the company's zone."""
    local = now.astimezone(calendar.zone)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    due = datetime.combine(day, at, tzinfo=calendar.zone)
    if due > local:
        due = datetime.combine(day - timedelta(days=7), at, tzinfo=calendar.zone)
    return due.astimezone(UTC)


def digest_mark(key: str, week: str) -> dict[str, Any]:
    return {"event_type": DIGEST_EVENT, "event_payload": {"team": key, "week": week}}


class DigestScheduler:
    """Posts the weekly digests when they fall due (see the module docstring)."""

    name = "digest"

    def __init__(
        self,
        ctx: Context,
        client: Any,
        *,
        clock: Clock = utcnow,
        every: float | None = None,
        lease_seconds: float = 300.0,
        owner: str | None = None,
        monotonic: Callable[[], float] = monotonic_time.monotonic,
    ) -> None:
        self.ctx = ctx
        self.client = client
        self.clock = clock
        self.schedule = parse_digest_at(ctx.settings.digest_at)
        self.every = float(ctx.settings.reminder_scan_seconds if every is None else every)
        self.lease_seconds = lease_seconds
        self.owner = owner or owner_id()
        self.calendar = BusinessCalendar.from_settings(ctx.settings)
        self._monotonic = monotonic
        self._last: float | None = None

    def run_once(self) -> bool:
        """Look every `every` seconds; never busy (the digest is weekly)."""
        if self.schedule is None:
            return False
        now = self._monotonic()
        if self._last is not None and now - self._last < self.every:
            return False
        self._last = now
        self.scan_once()
        return False

    def scan_once(self) -> list[str]:
        """Post the digests due and not yet posted; the keys of those posted."""
        if self.schedule is None:
            return []
        now = self.clock()
        due = last_due(now, *self.schedule, self.calendar)
        week = week_of(None, due, self.calendar).label
        posted = []
        for team in digest_teams(self.ctx):
            key = digest_key(team)
            if self._post_if_due(team, key, week, now, due):
                posted.append(key)
        return posted

    def _post_if_due(
        self, team: Team | None, key: str, week: str, now: datetime, due: datetime
    ) -> bool:
        lane, done = f"digest@{key}", f"digest@{key}@{week}"
        with self.ctx.db.session() as session:
            if session.get(ProcessedEvent, done) is not None:
                return False
            started = session.get(DeliveryLane, lane) is not None
            held = outbox.acquire_lane(session, lane, self.owner, lease_seconds=self.lease_seconds)
            if held is None:
                return False  # another process is posting it
            if not started:  # the schedule starts: the first digest is the next one due
                session.add(ProcessedEvent(event_id=done, received_at=now + KEEP))
                outbox.release_lane(session, lane, self.owner)
                return False
        try:
            with self.ctx.db.session() as session:  # posted meanwhile by the lane's last holder?
                if session.get(ProcessedEvent, done) is not None:
                    outbox.release_lane(session, lane, self.owner)
                    return False
            # The week just ended at `due`; the longest waits as they are now.
            year, number, _day = date.fromisoformat(week).isocalendar()
            (digest,) = build_digests(self.ctx, now, week=f"{year}-W{number:02d}", teams=[team])
            earlier = None if digest.channel is None else self._earlier_post(digest, key, week, due)
            if digest.channel is None:
                log.info("digest of %s: no channel to post it in", key)
            elif earlier is None:
                post_one(self.client, digest, digest_mark(key, week))
            elif self._chart_shared(digest.channel, earlier):
                log.info("digest of %s for %s was posted before a crash: not again", key, week)
            else:  # the message went out, its chart did not (Slack failed, or a crash)
                upload_chart(self.client, digest, str(earlier["ts"]))
        except SlackApiError as error:
            self._release(lane, f"digest of {key}: {error.response.get('error')}")
            return False
        except (OSError, http.client.HTTPException) as error:
            self._release(lane, f"digest of {key}: {type(error).__name__}: {error}")
            return False
        with self.ctx.db.session() as session:
            session.add(ProcessedEvent(event_id=done, received_at=now + KEEP))
        self._release(lane, None)
        return True

    def _earlier_post(
        self, digest: Digest, key: str, week: str, due: datetime
    ) -> dict[str, Any] | None:
        """This week's digest message if it is already in the channel (a crash, or a failed
        chart upload, after it was posted)."""
        wanted = digest_mark(key, week)
        try:
            oldest = due.timestamp() - LOOKBACK_SECONDS
            for message in messages_since(self.client, str(digest.channel), oldest):
                if message.get("metadata") == wanted:
                    return dict(message)
        except (SlackApiError, OSError, http.client.HTTPException) as error:
            log.warning("digest of %s: cannot look for an earlier post (%s)", key, error)
        return None

    def _chart_shared(self, channel: str, message: dict[str, Any]) -> bool:
        """Whether a file (the chart) is among the replies of `message`."""
        if not message.get("reply_count"):
            return False
        replies = messages_since(self.client, channel, float(message["ts"]), message["ts"])
        return any(m.get("files") and m.get("ts") != message["ts"] for m in replies)

    def _release(self, lane: str, error: str | None) -> None:
        if error is not None:
            log.warning("%s; tried again at the next scan", error)
        with self.ctx.db.session() as session:
            outbox.release_lane(session, lane, self.owner, error=error, clear_error=error is None)
