"""The outbox worker that posts notifications (`notify` items) to Slack.

Routing: lane `portal` -> DITBOT_CHANNEL_PORTAL, lane `relances` -> DITBOT_CHANNEL_RELANCES;
a lane whose channel is unset has its items closed without a post.

One Slack thread per DIT per channel (table `slack_threads`): the first notification posts the
parent (chat.postMessage); later ones update the parent (chat.update: counter, red marker) and
reply in the thread, a relance reply with `reply_broadcast`.

Pacing and order: each channel is a delivery lane (`delivery_lanes`, key `slack:<channel>`)
leased by one worker at a time across processes; only the holder posts to that channel, oldest
item first, and at most one chat.postMessage per `pace_seconds` (Slack allows about one per
second per channel). A burst is grouped: the pending items of one DIT go out as one reply.
429: the lane waits Retry-After. 5xx or a connection error: the items are retried with
exponential backoff, and the lane waits too, so order holds. A permanent error (channel not
found, bot not in channel, bad token...) fails the items at once and is recorded on the lane,
where `ditbot doctor` shows it. Items are claimed with leases: two `ditbot serve` processes on
one PostgreSQL post each notification once. If the database stops answering right after a
post, what was posted is recorded again and again while the leases hold
(ditbot.delivery.dispatcher.record_despite_outage), so it is not posted twice.

Each message itself (the parent, or a reply with its notes) is posted by
bot/workers/notification_posts.py `ThreadPoster`, which also reads Slack's failures.

Size: a reply carries as many notes of a burst as fit in one Slack message
(bot.views.notifications.notes_per_reply); the others go in the next replies, each note whole.
Should Slack still refuse a reply for its size or content, the group is split (half as many
notes at the next slot) down to one note: only a single note Slack refuses is failed, loudly.

Posting once: every post carries message metadata (bot/workers/notices.py) naming the DIT
and the outbox items it announces. An item whose outcome is unknown (claimed before by a
process that died in flight: its lease expired with an owner still on it; or tried before
and failed with a transient error that may have come after Slack took the post) is first
looked for in the channel's history (conversations.history, or conversations.replies of the
DIT's thread, with include_all_metadata): found, it is marked done and its thread recorded,
not posted again. This needs the channels:history (groups:history) scope; without it the
item is posted again, with a warning. Leases are short (10 s) and renewed while a post is
in flight (ditbot.delivery.dispatcher.LeaseKeeper), so a killed process delays its
notifications by seconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import select

from bot.views.notifications import NOTES_PER_REPLY, DitCard, card_of, note_of
from bot.workers.notices import Found, find_posted
from bot.workers.notification_posts import (
    Claim,
    Failure,
    Outcome,
    ThreadPoster,
    classify,
    notification_client,
)
from bot.workers.slack_history import LOOKBACK_SECONDS
from ditbot.core.context import Context
from ditbot.delivery.backoff import Backoff
from ditbot.delivery.dispatcher import LeaseKeeper, owner_id, record_despite_outage
from ditbot.domain.exchanges import CLIENT_SOURCES
from storage import outbox
from storage import repositories as repo
from storage.models import Exchange, ExchangeType, SlackThread, Team
from storage.outbox_payloads import ChannelNotice, lane_base, team_lane
from storage.vocabulary import Lane, OutboxKind

log = logging.getLogger(__name__)


def lane_key(channel: str) -> str:
    return f"slack:{channel}"


class NotificationWorker:
    """Delivers `notify` outbox items to Slack; run by ditbot.delivery.dispatcher.Dispatcher."""

    kind = OutboxKind.NOTIFY
    name = "notifications"

    def __init__(
        self,
        ctx: Context,
        client: Any | None = None,
        *,
        owner: str | None = None,
        pace_seconds: float = 1.0,
        backoff_base: float = 2.0,
        backoff_max: float = 300.0,
        max_attempts: int = 12,
        permanent_pause: float = 30.0,
        lease_seconds: float = 10.0,
        max_wait: float = 1.5,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.ctx = ctx
        self.client = client if client is not None else notification_client(ctx.settings)
        self.poster = ThreadPoster(
            self.client, ctx.settings.locale, pace_seconds, self._remember_despite_outage
        )
        self.owner = owner or owner_id()
        self.pace_seconds = pace_seconds
        self.backoff = Backoff(base=backoff_base, cap=backoff_max, max_attempts=max_attempts)
        self.permanent_pause = permanent_pause
        self.lease_seconds = lease_seconds
        self.max_wait = max_wait
        self._stopped = threading.Event()
        self._sleep = sleep or self._stopped.wait

    # -- the loop ---------------------------------------------------------------------------
    def _routes(self, session: Any) -> tuple[dict[str, list[str]], list[str]]:
        """channel -> the outbox lanes posted to it (both lanes may share one channel), and
        every lane (routed or not), from one read of the teams. A team's lanes (`portal@NORD`)
        go to its own channel, or to the global one when the team has none (any more)."""
        settings = self.ctx.settings
        found: dict[str, list[str]] = {}
        for lane, channel in (
            (Lane.PORTAL, settings.channel_portal),
            (Lane.RELANCES, settings.channel_relances),
        ):
            if channel:
                found.setdefault(channel, []).append(lane)
        teams = session.execute(select(Team.code, Team.channel_portal, Team.channel_managers)).all()
        for code, portal, managers in teams:
            for lane, own, fallback in (
                (Lane.PORTAL, portal, settings.channel_portal),
                (Lane.RELANCES, managers, settings.channel_relances),
            ):
                channel = own or fallback
                if channel:
                    found.setdefault(channel, []).append(team_lane(lane, code))
        lanes = [
            team_lane(lane, code)
            for lane in (Lane.PORTAL, Lane.RELANCES)
            for code in (None, *(team[0] for team in teams))
        ]
        return found, lanes

    def stop(self) -> None:
        self._stopped.set()

    def run_once(self) -> bool:
        """Post at most one message per channel; True when there may be more to do now."""
        with self.ctx.db.session() as session:
            # An idle poll is this one query: the lanes with a due item, if any.
            due = outbox.due_lanes(session, self.kind)
            if not due:
                return False
            routes, lanes = self._routes(session)
            routed_lanes = {x for lanes_of in routes.values() for x in lanes_of}
            # Only lanes with something due: a write each pass would take SQLite's lock.
            unrouted = [lane for lane in lanes if lane not in routed_lanes and lane in due]
            busy = bool(unrouted) and (
                outbox.mark_done_without_delivery(session, self.kind, unrouted) > 0
            )
        waits: list[float] = []
        for channel, lanes_of in routes.items():
            if due.isdisjoint(lanes_of):
                continue
            worked, wait = self._serve(channel, lanes_of)
            busy = busy or worked
            if wait is not None:
                waits.append(wait)
        if not busy and waits and min(waits) <= self.max_wait:
            # A channel is only waiting for its pace: wait here rather than poll later.
            self._sleep(min(waits))
            return True
        return busy

    # -- one channel ------------------------------------------------------------------------
    def _serve(self, channel: str, lanes: list[str]) -> tuple[bool, float | None]:
        """Send the next message of `channel`; (did work, seconds until it may send again)."""
        key = lane_key(channel)
        # One transaction takes the lane and the items (run_once saw some due in its lanes):
        # should it fail, neither lease was published.
        with self.ctx.db.session() as session:
            # Read before writing: while the lane is paced, take no write lock (on SQLite it
            # would hold up the requests that store new messages).
            wait = outbox.lane_wait_seconds(session, key)
            if wait:
                return False, wait
            lane = outbox.acquire_lane(session, key, self.owner, lease_seconds=self.lease_seconds)
            if lane is None:
                # Paced: say how long until it may send. Held by another process: nothing to
                # wait for here, the idle poll comes back later.
                wait = outbox.lane_wait_seconds(session, key)
                return False, wait if wait else None
            items = self._claim_group(session, lanes)
            if not items:
                outbox.release_lane(session, key, self.owner)
                return False, None
        ids = [claim.item for claim in items]
        # The lane and the items stay leased while Slack is slow to answer: a process killed
        # here leaves short leases that expire in seconds.
        keeper = LeaseKeeper(
            lambda: self._renew(key, ids),
            lease_seconds=self.lease_seconds,
            what=f"notification to {channel}",
        )
        with keeper:
            try:
                outcome = self._deliver(channel, lanes, items, until=keeper.until)
            except BaseException:
                self._release_lane(key)
                raise
            record_despite_outage(
                lambda: self._record(key, outcome, items),
                until=keeper.until,
                stopped=self._stopped,
                what=f"notification to {channel}",
            )
        return True, outcome.wait

    def _release_lane(self, key: str) -> None:
        with self.ctx.db.session() as session:
            outbox.release_lane(session, key, self.owner)

    def _renew(self, key: str, ids: list[int]) -> None:
        with self.ctx.db.session() as session:
            outbox.renew(session, ids, self.owner, lease_seconds=self.lease_seconds)
            outbox.renew_lane(session, key, self.owner, lease_seconds=self.lease_seconds)

    def _claim_group(self, session: Any, lanes: list[str]) -> list[Claim]:
        """Claim the oldest item and the pending items of its DIT."""
        pending = outbox.load_or_fail(
            session, outbox.pending_in_lanes(session, self.kind, lanes), ChannelNotice
        )
        if not pending:
            return []
        dit = pending[0][1].dit
        chosen: dict[int, Claim] = {}
        exchanges: set[int] = set()
        for item, notice in pending:
            if notice.dit != dit:
                continue
            if notice.exchange_id not in exchanges and len(exchanges) >= NOTES_PER_REPLY:
                break
            exchanges.add(notice.exchange_id)
            # Still leased to someone (expired: pending_in_lanes skips live leases), or tried
            # before: Slack may have it already.
            doubt = item.lease_owner is not None or item.attempts > 0
            chosen[item.id] = Claim(item.id, notice.exchange_id, 0, doubt, item.created_at)
        claimed = outbox.claim_ids(
            session, list(chosen), self.owner, lease_seconds=self.lease_seconds
        )
        return [
            Claim(i.id, chosen[i.id].exchange, i.attempts, chosen[i.id].in_doubt, i.created_at)
            for i in claimed
        ]

    def _deliver(
        self,
        channel: str,
        lanes: list[str],
        items: list[Claim],
        *,
        until: Callable[[], float],
    ) -> Outcome:
        ids = [claim.item for claim in items]
        with self.ctx.db.session() as session:
            exchanges = {
                e.id: e
                for e in (repo.exchange_by_id(session, c.exchange) for c in items)
                if e is not None and e.deleted_at is None
            }
            if not exchanges:
                # Deleted before we could say it: nothing to announce.
                return Outcome(done=ids)
            first = min(exchanges.values(), key=lambda e: (e.occurred_at, e.id))
            dit = first.dit
            card = card_of(dit)
            thread = repo.slack_thread(session, channel, dit.id)
            root = repo.first_exchange_where(session, dit.id, *routed(lanes)) or first
            root_note = note_of(root)
            notes = [
                note_of(e) for e in sorted(exchanges.values(), key=lambda e: (e.occurred_at, e.id))
            ]
            thread_ts = thread.ts if thread else None
            dit_id = dit.id
        already: list[int] = []
        doubt = [claim for claim in items if claim.in_doubt]
        if doubt:
            try:
                oldest = min(claim.created_at for claim in doubt).timestamp() - LOOKBACK_SECONDS
                found = find_posted(self.client, channel, card.number, oldest, thread_ts)
            except (SlackApiError, SlackClientError, OSError) as error:
                failure = classify(error, "conversations.history", channel)
                if failure.kind != "permanent":
                    return self._failed(failure, items, channel, dit_id)
                # Cannot look (no channels:history scope, say): post again, maybe twice.
                log.warning(
                    "notification to %s: cannot look for outbox items %s already posted (%s); "
                    "posting them again (give the app channels:history and groups:history)",
                    channel,
                    [claim.item for claim in doubt],
                    failure.error,
                )
                found = Found()
            already = [claim.item for claim in items if claim.item in found.items]
            if found.parent_ts and thread_ts is None:
                thread_ts = found.parent_ts
                self._remember_despite_outage(channel, dit_id, thread_ts, card, until)
            if already:
                log.info(
                    "notification to %s: outbox items %s were already posted; not again",
                    channel,
                    already,
                )
        left = [claim for claim in items if claim.item not in already]
        if not left:
            return Outcome(done=ids)
        try:
            outcome = self.poster.post(
                channel, left, exchanges, card, root_note, notes, thread_ts, dit_id, until
            )
        except (SlackApiError, SlackClientError, OSError) as error:
            outcome = self._failed(
                classify(error, "chat.postMessage", channel), left, channel, dit_id
            )
        outcome.done = already + outcome.done
        return outcome

    def _remember_despite_outage(
        self, channel: str, dit_id: int, ts: str, card: DitCard, until: Callable[[], float]
    ) -> None:
        record_despite_outage(
            lambda: self._remember(channel, dit_id, ts),
            until=until,
            stopped=self._stopped,
            what=f"thread of {card.number} in {channel}",
        )

    def _remember(self, channel: str, dit_id: int, ts: str) -> None:
        """Record the parent message of a DIT's thread in `channel`."""
        with self.ctx.db.session() as session:
            session.add(SlackThread(channel=channel, dit_id=dit_id, ts=ts))

    def _failed(self, failure: Failure, items: list[Claim], channel: str, dit_id: int) -> Outcome:
        ids = [claim.item for claim in items]
        log.warning("notification to %s not delivered: %s", channel, failure.error)
        if failure.kind == "rate":
            return Outcome(release=ids, wait=max(failure.retry_after, self.pace_seconds))
        if failure.kind == "thread_gone":
            # Someone deleted the parent: start a new thread at the next slot.
            with self.ctx.db.session() as session:
                thread = repo.slack_thread(session, channel, dit_id)
                if thread is not None:
                    session.delete(thread)
            return Outcome(release=ids, wait=self.pace_seconds)
        if failure.kind == "transient":
            attempts = max(claim.attempts for claim in items) + 1
            if self.backoff.exhausted(attempts):
                return Outcome(failed=ids, error=failure.error, wait=self.pace_seconds)
            return Outcome(retry=ids, wait=self.backoff.delay(attempts), error=failure.error)
        # The channel itself is unusable (not found, bot not in it, token revoked...): every
        # item fails with the reason, kept on the lane for `ditbot doctor`.
        log.error(
            "notification to %s failed for good (%s): outbox items %s not posted",
            channel,
            failure.error,
            ids,
        )
        return Outcome(failed=ids, error=failure.error, wait=self.permanent_pause)

    def _record(self, key: str, outcome: Outcome, items: list[Claim]) -> None:
        # The group went out together: one statement per outcome, whatever its size.
        with self.ctx.db.session() as session:
            outbox.mark_all_done(session, outcome.done)
            outbox.release(session, outcome.release)
            outbox.retry_all_later(
                session, outcome.retry, outcome.error or "error", outcome.wait or 0
            )
            outbox.mark_all_failed(session, outcome.failed, outcome.error or "error")
            transient = bool(outcome.retry)
            outbox.release_lane(
                session,
                key,
                self.owner,
                next_allowed_in=outcome.wait,
                error=outcome.error if (outcome.failed or transient) else None,
                clear_error=outcome.posted,
            )


def routed(lanes: list[str]) -> list[Any]:
    """Which exchanges a channel is told of: portal messages, relances, or both."""
    conditions: list[Any] = []
    bases = {lane_base(lane) for lane in lanes}
    if Lane.PORTAL in bases:
        conditions.append(Exchange.source.in_(CLIENT_SOURCES))  # portal messages, mail replies
    if Lane.RELANCES in bases:
        conditions.append(ExchangeType.is_relance.is_(True))
    return conditions
