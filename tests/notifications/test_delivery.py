"""Notifications as Slack receives them: routing, threads, broadcast, escaping, retries."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select

from bot.views.notifications import (
    BLOCKS_TEXT_BUDGET,
    DitCard,
    Note,
    parent_message,
    reply_message,
)
from bot.workers.notifications import NotificationWorker, lane_key
from ditbot.core.context import Context
from ditbot.playground.slack_api import FakeSlack
from ditbot.playground.slack_rules import blocks_text_length
from storage.db import Database
from storage.models import DeliveryLane, Exchange, OutboxItem, SlackThread
from storage.vocabulary import DitState, Source
from tests.factories import raw_outbox_row
from tests.notifications.conftest import (
    PORTAL,
    RELANCES,
    drain,
    marks,
    portal,
    posts,
    staff_relance,
    texts,
)


def button(call: Any) -> dict[str, Any]:
    [actions] = [b for b in call.args["blocks"] if b["type"] == "actions"]
    [element] = actions["elements"]
    return element


def test_a_portal_message_goes_to_the_dispatch_channel_only(
    worker: NotificationWorker, nctx: Context, fake: FakeSlack
) -> None:
    portal(nctx, 1, text="Le copieur est toujours en panne.")
    drain(worker, nctx.db)
    [post] = fake.calls_to("chat.postMessage")
    assert post.args["channel"] == PORTAL
    assert "DIT-2026-0001" in post.args["text"] and "Acme SA" in post.args["text"]
    assert post.args["parse"] == "none"
    assert "link_names" not in post.args
    assert button(post)["action_id"] == "open_panel"
    assert button(post)["value"] == "DIT-2026-0001"
    assert marks(post) == [1]
    assert "thread_ts" not in post.args
    header = post.args["blocks"][0]
    assert header["type"] == "header"
    assert header["text"]["text"] == "DIT-2026-0001 · Acme SA"  # no red marker: no relance
    assert any("1 échange" in t["text"] for t in texts(post.args["blocks"]))


def test_a_relance_from_slack_goes_to_the_managers_channel_only(
    worker: NotificationWorker, nctx: Context, fake: FakeSlack
) -> None:
    staff_relance(nctx, 1)
    drain(worker, nctx.db)
    [post] = fake.calls_to("chat.postMessage")
    assert post.args["channel"] == RELANCES
    assert post.args["blocks"][0]["text"]["text"] == "\U0001f534 DIT-2026-0003 · Boulangerie Léon"
    assert "DIT-2026-0003" in post.args["text"]
    assert button(post)["value"] == "DIT-2026-0003"


def test_a_portal_relance_goes_to_both_channels(
    worker: NotificationWorker, nctx: Context, fake: FakeSlack
) -> None:
    portal(nctx, 1, relance=True)
    drain(worker, nctx.db)
    assert [marks(c) for c in posts(fake, PORTAL)] == [[1]]
    assert [marks(c) for c in posts(fake, RELANCES)] == [[1]]


def test_one_thread_per_dit_per_channel_with_the_parent_kept_current(
    worker: NotificationWorker, nctx: Context, fake: FakeSlack
) -> None:
    portal(nctx, 1)
    drain(worker, nctx.db)
    portal(nctx, 2)
    drain(worker, nctx.db)
    portal(nctx, 3, dit="DIT-2026-0002", contact="ACME-CL")
    drain(worker, nctx.db)
    portal(nctx, 4, relance=True)
    drain(worker, nctx.db)
    calls = posts(fake, PORTAL)
    parent, second, other, relance = calls
    ts = parent.response["ts"]
    assert "thread_ts" not in parent.args and "thread_ts" not in other.args
    assert second.args["thread_ts"] == ts and relance.args["thread_ts"] == ts
    assert not second.args.get("reply_broadcast")
    assert relance.args["reply_broadcast"] is True  # a relance reply shows in the channel too
    assert [marks(c) for c in calls] == [[1], [2], [3], [4]]
    # The parent was updated in place: counter and red marker of a DIT with a relance.
    updates = [c for c in fake.calls_to("chat.update") if c.args["ts"] == ts]
    assert len(updates) == 2
    current = fake.message(PORTAL, ts)
    assert current is not None
    assert current["blocks"][0]["text"]["text"] == "\U0001f534 DIT-2026-0001 · Acme SA"
    assert any("3 échanges (relance)" in t["text"] for t in texts(current["blocks"]))
    assert marks(fake.calls_to("chat.update")[-1]) == [1]  # still shows the opening message
    with nctx.db.session() as session:
        threads = session.scalars(select(SlackThread).order_by(SlackThread.id)).all()
        assert [(t.channel, t.ts) for t in threads][:1] == [(PORTAL, ts)]
        assert len(threads) == 3  # DIT 1 and 2 in the dispatch channel, DIT 1 in relances


DATE_TOKEN = re.compile(r"<!date\^\d+\^[^|>]*\|[^<>]*>")


def test_client_text_shows_exactly_as_written_and_can_never_ping_link_or_format(
    worker: NotificationWorker, nctx: Context, fake: FakeSlack
) -> None:
    """plain_text is shown as given (Slack parses only mrkdwn and the fallback text): what the
    client wrote is there unescaped, `&lt;` would show literally; mrkdwn holds none of it."""
    evil = "<b> & <!channel> <!here> @here @channel <@U123> <https://evil.example|clic> *gras*"
    portal(nctx, 1, text=evil, relance=True)
    portal(nctx, 2, text=evil)
    drain(worker, nctx.db)
    calls = fake.calls_to("chat.postMessage") + fake.calls_to("chat.update")
    assert len(calls) >= 4
    for call in calls:
        text = call.args["text"]  # the fallback is parsed by Slack: escaped
        assert "<!" not in text and "<@" not in text and "<http" not in text and "<b>" not in text
        assert "&lt;b&gt; &amp; &lt;!channel&gt;" in text or "[m" not in text
        assert call.args["parse"] == "none" and "link_names" not in call.args
        for obj in texts(call.args["blocks"]):
            if obj["type"] == "mrkdwn":
                assert obj.get("verbatim") is True
                ours = DATE_TOKEN.sub("", obj["text"])
                assert "<" not in ours and ">" not in ours.replace("→", "")
                assert "[m" not in ours and "@here" not in ours and "channel" not in ours
        client_texts = [o for o in texts(call.args["blocks"]) if "[m" in o["text"]]
        assert client_texts and all(o["type"] == "plain_text" for o in client_texts)
        assert any(evil in o["text"] for o in client_texts)  # exactly as the client wrote it
        assert not any("&lt;" in o["text"] or "&amp;" in o["text"] for o in client_texts)


def test_notification_times_are_slack_date_tokens_shown_in_each_readers_zone(
    worker: NotificationWorker, nctx: Context, fake: FakeSlack
) -> None:
    """Like the modals: `<!date^…>` (the reader's own zone), a UTC fallback, never a bare
    Europe/Paris time."""
    portal(nctx, 1, relance=True)
    drain(worker, nctx.db)
    [post] = posts(fake, PORTAL)
    heads = [o["text"] for o in texts(post.args["blocks"]) if DATE_TOKEN.search(o["text"])]
    assert len(heads) == 1 and heads[0].endswith(" UTC> · \U0001f534 RELANCE · portail client")
    with nctx.db.session() as session:
        [exchange] = session.scalars(select(Exchange)).all()
        stamp = int(exchange.occurred_at.timestamp())
    assert f"<!date^{stamp}^{{date_short_pretty}} {{time}}|" in heads[0]


def test_english_notifications_use_english_words() -> None:
    card = DitCard("DIT-2026-0001", "Copieur", "Acme SA", DitState.EN_COURS, 3, relance=True)
    note = Note(
        exchange_id=1,
        sender="Paul Martin",
        receiver="Jeanne Dupuis",
        direction="received",
        source=Source.PORTAL,
        occurred_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        subject=None,
        detail="Toujours rien ?",
        relance=True,
    )
    message = reply_message(card, [note], "en")
    shown = " ".join(o["text"] for o in texts(message["blocks"])) + message["text"]
    assert "FOLLOW-UP" in shown and "RELANCE" not in shown and "relance" not in shown
    assert "(follow-up)" in parent_message(card, note, "en")["text"]
    assert "RELANCE" in reply_message(card, [note], "fr")["text"]


def test_a_burst_is_grouped_and_nothing_is_dropped(
    worker: NotificationWorker, nctx: Context, fake: FakeSlack
) -> None:
    for n in range(1, 8):
        portal(nctx, n)
    portal(nctx, 8, dit="DIT-2026-0003", contact="BOUL-LL")
    drain(worker, nctx.db)
    calls = posts(fake, PORTAL)
    # Oldest first: the parent with the first message, then the other six in one reply.
    assert [marks(c) for c in calls] == [[1], [2, 3, 4, 5, 6, 7], [8]]
    assert "6 nouveaux messages" in calls[1].args["text"]


def test_an_unset_channel_means_no_post(
    worker: NotificationWorker, nctx: Context, fake: FakeSlack
) -> None:
    nctx.settings = nctx.settings.model_copy(update={"channel_relances": None})
    portal(nctx, 1, relance=True)
    drain(worker, nctx.db)
    assert [c.args["channel"] for c in fake.calls_to("chat.postMessage")] == [PORTAL]
    with nctx.db.session() as session:
        statuses = session.scalars(select(OutboxItem.status)).all()
        assert statuses == ["done", "done"]


def test_429_and_500_for_a_while_deliver_everything_once(
    worker: NotificationWorker, nctx: Context, fake: FakeSlack
) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=1)
    fake.fail_next("chat.postMessage", status=500, times=3)
    fake.fail_next("chat.update", status=503, times=1)
    fake.fail_next("chat.postMessage", status=200, disconnect=True)
    for n in range(1, 6):
        portal(
            nctx,
            n,
            dit="DIT-2026-0001" if n % 2 else "DIT-2026-0003",
            contact="ACME-PM" if n % 2 else "BOUL-LL",
            relance=n == 5,
        )
    drain(worker, nctx.db, timeout=30)
    for channel, expected in ((PORTAL, [1, 2, 3, 4, 5]), (RELANCES, [5])):
        delivered = Counter(m for c in posts(fake, channel) for m in marks(c))
        assert sorted(delivered) == expected
        assert set(delivered.values()) == {1}, delivered  # nothing twice
    assert fake.count_429 == 1
    assert len(fake.calls_to("chat.postMessage", status=500)) == 3
    with nctx.db.session() as session:
        assert set(session.scalars(select(OutboxItem.status))) == {"done"}
        lane = session.get(DeliveryLane, lane_key(PORTAL))
        assert lane is not None and lane.last_error is None  # cleared by the later success


def test_a_permanent_error_fails_at_once_and_is_recorded(
    worker: NotificationWorker, nctx: Context, fake: FakeSlack
) -> None:
    fake.add_channel(PORTAL, name="dispatch", is_member=False)
    portal(nctx, 1)
    drain(worker, nctx.db)
    assert len(fake.calls_to("chat.postMessage")) == 1  # tried once, not forever
    with nctx.db.session() as session:
        [item] = session.scalars(select(OutboxItem)).all()
        assert item.status == "failed" and "not_in_channel" in (item.last_error or "")
        lane = session.get(DeliveryLane, lane_key(PORTAL))
        assert lane is not None and "not_in_channel" in (lane.last_error or "")


def test_a_deleted_parent_starts_a_new_thread(
    worker: NotificationWorker, nctx: Context, fake: FakeSlack
) -> None:
    portal(nctx, 1)
    drain(worker, nctx.db)
    fake.fail_next("chat.update", status=200, body={"ok": False, "error": "message_not_found"})
    portal(nctx, 2)
    drain(worker, nctx.db)
    first, again, reply = posts(fake, PORTAL)
    # A new parent (with the DIT's opening message again), then the news in its thread.
    assert "thread_ts" not in again.args and marks(again) == [1]
    assert again.response["ts"] != first.response["ts"]
    assert reply.args["thread_ts"] == again.response["ts"] and marks(reply) == [2]


def test_two_workers_on_one_database_post_each_notification_once_at_the_pace(
    nctx: Context, fake: FakeSlack, db: Database, seeded: dict[str, Any]
) -> None:
    fake.enforce_rate_limit("chat.postMessage", per_channel_per_second=1.0)
    workers = [NotificationWorker(nctx, owner=f"process-{i}", max_wait=0.5) for i in (1, 2)]
    for n in range(1, 9):
        portal(
            nctx,
            n,
            dit="DIT-2026-0001" if n <= 4 else "DIT-2026-0003",
            contact="ACME-PM" if n <= 4 else "BOUL-LL",
            relance=n in (3, 7),
        )
    errors: list[BaseException] = []

    def run(worker: NotificationWorker) -> None:
        try:
            drain(worker, db, timeout=30)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(40)
    assert not errors
    assert fake.count_429 == 0
    for channel, expected in ((PORTAL, list(range(1, 9))), (RELANCES, [3, 7])):
        calls = posts(fake, channel)
        delivered = Counter(m for c in calls for m in marks(c))
        assert sorted(delivered) == expected and set(delivered.values()) == {1}
        for one, two in zip(calls, calls[1:], strict=False):
            assert two.at - one.at >= 0.95  # about one message per second per channel
        for dit_marks in (
            [m for c in calls for m in marks(c) if m <= 4],
            [m for c in calls for m in marks(c) if m > 4],
        ):
            assert dit_marks == sorted(dit_marks)  # order holds within a DIT


def test_notices_written_by_the_previous_version_are_posted(
    worker: NotificationWorker, nctx: Context, fake: FakeSlack
) -> None:
    exchange_id = portal(nctx, 1, relance=True)
    with nctx.db.session() as session:
        session.execute(delete(OutboxItem))  # replaced by the rows the previous version wrote
        old = {"exchange_id": exchange_id, "dit": "DIT-2026-0001"}
        raw_outbox_row(session, "notify", {**old, "reason": "portal"}, lane="portal")
        raw_outbox_row(session, "notify", {**old, "reason": "relance"}, lane="relances")
    drain(worker, nctx.db)
    assert [marks(c) for c in posts(fake, PORTAL)] == [[1]]
    assert [marks(c) for c in posts(fake, RELANCES)] == [[1]]


def test_an_unreadable_notice_is_failed_with_the_reason_and_the_next_one_is_posted(
    worker: NotificationWorker, nctx: Context, fake: FakeSlack
) -> None:
    with nctx.db.session() as session:
        raw_outbox_row(session, "notify", {"dit": "DIT-2026-0001"}, lane="portal")
    portal(nctx, 1)
    drain(worker, nctx.db)
    assert [marks(c) for c in posts(fake, PORTAL)] == [[1]]
    with nctx.db.session() as session:
        bad, good = session.scalars(select(OutboxItem).order_by(OutboxItem.id)).all()
        assert (bad.status, good.status) == ("failed", "done")
        assert bad.last_error is not None
        assert "not a notify payload (exchange_id: Field required; reason: Field required)" in (
            bad.last_error
        )


# -- a burst of long messages: split over replies that Slack accepts, nothing cut or lost -----
def test_a_burst_of_long_messages_is_split_so_that_slack_takes_every_reply_whole(
    worker: NotificationWorker, nctx: Context, fake: FakeSlack
) -> None:
    long = "Le copieur & le scanner " + "x" * 2940
    for n in range(1, 13):  # ~36,000 characters for one DIT
        portal(nctx, n, text=f"{long} fin{n}.")
    drain(worker, nctx.db)
    calls = fake.calls_to("chat.postMessage")
    assert all(call.ok for call in calls), [c.response for c in calls if not c.ok]
    parent, *replies = calls
    assert marks(parent) == [1] and len(replies) >= 4  # 11 notes, about three per reply
    assert sorted(m for c in replies for m in marks(c)) == list(range(2, 13))
    for call in calls:
        shown = "".join(t["text"] for t in texts(call.args["blocks"]))
        assert blocks_text_length(call.args["blocks"]) <= BLOCKS_TEXT_BUDGET
        for n in marks(call):
            assert f"fin{n}." in shown  # each message whole, over two sections
    with nctx.db.session() as session:
        assert set(session.scalars(select(OutboxItem.status))) == {"done"}


def test_a_grouped_reply_slack_refuses_is_split_and_nothing_is_dropped(
    worker: NotificationWorker, nctx: Context, fake: FakeSlack
) -> None:
    portal(nctx, 1)
    drain(worker, nctx.db)
    for n in range(2, 6):
        portal(nctx, n)
    refused = {"ok": False, "error": "msg_blocks_too_long"}
    fake.fail_next("chat.postMessage", status=200, body=refused)
    drain(worker, nctx.db)
    replies = posts(fake, PORTAL)[1:]
    assert [marks(c) for c in replies] == [[2, 3], [4, 5]]  # half as many, then the rest
    with nctx.db.session() as session:
        assert set(session.scalars(select(OutboxItem.status))) == {"done"}


def test_only_a_single_note_slack_refuses_is_failed_and_said_loudly(
    worker: NotificationWorker, nctx: Context, fake: FakeSlack, caplog: Any
) -> None:
    portal(nctx, 1)
    drain(worker, nctx.db)
    refused_id = portal(nctx, 2)
    fake.fail_next("chat.postMessage", status=200, body={"ok": False, "error": "invalid_blocks"})
    drain(worker, nctx.db)
    portal(nctx, 3)
    drain(worker, nctx.db)
    assert [marks(c) for c in posts(fake, PORTAL)] == [[1], [3]]
    with nctx.db.session() as session:
        rows = session.scalars(select(OutboxItem).order_by(OutboxItem.id)).all()
        [failed] = [row for row in rows if row.status == "failed"]
        assert failed.payload["exchange_id"] == refused_id
        assert "invalid_blocks" in (failed.last_error or "")
    [line] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "invalid_blocks" in line.getMessage() and str(failed.id) in line.getMessage()


def test_a_slow_post_keeps_its_lease_so_no_other_process_posts_it_too(
    nctx: Context, fake: FakeSlack, seeded: dict[str, Any]
) -> None:
    """Leases are short (a killed process's work is taken up in seconds) and renewed while a
    post is in flight, however slowly Slack answers."""
    slow, other = (
        NotificationWorker(nctx, owner=name, lease_seconds=1.0, pace_seconds=0.0)
        for name in ("slow", "other")
    )
    portal(nctx, 1)
    fake.delay("chat.postMessage", 3.0)  # three leases long
    first = threading.Thread(target=slow.run_once)
    first.start()
    while owners(nctx.db) != {"slow"}:  # claimed: its post is in flight
        time.sleep(0.01)
    deadline = time.monotonic() + 3.5
    while first.is_alive() and time.monotonic() < deadline:
        other.run_once()  # sees the items and the lane leased, renewed, all along
        time.sleep(0.05)
    first.join(10)
    fake.delay("chat.postMessage", 0)
    drain(other, nctx.db)
    assert [marks(c) for c in posts(fake, PORTAL)] == [[1]]


def owners(db: Database) -> set[str | None]:
    with db.session() as session:
        return set(session.scalars(select(OutboxItem.lease_owner)))
