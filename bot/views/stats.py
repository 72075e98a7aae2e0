"""Block Kit of the manager's figures (`/dit stats`, the digest): pure builders."""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import format_date
from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)

from bot.ids import Action
from bot.views.text import BUTTON_MAX, HEADER_MAX, escape, mrkdwn, one_line, plain, truncate
from ditbot.core.i18n import Translator, _
from ditbot.domain.stats import Figures, RecentRelance, Stats, Waiting

TOP = 8  # rows per table (technicians, clients)
MANAGER_ROWS = 10  # waits and relances on the manager's Home


def hours(t: Translator, value: float | None) -> str:
    if value is None:
        return "–"
    minutes = round(value * 60)
    whole, rest = divmod(minutes, 60)
    return t(_("{hours} h {minutes}"), hours=whole, minutes=f"{rest:02d}")


def share(value: float | None) -> str:
    return "–" if value is None else f"{round(value * 100)} %"


def figures_line(t: Translator, figures: Figures) -> str:
    return t(
        _(
            "Exchanges: {exchanges} (received {received}, sent {sent}) · follow-ups: {relances} · "
            "first response: median {median}, p90 {p90} · within target: {within}"
        ),
        exchanges=figures.exchanges,
        received=figures.received,
        sent=figures.sent,
        relances=figures.relances,
        median=hours(t, figures.median_hours),
        p90=hours(t, figures.p90_hours),
        within=share(figures.within_share),
    )


def _table(t: Translator, title: str, rows: list[tuple[str, Figures]]) -> str:
    lines = [f"*{title}*"]
    for name, figures in rows[:TOP]:
        lines.append(
            t(
                _(
                    "• {name}: exchanges {exchanges}, follow-ups {relances}, "
                    "median {median}, within target {within}"
                ),
                name=escape(one_line(name)),
                exchanges=figures.exchanges,
                relances=figures.relances,
                median=hours(t, figures.median_hours),
                within=share(figures.within_share),
            )
        )
    if len(rows) > TOP:
        lines.append(t(_("…and {count} more"), count=len(rows) - TOP))
    return "\n".join(lines)


def day_text(t: Translator, day: date) -> str:
    """A day as the user reads it: 25 nov. 2026, Nov 25, 2026."""
    return str(format_date(day, format="medium", locale=t.locale))


def period_text(t: Translator, result: Stats) -> str:
    """The period's first and last day (in the company's zone when known)."""
    period = result.period
    first = period.first_day or period.start.date()
    last = period.last_day or period.end.date()
    return t(_("from {start} to {end}"), start=day_text(t, first), end=day_text(t, last))


def stats_message(t: Translator, result: Stats, team: str | None) -> dict[str, Any]:
    """The ephemeral answer to `/dit stats`."""
    heading = (
        t(_("Figures of {team}"), team=one_line(team)) if team else t(_("Figures of all teams"))
    )
    summary = figures_line(t, result.total)
    blocks: list[Block] = [
        HeaderBlock(text=plain(heading, HEADER_MAX)),
        ContextBlock(elements=[mrkdwn(period_text(t, result))]),
        SectionBlock(text=mrkdwn(summary)),
    ]
    if result.by_technician:
        blocks.append(
            SectionBlock(text=mrkdwn(_table(t, t(_("Per technician")), result.by_technician)))
        )
    if result.by_client:
        blocks.append(SectionBlock(text=mrkdwn(_table(t, t(_("Per client")), result.by_client))))
    text = f"{heading}: {summary}"
    return {"text": escape(truncate(text, 300)), "blocks": blocks}


def when(moment: Any) -> str:
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def wait_line(t: Translator, wait: Waiting) -> str:
    """`*DIT-1* · Acme SA · Jeanne Dupuis — waiting 5 h 10 (1 h 10 over target)`."""
    who = escape(one_line(wait.technician)) if wait.technician else t(_("no technician"))
    over = wait.over.total_seconds() / 3600
    timing = (
        t(
            _("waiting {waited}, {over} over target"),
            waited=hours(t, wait.waited.total_seconds() / 3600),
            over=hours(t, over),
        )
        if over > 0
        else t(
            _("waiting {waited}, within target"),
            waited=hours(t, wait.waited.total_seconds() / 3600),
        )
    )
    return f"*{escape(wait.number)}* · {escape(one_line(wait.client))} · {who} — {timing}"


def manager_blocks(
    t: Translator,
    team: str | None,
    waits: list[Waiting],
    relances: Any,
) -> list[Block]:
    """The manager's section of the Home: longest waits first, then the week's relances."""
    title = (
        t(_("Your team {team}: waiting on us, longest first"), team=one_line(team))
        if team
        else t(_("All teams: waiting on us, longest first"))
    )
    blocks: list[Block] = [HeaderBlock(text=plain(title, HEADER_MAX))]
    for wait in waits[:MANAGER_ROWS]:
        blocks.append(
            SectionBlock(
                text=mrkdwn(wait_line(t, wait)),
                accessory=ButtonElement(
                    action_id=Action.OPEN_PANEL,
                    text=plain(t(_("Open")), BUTTON_MAX),
                    value=wait.number,
                ),
            )
        )
    if not waits:
        blocks.append(ContextBlock(elements=[mrkdwn(t(_("No DIT is waiting on us.")))]))
    items: list[RecentRelance] = list(relances)[:MANAGER_ROWS]
    lines = [f"• *{escape(r.number)}* · {escape(one_line(r.client))} · {when(r.at)}" for r in items]
    heading = t(_("Follow-ups of the last 7 days"))
    body = "\n".join(lines) if lines else t(_("No follow-up in the last 7 days."))
    blocks.append(SectionBlock(text=mrkdwn(f"*{heading}*\n{body}")))
    blocks.append(DividerBlock())
    return blocks


def _compare(t: Translator, now: float | None, before: float | None, kind: str) -> str:
    """`12 (+3)`, `3 h 30 (-0 h 45)`, `80 % (+5 pts)` against the previous week."""
    if kind == "hours":
        shown = hours(t, now)
        if now is None or before is None:
            return shown
        delta = now - before
        sign = "+" if delta >= 0 else "-"
        return f"{shown} ({sign}{hours(t, abs(delta))})"
    if kind == "share":
        shown = share(now)
        if now is None or before is None:
            return shown
        points = round((now - before) * 100)
        return f"{shown} ({points:+d} pts)"
    current, previous = int(now or 0), int(before or 0)
    return f"{current} ({current - previous:+d})"


def digest_message(
    t: Translator, team: str | None, this: Stats, before: Stats, waits: list[Waiting]
) -> dict[str, Any]:
    """The weekly digest: the week's figures against the previous week, the longest waits."""
    heading = (
        t(_("Weekly digest of {team}"), team=one_line(team)) if team else t(_("Weekly digest"))
    )
    now, then = this.total, before.total
    rows = [
        (t(_("Exchanges")), _compare(t, now.exchanges, then.exchanges, "count")),
        (t(_("Follow-ups")), _compare(t, now.relances, then.relances, "count")),
        (t(_("Median first response")), _compare(t, now.median_hours, then.median_hours, "hours")),
        (t(_("90th percentile")), _compare(t, now.p90_hours, then.p90_hours, "hours")),
        (t(_("Answered within target")), _compare(t, now.within_share, then.within_share, "share")),
    ]
    fields = [mrkdwn(f"*{label}*\n{value}") for label, value in rows]
    blocks: list[Block] = [
        HeaderBlock(text=plain(heading, HEADER_MAX)),
        ContextBlock(
            elements=[
                mrkdwn(
                    t(
                        _("Week {period}, compared with the week before"),
                        period=period_text(t, this),
                    )
                )
            ]
        ),
        SectionBlock(fields=fields),
    ]
    lines = [f"• {wait_line(t, wait)}" for wait in waits[:5]]
    title = t(_("The five longest waits"))
    body = "\n".join(lines) if lines else t(_("No DIT is waiting on us."))
    blocks.append(SectionBlock(text=mrkdwn(f"*{title}*\n{body}")))
    if this.by_technician:
        blocks.append(
            SectionBlock(text=mrkdwn(_table(t, t(_("Per technician")), this.by_technician)))
        )
    fallback = t(
        _("{heading}: exchanges {exchanges}, follow-ups {relances}"),
        heading=heading,
        exchanges=now.exchanges,
        relances=now.relances,
    )
    return {"text": escape(truncate(fallback, 300)), "blocks": blocks}
