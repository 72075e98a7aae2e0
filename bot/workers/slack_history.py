"""Reading back what ditbot posted: a channel's (or a thread's) messages with their metadata.

A worker that may have posted before a crash (the notifications, the reminders and
escalations, the weekly digest) looks for its own post by the metadata it carries before it
posts again. One reading for all of them: from `LOOKBACK_SECONDS` before the work was written
(the clocks of two hosts differ), every page Slack has, up to `HISTORY_PAGES`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)

LOOKBACK_SECONDS = 300.0  # how far before the work was written its post is looked for
HISTORY_PAGE = 200  # messages per conversations.history / replies call
HISTORY_PAGES = 10  # pages looked through at most (a busy channel: 2,000 messages)


def messages_since(
    client: Any, channel: str, oldest: float, thread_ts: str | None = None
) -> Iterator[dict[str, Any]]:
    """The messages of the thread `thread_ts` (else of the channel) since `oldest` (a Unix
    time), newest first, with their metadata. Slack's errors are the caller's to settle."""
    cursor = None
    for _page in range(HISTORY_PAGES):
        window = {
            "channel": channel,
            "oldest": f"{oldest:.6f}",
            "include_all_metadata": True,
            "limit": HISTORY_PAGE,
            "cursor": cursor,
        }
        if thread_ts is None:
            answer = client.conversations_history(**window)
        else:
            answer = client.conversations_replies(ts=thread_ts, **window)
        yield from answer.get("messages") or []
        cursor = (answer.get("response_metadata") or {}).get("next_cursor")
        if not answer.get("has_more") or not cursor:
            return
    log.warning("history of %s: more than %s pages, looked no further", channel, HISTORY_PAGES)
