"""`ditbot digest [--dry-run] [--out DIR] [--week 2026-W48]`: the managers' weekly digest.

For each team with a managers' channel (else once, for everyone, in DITBOT_CHANNEL_RELANCES):
the figures of `/dit stats` for the week against the week before, the five longest waits, and
one chart (PNG, matplotlib), in the team's language. Posted as a message, the chart uploaded
in its thread with Slack's external upload flow (files.getUploadURLExternal, the bytes, then
files.completeUploadExternal). `--dry-run` writes each message (JSON) and chart (PNG) to a
folder and says where; nothing is posted. Run it from cron at the time the managers want it,
e.g. `30 8 * * mon ditbot digest`, or set DITBOT_DIGEST_AT and `ditbot serve` posts it.
The building and posting live in bot/workers/digest.py, shared with `ditbot serve`.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC
from pathlib import Path

from bot.workers.digest import DIGEST_RATE_LIMIT_RETRIES, Digest, build_digests, post, week_of
from ditbot.cli.common import command_context, say
from ditbot.core.i18n import _
from storage.types import utcnow

__all__ = ["build_digests", "cmd_digest", "post", "week_of", "write"]


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
        print(say(args, _("dry run: nothing posted; the digest is in {folder}/"), folder=folder))
        return 0
    args.settings.require("SLACK_BOT_TOKEN")
    from slack_sdk.errors import SlackApiError

    from bot.app import web_client

    try:
        told = post(
            ctx, digests, web_client(ctx, DIGEST_RATE_LIMIT_RETRIES)
        )  # waits out a 429, retries a cut connection
    except (SlackApiError, OSError) as error:
        reason = error.response.get("error") if isinstance(error, SlackApiError) else error
        text = _("the digest was not posted: Slack answered {reason}; run it again")
        print(say(args, text, reason=reason), flush=True)
        return 1
    if not told:
        text = _("no digest posted: set DITBOT_CHANNEL_RELANCES or a team's channel_managers")
        print(say(args, text), flush=True)
        return 1
    print(say(args, _("digest posted to {channels}"), channels=", ".join(told)))
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
