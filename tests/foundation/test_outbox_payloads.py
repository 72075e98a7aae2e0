"""Outbox payloads: one type per kind, stored with the JSON keys earlier versions wrote."""

from __future__ import annotations

from typing import Any

import pytest

from storage import outbox
from storage.db import Database
from storage.outbox_payloads import (
    AuthorDm,
    ChannelNotice,
    DraftKept,
    MailDelivery,
    MailFailed,
    Payload,
    UnreadablePayload,
)
from storage.vocabulary import NoticeReason
from tests.factories import raw_outbox_row

STORED: list[tuple[Payload, str, str | None, dict[str, Any]]] = [
    (MailDelivery(exchange_id=7, dit="DIT-1"), "mail", None, {"exchange_id": 7, "dit": "DIT-1"}),
    (
        ChannelNotice(exchange_id=7, dit="DIT-1", reason=NoticeReason.PORTAL),
        "notify",
        "portal",
        {"exchange_id": 7, "dit": "DIT-1", "reason": "portal"},
    ),
    (
        ChannelNotice(exchange_id=7, dit="DIT-1", reason=NoticeReason.RELANCE),
        "notify",
        "relances",
        {"exchange_id": 7, "dit": "DIT-1", "reason": "relance"},
    ),
    (
        MailFailed(user="UJDU", exchange_id=7),
        "slack_dm",
        None,
        {"reason": "mail_failed", "user": "UJDU", "exchange_id": 7},
    ),
    (
        DraftKept(user="UJDU", draft_id=3),
        "slack_dm",
        None,
        {"reason": "draft_kept", "user": "UJDU", "draft_id": 3},
    ),
]


@pytest.mark.parametrize(("payload", "kind", "lane", "json"), STORED)
def test_a_payload_is_stored_as_before_and_loads_back_as_itself(
    db: Database, payload: Payload, kind: str, lane: str | None, json: dict[str, Any]
) -> None:
    with db.session() as session:
        outbox.enqueue(session, payload)
        session.flush()
        raw_outbox_row(session, kind, json, lane=lane)
    with db.session() as session:
        [item, old] = outbox.claim(session, [kind], "me")  # oldest first: `item` is ours
        assert (item.kind, item.lane, item.payload) == (kind, lane, json)
        assert outbox.load(item) == outbox.load(old) == payload
        assert type(outbox.load(old, type(payload))) is type(payload)


@pytest.mark.parametrize(
    ("kind", "json", "reason"),
    [
        ("mail", {"dit": "DIT-1"}, "exchange_id: Field required"),
        ("mail", {"exchange_id": "seven", "dit": "DIT-1"}, "exchange_id: Input should be"),
        ("notify", {"exchange_id": 7, "dit": "DIT-1", "reason": "gossip"}, "reason: Input"),
        ("slack_dm", {"user": "UJDU", "exchange_id": 7}, "discriminator 'reason'"),
        ("slack_dm", {"reason": "draft_kept", "user": "UJDU"}, "draft_id: Field required"),
        ("slack_dm", ["UJDU"], "Input should be"),
    ],
)
def test_json_that_is_not_a_payload_of_its_kind_is_refused_with_the_reason(
    db: Database, kind: str, json: Any, reason: str
) -> None:
    with db.session() as session:
        raw_outbox_row(session, kind, json)
    with db.session() as session:
        [item] = outbox.claim(session, [kind], "me")
        with pytest.raises(UnreadablePayload) as caught:
            outbox.load(item)
        assert str(caught.value).startswith(f"outbox item {item.id}: not a {kind} payload (")
        assert reason in str(caught.value)
        assert outbox.load_or_fail(session, [item], MailDelivery) == []
    with db.session() as session:
        [failed] = outbox.recent_failures(session)
        assert failed.status == "failed" and reason in (failed.last_error or "")


def test_an_item_of_another_kind_than_expected_is_refused(db: Database) -> None:
    with db.session() as session:
        outbox.enqueue(session, MailDelivery(exchange_id=7, dit="DIT-1"))
    with db.session() as session:
        [item] = outbox.claim(session, ["mail"], "me")
        with pytest.raises(UnreadablePayload, match="a MailDelivery, not a AuthorDm"):
            outbox.load(item, AuthorDm)
