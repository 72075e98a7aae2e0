"""Claiming outbox items: a limit that holds, each item leased once, only the kinds woken."""

from __future__ import annotations

import threading

from ditbot.delivery.dispatcher import Dispatcher
from storage import outbox
from storage.db import Database
from storage.outbox_payloads import MailDelivery, MailFailed
from storage.vocabulary import OutboxKind


def test_a_claim_leases_at_most_its_limit_and_never_an_item_twice(db: Database) -> None:
    with db.session() as session:
        for n in range(5):
            outbox.enqueue(session, MailDelivery(exchange_id=n, dit="DIT-1"))
    with db.session() as session:
        first = [
            item.payload["exchange_id"] for item in outbox.claim(session, ["mail"], "A", limit=2)
        ]
    with db.session() as session:
        rest = [item.payload["exchange_id"] for item in outbox.claim(session, ["mail"], "B")]
    with db.session() as session:
        none = outbox.claim(session, ["mail"], "C")
    assert first == [0, 1]  # the oldest, and no more than asked
    assert rest == [2, 3, 4]
    assert none == []


def test_a_group_is_marked_done_in_one_go_and_not_claimed_again(db: Database) -> None:
    with db.session() as session:
        for n in range(3):
            outbox.enqueue(session, MailDelivery(exchange_id=n, dit="DIT-1"))
    with db.session() as session:
        ids = [item.id for item in outbox.claim(session, ["mail"], "A", lease_seconds=0)]
        outbox.mark_all_done(session, ids[:2])
        outbox.mark_all_failed(session, ids[2:], "refused")
    with db.session() as session:
        assert outbox.claim(session, ["mail"], "B") == []  # leases expired, yet all closed
        assert [item.last_error for item in outbox.recent_failures(session)] == ["refused"]


def test_the_session_says_which_kinds_it_enqueued(db: Database) -> None:
    with db.session() as session:
        outbox.enqueue(session, MailDelivery(exchange_id=1, dit="DIT-1"))
        outbox.enqueue(session, MailFailed(user="UJDU", exchange_id=1))
    assert outbox.enqueued_kinds(session) == {"mail", "slack_dm"}
    with db.session() as session:
        pass
    assert outbox.enqueued_kinds(session) == frozenset()


class _Counting:
    def __init__(self, kind: OutboxKind) -> None:
        self.kind = kind
        self.name = str(kind)
        self.runs = 0
        self.ran = threading.Event()

    def run_once(self) -> bool:
        self.runs += 1
        self.ran.set()
        return False


def test_waking_one_kind_leaves_the_other_workers_asleep() -> None:
    mail, dm = _Counting(OutboxKind.MAIL), _Counting(OutboxKind.SLACK_DM)
    dispatcher = Dispatcher([mail, dm], idle_seconds=60.0).start()
    try:
        assert mail.ran.wait(10) and dm.ran.wait(10)  # each polls once on start
        mail.ran.clear()
        dispatcher.wake([OutboxKind.MAIL])
        assert mail.ran.wait(10)
        assert (mail.runs, dm.runs) == (2, 1)
        dm.ran.clear()
        dispatcher.wake()  # a caller that does not say wakes every worker
        assert dm.ran.wait(10)
    finally:
        dispatcher.stop()
