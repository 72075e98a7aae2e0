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
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.views.notifications import (
    NOTES_PER_REPLY,
    DitCard,
    Note,
    parent_message,
    reply_message,
)
from ditbot.core.context import Context
from ditbot.core.settings import Settings
from ditbot.delivery.backoff import Backoff
from ditbot.delivery.dispatcher import owner_id, record_despite_outage
from ditbot.domain.exchanges import CLIENT_SOURCES
from storage import outbox
from storage import repositories as repo
from storage.models import Collaborator, Contact, Dit, Exchange, ExchangeType, SlackThread
from storage.outbox_payloads import ChannelNotice
from storage.vocabulary import Lane, OutboxKind

log = logging.getLogger(__name__)

# Errors that no retry can cure: the item fails at once and the lane records why.
CHANNEL_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "channel_is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "restricted_action",
        "team_access_not_granted",
        "ekm_access_denied",
    }
)
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
THREAD_GONE = frozenset({"message_not_found", "thread_not_found", "cant_update_message"})


def lane_key(channel: str) -> str:
    return f"slack:{channel}"


def notification_client(settings: Settings) -> WebClient:
    """A WebClient like bolt's (token, base_url) but without retry handlers: this worker
    decides itself how to wait on a 429 or a 5xx, and records it in the database."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[],
    )


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


class _Failure(Exception):
    """A classified Slack failure."""

    def __init__(self, kind: str, error: str, retry_after: float = 0.0) -> None:
        super().__init__(error)
        self.kind = kind  # "rate", "transient", "permanent", "thread_gone"
        self.error = error
        self.retry_after = retry_after


def classify(error: Exception, method: str, channel: str) -> _Failure:
    if isinstance(error, SlackApiError):
        response = error.response
        status = getattr(response, "status_code", 200)
        data = response.data if isinstance(response.data, dict) else {}
        code = str(data.get("error") or f"http_{status}")
        what = f"{method} to {channel}: {code}"
        if status == 429 or code == "ratelimited":
            headers = {k.lower(): v for k, v in (response.headers or {}).items()}
            raw = headers.get("retry-after", "1")
            value = raw[0] if isinstance(raw, list) else raw
            try:
                retry_after = max(0.0, float(value))
            except (TypeError, ValueError):
                retry_after = 1.0
            return _Failure("rate", what, retry_after)
        if status >= 500 or code in TRANSIENT_ERRORS:
            return _Failure("transient", what)
        if code in THREAD_GONE:
            return _Failure("thread_gone", what)
        return _Failure("permanent", what)
    if isinstance(error, OSError):  # URLError, timeouts, refused or reset connections
        return _Failure("transient", f"{method} to {channel}: {type(error).__name__}: {error}")
    return _Failure("permanent", f"{method} to {channel}: {type(error).__name__}: {error}")


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
        lease_seconds: float = 60.0,
        max_wait: float = 1.5,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.ctx = ctx
        self.client = client if client is not None else notification_client(ctx.settings)
        self.owner = owner or owner_id()
        self.pace_seconds = pace_seconds
        self.backoff = Backoff(base=backoff_base, cap=backoff_max, max_attempts=max_attempts)
        self.permanent_pause = permanent_pause
        self.lease_seconds = lease_seconds
        self.max_wait = max_wait
        self._stopped = threading.Event()
        self._sleep = sleep or self._stopped.wait

    # -- the loop ---------------------------------------------------------------------------
    def routes(self) -> dict[str, list[str]]:
        """channel -> the outbox lanes posted to it (both lanes may share one channel)."""
        settings = self.ctx.settings
        found: dict[str, list[str]] = {}
        for lane, channel in (
            (Lane.PORTAL, settings.channel_portal),
            (Lane.RELANCES, settings.channel_relances),
        ):
            if channel:
                found.setdefault(channel, []).append(lane)
        return found

    def stop(self) -> None:
        self._stopped.set()

    def run_once(self) -> bool:
        """Post at most one message per channel; True when there may be more to do now."""
        routes = self.routes()
        unrouted = [
            lane
            for lane in (Lane.PORTAL, Lane.RELANCES)
            if lane not in {x for lanes in routes.values() for x in lanes}
        ]
        busy = False
        if unrouted:
            with self.ctx.db.session() as session:
                busy = outbox.mark_done_without_delivery(session, self.kind, unrouted) > 0
        waits: list[float] = []
        for channel, lanes in routes.items():
            worked, wait = self._serve(channel, lanes)
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
        # The lane and the items are leased for lease_seconds: record what was posted before.
        until = time.monotonic() + self.lease_seconds * 0.8
        with self.ctx.db.session() as session:
            if not outbox.pending_in_lanes(session, self.kind, lanes, limit=1):
                return False, None
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
        try:
            with self.ctx.db.session() as session:
                items = self._claim_group(session, lanes)
            if not items:
                with self.ctx.db.session() as session:
                    outbox.release_lane(session, key, self.owner)
                return False, None
            outcome = self._deliver(channel, lanes, items, until=until)
        except BaseException:
            with self.ctx.db.session() as session:
                outbox.release_lane(session, key, self.owner)
            raise
        record_despite_outage(
            lambda: self._record(key, outcome, items),
            until=until,
            stopped=self._stopped,
            what=f"notification to {channel}",
        )
        return True, outcome.wait

    def _claim_group(self, session: Any, lanes: list[str]) -> list[tuple[int, int, int]]:
        """Claim the oldest item and the pending items of its DIT: (item, exchange, attempts)."""
        pending = outbox.load_or_fail(
            session, outbox.pending_in_lanes(session, self.kind, lanes), ChannelNotice
        )
        if not pending:
            return []
        dit = pending[0][1].dit
        exchange_of = {item.id: notice.exchange_id for item, notice in pending}
        chosen: list[int] = []
        exchanges: set[int] = set()
        for item, notice in pending:
            if notice.dit != dit:
                continue
            if notice.exchange_id not in exchanges and len(exchanges) >= NOTES_PER_REPLY:
                break
            exchanges.add(notice.exchange_id)
            chosen.append(item.id)
        claimed = outbox.claim_ids(session, chosen, self.owner, lease_seconds=self.lease_seconds)
        return [(i.id, exchange_of[i.id], i.attempts) for i in claimed]

    def _deliver(
        self, channel: str, lanes: list[str], items: list[tuple[int, int, int]], *, until: float
    ) -> Outcome:
        ids = [item_id for item_id, _e, _a in items]
        with self.ctx.db.session() as session:
            exchanges = {
                e.id: e
                for e in (repo.exchange_by_id(session, x) for _i, x, _a in items)
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
        locale = self.ctx.settings.locale
        try:
            if thread_ts is None:
                message = parent_message(card, root_note, locale)
                answer = self.client.chat_postMessage(
                    channel=channel,
                    parse="none",
                    unfurl_links=False,
                    unfurl_media=False,
                    **message,
                )
                ts = str(answer["ts"])
                record_despite_outage(
                    lambda: self._remember(channel, dit_id, ts),
                    until=until,
                    stopped=self._stopped,
                    what=f"thread of {card.number} in {channel}",
                )
                # The parent shows the opening message; the others of the group follow as a
                # reply at the next slot.
                opened = [
                    i for i, x, _a in items if x == root_note.exchange_id or x not in exchanges
                ]
                rest = [i for i in ids if i not in opened]
                return Outcome(done=opened, release=rest, wait=self.pace_seconds, posted=True)
            try:
                self.client.chat_update(
                    channel=channel,
                    ts=thread_ts,
                    parse="none",
                    **parent_message(card, root_note, locale),
                )
            except SlackApiError as error:
                failure = classify(error, "chat.update", channel)
                if failure.kind != "permanent":
                    raise
                # The parent could not be refreshed (edited elsewhere, say): the news still
                # goes out in the thread.
                log.warning("parent of %s in %s not updated: %s", card.number, channel, failure)
            reply = reply_message(card, notes[:NOTES_PER_REPLY], locale)
            self.client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                reply_broadcast=any(note.relance for note in notes),
                parse="none",
                unfurl_links=False,
                unfurl_media=False,
                **reply,
            )
            return Outcome(done=ids, wait=self.pace_seconds, posted=True)
        except (SlackApiError, SlackClientError, OSError) as error:
            method = "chat.postMessage"
            return self._failed(classify(error, method, channel), items, channel, dit_id)

    def _remember(self, channel: str, dit_id: int, ts: str) -> None:
        """Record the parent message of a DIT's thread in `channel`."""
        with self.ctx.db.session() as session:
            session.add(SlackThread(channel=channel, dit_id=dit_id, ts=ts))

    def _failed(
        self, failure: _Failure, items: list[tuple[int, int, int]], channel: str, dit_id: int
    ) -> Outcome:
        ids = [item_id for item_id, _e, _a in items]
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
            attempts = max(a for _i, _e, a in items) + 1
            if self.backoff.exhausted(attempts):
                return Outcome(failed=ids, error=failure.error, wait=self.pace_seconds)
            return Outcome(retry=ids, wait=self.backoff.delay(attempts), error=failure.error)
        return Outcome(failed=ids, error=failure.error, wait=self.permanent_pause)

    def _record(self, key: str, outcome: Outcome, items: list[tuple[int, int, int]]) -> None:
        with self.ctx.db.session() as session:
            for item_id in outcome.done:
                outbox.mark_done(session, item_id)
            outbox.release(session, outcome.release)
            for item_id in outcome.retry:
                outbox.retry_later(session, item_id, outcome.error or "error", outcome.wait or 0)
            for item_id in outcome.failed:
                outbox.mark_failed(session, item_id, outcome.error or "error")
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
    if Lane.PORTAL in lanes:
        conditions.append(Exchange.source.in_(CLIENT_SOURCES))  # portal messages, mail replies
    if Lane.RELANCES in lanes:
        conditions.append(ExchangeType.is_relance.is_(True))
    return conditions


def card_of(dit: Dit) -> DitCard:
    return DitCard(
        number=dit.number,
        title=dit.title,
        client=dit.client.name,
        state=dit.state,
        count=dit.exchange_count,
        relance=dit.relance_count > 0,
    )


def _name(collaborator: Collaborator | None, contact: Contact | None) -> str:
    person = collaborator or contact
    return person.name if person is not None else "?"


def note_of(exchange: Exchange) -> Note:
    kind: ExchangeType = exchange.type
    return Note(
        exchange_id=exchange.id,
        sender=_name(exchange.sent_by_collaborator, exchange.sent_by_contact),
        receiver=_name(exchange.received_by_collaborator, exchange.received_by_contact),
        direction=exchange.direction,
        source=exchange.source,
        occurred_at=exchange.occurred_at,
        subject=exchange.subject,
        detail=exchange.detail,
        relance=kind.is_relance,
    )
