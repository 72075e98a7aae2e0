"""One Slack message of a notification group, and what Slack's answer means for its items.

`ThreadPoster` posts the DIT's thread parent (no thread yet) or a reply carrying as many notes
as fit, and says what each outbox item of the group becomes (`Outcome`). `classify` reads a
failed call (429, 5xx, a thread gone, a permanent refusal). The worker that schedules the
posts, leases and records them: bot/workers/notifications.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.views.notifications import (
    DitCard,
    Note,
    notes_per_reply,
    parent_message,
    reply_message,
)
from bot.workers.notices import notice_mark
from bot.workers.slack_refusals import (
    PAYLOAD_ERRORS,
    THREAD_GONE,
    TRANSIENT_ERRORS,
    error_code,
    is_rate_limited,
    retry_after,
)
from ditbot.core.settings import Settings
from storage.models import Exchange

log = logging.getLogger("bot.workers.notifications")  # one logger for the notifications

# (channel, DIT id, parent ts, card, lease deadline): record a thread's parent message.
Remember = Callable[[str, int, str, DitCard, Callable[[], float]], None]


def notification_client(settings: Settings) -> WebClient:
    """A WebClient like bolt's (token, base_url) but without retry handlers: this worker
    decides itself how to wait on a 429 or a 5xx, and records it in the database."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[],
    )


@dataclass(frozen=True)
class Claim:
    """One claimed outbox item of a group."""

    item: int
    exchange: int
    attempts: int
    in_doubt: bool  # it may already be in Slack (see the module docstring)
    created_at: datetime


@dataclass
class Outcome:
    """What one Slack attempt left to do with the items and the lane."""

    done: list[int] = field(default_factory=list)
    release: list[int] = field(default_factory=list)  # back to pending, no attempt counted
    retry: list[int] = field(default_factory=list)  # attempt counted, backoff
    failed: list[int] = field(default_factory=list)
    wait: float | None = None  # lane pause before the next post
    error: str | None = None  # recorded on the lane (permanent errors)
    posted: bool = False


class Failure(Exception):
    """A classified Slack failure."""

    def __init__(self, kind: str, error: str, retry_after: float = 0.0) -> None:
        super().__init__(error)
        self.kind = kind  # "rate", "transient", "permanent", "thread_gone"
        self.error = error
        self.retry_after = retry_after


def classify(error: Exception, method: str, channel: str) -> Failure:
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        code = error_code(error)
        what = f"{method} to {channel}: {code}"
        if is_rate_limited(error):
            return Failure("rate", what, retry_after(error))
        if status >= 500 or code in TRANSIENT_ERRORS:
            return Failure("transient", what)
        if code in THREAD_GONE:
            return Failure("thread_gone", what)
        return Failure("permanent", what)
    if isinstance(error, OSError):  # URLError, timeouts, refused or reset connections
        return Failure("transient", f"{method} to {channel}: {type(error).__name__}: {error}")
    return Failure("permanent", f"{method} to {channel}: {type(error).__name__}: {error}")


class ThreadPoster:
    """Posts one message of a group to a channel: `post`, then the outcome of its items."""

    def __init__(self, client: Any, locale: str, pace_seconds: float, remember: Remember) -> None:
        self.client = client
        self.locale = locale
        self.pace_seconds = pace_seconds
        self.remember = remember
        # channel -> most notes in the next reply, after Slack refused a bigger one
        self.max_notes: dict[str, int] = {}

    def post(
        self,
        channel: str,
        items: list[Claim],
        exchanges: dict[int, Exchange],
        card: DitCard,
        root_note: Note,
        notes: list[Note],
        thread_ts: str | None,
        dit_id: int,
        until: Callable[[], float],
    ) -> Outcome:
        """Post the parent (no thread yet) or a reply with as many notes as fit."""
        locale = self.locale
        if thread_ts is None:
            # The parent shows the opening message; the others of the group follow as a
            # reply at the next slot.
            opened = [
                c.item
                for c in items
                if c.exchange == root_note.exchange_id or c.exchange not in exchanges
            ]
            message = parent_message(card, root_note, locale)
            try:
                answer = self.client.chat_postMessage(
                    channel=channel,
                    parse="none",
                    unfurl_links=False,
                    unfurl_media=False,
                    metadata=notice_mark(card.number, "parent", opened),
                    **message,
                )
            except SlackApiError as error:
                failure = classify(error, "chat.postMessage", channel)
                if payload_refused(error):
                    # The opening message itself is refused: no thread can start.
                    return self.refused(failure, [c.item for c in items], [], channel)
                raise
            ts = str(answer["ts"])
            self.remember(channel, dit_id, ts, card, until)
            self.max_notes.pop(channel, None)
            rest = [c.item for c in items if c.item not in opened]
            return Outcome(done=opened, release=rest, wait=self.pace_seconds, posted=True)
        try:
            self.client.chat_update(
                channel=channel,
                ts=thread_ts,
                parse="none",
                **parent_message(card, root_note, locale),  # its metadata stays as posted
            )
        except SlackApiError as error:
            failure = classify(error, "chat.update", channel)
            if failure.kind != "permanent":
                raise
            # The parent could not be refreshed (edited elsewhere, say): the news still
            # goes out in the thread.
            log.warning("parent of %s in %s not updated: %s", card.number, channel, failure)
        mine = {c.exchange for c in items}
        waiting = [note for note in notes if note.exchange_id in mine]
        fit = min(notes_per_reply(card, waiting, locale), self.max_notes.get(channel, len(waiting)))
        told = {note.exchange_id for note in waiting[:fit]}
        posted = [c.item for c in items if c.exchange in told or c.exchange not in exchanges]
        rest = [c.item for c in items if c.item not in posted]
        try:
            self.client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                reply_broadcast=any(note.relance for note in waiting[:fit]),
                parse="none",
                unfurl_links=False,
                unfurl_media=False,
                metadata=notice_mark(card.number, "reply", posted),
                **reply_message(card, waiting[:fit], locale),
            )
        except SlackApiError as error:
            if not payload_refused(error):
                raise
            failure = classify(error, "chat.postMessage", channel)
            if fit > 1:
                # Too big or refused for one of its notes: half as many at the next slot.
                self.max_notes[channel] = max(1, fit // 2)
                log.warning(
                    "reply of %s notes in %s refused (%s): sending fewer at a time",
                    fit,
                    channel,
                    failure.error,
                )
                return Outcome(release=[c.item for c in items], wait=self.pace_seconds)
            return self.refused(failure, posted, rest, channel)
        if len(rest) == 0:
            self.max_notes.pop(channel, None)
        return Outcome(done=posted, release=rest, wait=self.pace_seconds, posted=True)

    def refused(
        self, failure: Failure, failed: list[int], rest: list[int], channel: str
    ) -> Outcome:
        """Slack refuses this very message: its items fail, said loudly; the rest go on."""
        log.error(
            "notification to %s refused by Slack (%s): outbox items %s failed, not posted",
            channel,
            failure.error,
            failed,
        )
        return Outcome(failed=failed, release=rest, error=failure.error, wait=self.pace_seconds)


def payload_refused(error: SlackApiError) -> bool:
    """Slack refused the message itself (its size or content): a smaller one may pass."""
    return error_code(error) in PAYLOAD_ERRORS
