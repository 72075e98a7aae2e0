"""What a notification post says of itself, and what a look back through Slack finds of them.

Every post of the notification worker carries message metadata (event_type `ditbot_notice`)
naming its DIT, whether it is the thread's parent or a reply, and the outbox items it
announces. An item whose outcome is unknown after a crash is looked for by that metadata in
the DIT's thread (or the channel, before the thread is known) before it is posted again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.workers.slack_history import messages_since

NOTICE_EVENT = "ditbot_notice"  # the metadata event_type of every notification post


def notice_mark(number: str, role: str, items: Iterable[int]) -> dict[str, Any]:
    """The message metadata of a post: the DIT, parent or reply, the outbox items it tells."""
    return {
        "event_type": NOTICE_EVENT,
        "event_payload": {
            "dit": number,
            "role": role,
            "items": ",".join(str(item) for item in sorted(items)),
        },
    }


def marked_items(message: dict[str, Any], number: str) -> tuple[set[int], bool] | None:
    """(outbox items, is a parent) of one of our posts about DIT `number`, else None."""
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    if metadata.get("event_type") != NOTICE_EVENT or payload.get("dit") != number:
        return None
    items = {int(x) for x in str(payload.get("items") or "").split(",") if x.strip().isdigit()}
    return items, payload.get("role") == "parent"


@dataclass
class Found:
    """What a look through Slack's history found of our earlier posts."""

    items: set[int] = field(default_factory=set)
    parent_ts: str | None = None


def find_posted(
    client: Any, channel: str, number: str, oldest: float, thread_ts: str | None = None
) -> Found:
    """Our posts about DIT `number` since `oldest` that name outbox items, looked for in the
    thread `thread_ts` (or the channel when there is no thread yet, where the parent is too).
    Slack's errors are the caller's to settle."""
    found = Found()
    for message in messages_since(client, channel, oldest, thread_ts):
        marked = marked_items(message, number)
        if marked is None:
            continue
        items, is_parent = marked
        found.items |= items
        if is_parent and thread_ts is None:
            found.parent_ts = str(message["ts"])  # newest first: the oldest parent wins
    return found
