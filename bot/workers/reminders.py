"""Reminders and escalations of clients' waits (issue 12).

Two workers, both run by the dispatcher of `ditbot serve`:

- `ReminderScanner` looks, every DITBOT_REMINDER_SCAN_SECONDS, at the waits due for a check
  (ditbot.domain.timers.scan): each reminder, snoozed reminder and escalation that falls due is
  marked on its `response_waits` row and enqueued in the same transaction, once per wait, even
  with two processes on one PostgreSQL; a process killed mid-scan leaves nothing half done.
- `ReminderWorker` delivers the outbox items of kind `reminder`: the DM to the DIT's
  technician, or the post in the DIT's thread of the managers' channel (its team's, else
  DITBOT_CHANNEL_RELANCES, else a DM to each manager). The message is written at delivery
  time: a wait answered meanwhile sends nothing.

Both take a `clock` (UTC now), so tests move time instead of sleeping.
"""

from __future__ import annotations

import functools
import http.client
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.views import reminders as views
from bot.workers.slack_history import LOOKBACK_SECONDS, messages_since
from bot.workers.slack_refusals import refusal_of
from ditbot.core.context import Context
from ditbot.core.i18n import Translator, normalize_locale
from ditbot.delivery.backoff import Backoff
from ditbot.delivery.dispatcher import owner_id, record_despite_outage
from ditbot.domain import teams, timers
from storage import outbox
from storage import repositories as repo
from storage.models import SlackThread
from storage.outbox_payloads import WaitNotice
from storage.types import utcnow
from storage.vocabulary import OutboxKind, WaitStep

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
REMINDER_EVENT = "ditbot_reminder"  # metadata event_type of every post and DM, naming its item
IN_FLIGHT = "in flight"  # last_error of an item whose post may have reached Slack


def reminder_mark(item_id: int, notice: WaitNotice) -> dict[str, Any]:
    """The metadata of a post: its outbox item, and the wait and step it tells of."""
    payload = {
        "item": str(item_id),
        "dit": notice.dit,
        "wait": str(notice.wait_id),
        "step": str(notice.step),
    }
    return {"event_type": REMINDER_EVENT, "event_payload": payload}


def marks_item(message: dict[str, Any], item_id: int) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return metadata.get("event_type") == REMINDER_EVENT and payload.get("item") == str(item_id)


class ReminderScanner:
    """Enqueues the reminders and escalations that fall due (see the module docstring)."""

    name = "reminder_scan"

    def __init__(
        self,
        ctx: Context,
        *,
        clock: Clock = utcnow,
        every: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ctx = ctx
        self.clock = clock
        self.every = float(ctx.settings.reminder_scan_seconds if every is None else every)
        self.calendar = timers.scan_calendar(ctx.settings, clock())
        self._monotonic = monotonic
        self._last: float | None = None

    def run_once(self) -> bool:
        """Scan when the last scan is `every` seconds old; never busy (the scan is periodic)."""
        now = self._monotonic()
        if self._last is not None and now - self._last < self.every:
            return False
        self._last = now
        self.scan_once()
        return False

    def scan_once(self) -> timers.ScanResult:
        with self.ctx.db.session() as session:
            result = timers.scan(
                session, now=self.clock(), calendar=self.calendar, settings=self.ctx.settings
            )
        if result.enqueued:
            log.info("reminders: %d enqueued", len(result.enqueued))
            self.ctx.wake_delivery()
        return result


class ReminderWorker:
    """Delivers outbox items of kind `reminder` (see the module docstring)."""

    kind = OutboxKind.REMINDER
    name = OutboxKind.REMINDER

    def __init__(
        self,
        ctx: Context,
        client: WebClient,
        *,
        clock: Clock = utcnow,
        backoff: Backoff | None = None,
        lease_seconds: float = 60.0,
        owner: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.client = client
        self.clock = clock
        self.backoff = backoff or Backoff(base=5.0, cap=600.0, max_attempts=10)
        self.lease_seconds = lease_seconds
        self.owner = owner or owner_id()
        self.calendar = timers.scan_calendar(ctx.settings, clock())

    def run_once(self) -> bool:
        """Deliver at most one due item; True when there was one."""
        with self.ctx.db.session() as session:
            items = outbox.claim(
                session, [self.kind], self.owner, lease_seconds=self.lease_seconds, limit=1
            )
            claimed = [
                (item.id, notice, item.attempts, item.created_at, item.last_error or "")
                for item, notice in outbox.load_or_fail(session, items, WaitNotice)
            ]
        for item_id, notice, attempts, created_at, last_error in claimed:
            doubt = last_error.startswith(IN_FLIGHT)
            self.deliver(item_id, notice, attempts, in_doubt=doubt, created_at=created_at)
        return bool(items)

    # -- one item ---------------------------------------------------------------------------
    def deliver(
        self,
        item_id: int,
        notice: WaitNotice,
        attempts: int,
        *,
        in_doubt: bool = False,
        created_at: datetime | None = None,
    ) -> None:
        """Post what `notice` says. An item `in_doubt` (its last holder died while posting) is
        first looked for in the history of each conversation by its metadata (the IM's for a
        DM, opened with conversations.open; im:history): where it is found, it is not posted
        again."""
        until = time.monotonic() + self.lease_seconds * 0.8
        with self.ctx.db.session() as session:
            posts = self._posts(session, notice)
        if not posts:
            with self.ctx.db.session() as session:
                outbox.mark_done(session, item_id)
            return
        if in_doubt:
            posts = [p for p in posts if not self._already_posted(item_id, p, created_at)]
            if not posts:
                log.info("reminder %s was already posted before a crash: not again", item_id)
                self._finish(item_id, None, failed=False)
                return
        with self.ctx.db.session() as session:  # from here Slack may have it: say so
            outbox.note(session, item_id, f"{IN_FLIGHT} since {utcnow().isoformat()}")
        for channel, thread_ts, message, dit_id in posts:
            try:
                answer = self.client.chat_postMessage(
                    channel=channel,
                    thread_ts=thread_ts,
                    parse="none",
                    unfurl_links=False,
                    unfurl_media=False,
                    metadata=reminder_mark(item_id, notice),
                    **message,
                )
            except SlackApiError as error:
                refused = refusal_of(error, f"{notice.step} of {notice.dit}")
                if refused.permanent:
                    self._finish(item_id, refused.reason, failed=True)
                else:
                    self._retry(item_id, refused.reason, attempts, minimum=refused.wait)
                return
            except (OSError, http.client.HTTPException) as error:
                self._retry(item_id, f"{type(error).__name__}: {error}", attempts)
                return
            if dit_id is not None and thread_ts is None:
                record_despite_outage(
                    functools.partial(self._remember_thread, channel, dit_id, str(answer["ts"])),
                    until=until,
                    what="escalation thread",
                )
        record_despite_outage(
            lambda: self._finish(item_id, None, failed=False), until=until, what="reminder sent"
        )

    def _posts(
        self, session: Session, notice: WaitNotice
    ) -> list[tuple[str, str | None, dict[str, Any], int | None]]:
        """(channel, thread ts, message, DIT id when its thread is to be recorded) of each post;
        none when the wait is over (answered, closed) or nobody can be told."""
        wait = timers.open_wait(session, notice.wait_id)
        if wait is None:
            return []
        dit = wait.dit
        if dit.state.closed or dit.waiting_since != wait.started_at:
            return []
        card = timers.wait_card(session, wait, self.calendar, self.ctx.settings, self.clock())
        team = teams.team_of(session, dit)
        default = self.ctx.settings.locale
        if notice.step in (WaitStep.REMINDER, WaitStep.SNOOZE):
            technician = dit.technician
            if technician is None or not technician.slack_user_id:
                return []
            t = Translator(normalize_locale(technician.locale, default))
            message = views.reminder_message(t, card, snoozed=notice.step is WaitStep.SNOOZE)
            return [(technician.slack_user_id, None, message, None)]
        t = Translator(normalize_locale(team.locale if team else None, default))
        message = views.escalation_message(t, card)
        channel = teams.managers_channel(session, dit, self.ctx.settings)
        if channel is not None:
            thread = repo.slack_thread(session, channel, dit.id)
            return [(channel, thread.ts if thread else None, message, dit.id)]
        # No channel anywhere: the managers themselves are told.
        return [
            (manager.slack_user_id, None, message, None)
            for manager in teams.managers_of(session, team)
            if manager.slack_user_id
        ]

    def _already_posted(
        self,
        item_id: int,
        post: tuple[str, str | None, dict[str, Any], int | None],
        created_at: datetime | None,
    ) -> bool:
        channel, thread_ts, _message, dit_id = post
        oldest = (created_at or utcnow()).timestamp() - LOOKBACK_SECONDS
        try:
            if dit_id is None:  # a DM to a user: its history is the IM's
                opened = self.client.conversations_open(users=channel)
                channel = str((opened.get("channel") or {}).get("id") or channel)
            found = [
                m
                for m in messages_since(self.client, channel, oldest, thread_ts)
                if marks_item(m, item_id)
            ]
        except (SlackApiError, OSError, http.client.HTTPException) as error:
            log.warning("reminder %s: cannot look for an earlier post (%s)", item_id, error)
            return False
        if found and thread_ts is None and dit_id is not None:
            record_despite_outage(
                functools.partial(self._remember_thread, channel, dit_id, str(found[-1]["ts"])),
                until=time.monotonic() + self.lease_seconds * 0.8,
                what="escalation thread",
            )
        return bool(found)

    def _remember_thread(self, channel: str, dit_id: int, ts: str) -> None:
        with self.ctx.db.session() as session:
            if repo.slack_thread(session, channel, dit_id) is None:
                session.add(SlackThread(channel=channel, dit_id=dit_id, ts=ts))

    def _retry(self, item_id: int, reason: str, attempts: int, minimum: float = 0.0) -> None:
        attempt = attempts + 1
        if self.backoff.exhausted(attempt):
            self._finish(item_id, reason, failed=True)
            return
        delay = max(minimum, self.backoff.delay(attempt))
        with self.ctx.db.session() as session:
            outbox.retry_later(session, item_id, reason, delay)
        log.info("reminder %s not delivered (%s); retry in %.1fs", item_id, reason, delay)

    def _finish(self, item_id: int, reason: str | None, *, failed: bool) -> None:
        with self.ctx.db.session() as session:
            if failed:
                outbox.mark_failed(session, item_id, reason or "failed")
                log.warning("reminder %s given up: %s", item_id, reason)
            else:
                outbox.mark_done(session, item_id)
                outbox.note(session, item_id, None)  # it is no longer in doubt
