"""A mail no DIT was found for, in the dispatch channel: attach it to a DIT, or dismiss it."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient

from bot.workers.inbound import UnmatchedMailWorker
from ditbot.core.context import Context
from ditbot.mail.inbound.pipeline import Disposition, receive
from ditbot.playground.slack_api import FakeSlack
from storage.models import InboundMail
from tests.mail.conftest import drive
from tests.mail.inbound.conftest import Raw
from tests.mail.inbound.test_pipeline import exchanges_of
from tests.slack.harness import SlackDriver, block_actions_payload, texts

DISPATCH = "CDISPATCH"


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "DITBOT_CHANNEL_PORTAL": DISPATCH}


@pytest.fixture
def posted(mail_ctx: Context, slack: FakeSlack, raw: Raw) -> dict[str, Any]:
    """The unmatched mail, received and posted in the dispatch channel."""
    slack.add_channel(DISPATCH, name="dispatch")
    assert receive(mail_ctx, raw("unmatched.eml")).disposition == Disposition.UNMATCHED
    worker = UnmatchedMailWorker(
        mail_ctx, WebClient(token="xoxb-test-token", base_url=slack.base_url)
    )
    drive([worker], lambda: bool(slack.calls_to("chat.postMessage")))
    [post] = slack.calls_to("chat.postMessage")
    assert post.args["channel"] == DISPATCH
    ts = post.response["ts"]
    return {"blocks": post.args["blocks"], "text": post.args["text"], "ts": ts}


def click(driver: SlackDriver, post: dict[str, Any], action_id: str, user: str = "UJDU") -> Any:
    block = next(b for b in post["blocks"] if b["type"] == "actions")
    button = next(e for e in block["elements"] if e["action_id"] == action_id)
    payload = block_actions_payload(
        user=user,
        action={
            "action_id": action_id,
            "block_id": block.get("block_id") or "actions",
            "type": "button",
            "value": button["value"],
            "text": button["text"],
            "action_ts": "1.0",
        },
        trigger_id=driver.fake.new_trigger_id(),
        message=post,
        channel=DISPATCH,
    )
    return driver.post_interactive(payload)


def test_the_post_shows_the_mail_as_plain_text_with_two_buttons(posted: dict[str, Any]) -> None:
    shown = texts({"blocks": posted["blocks"]})
    assert "Inconnu <contact@nouvelle-societe.example>" in shown
    assert "Demande de devis pour une imprimante" in shown
    assert "pourriez-vous nous faire un devis" in shown
    # Client text only in plain_text objects: it can never ping or format.
    for block in posted["blocks"]:
        if block["type"] == "section":
            assert block["text"]["type"] == "plain_text"
    actions = next(b for b in posted["blocks"] if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == ["inbound_attach", "inbound_dismiss"]


def test_attach_to_a_dit_found_by_client_name(
    mail_ctx: Context, driver: SlackDriver, slack: FakeSlack, posted: dict[str, Any]
) -> None:
    assert click(driver, posted, "inbound_attach").status_code == 200
    modal = driver.last_view("views.open")
    assert modal["callback_id"] == "inbound_attach"
    options = driver.suggest(modal, "dit", "Boulangerie")
    assert "DIT-2026-0003" in [o["value"] for o in options["options"]]
    response = driver.submit(modal, {"dit": "DIT-2026-0003"})
    assert response.status_code == 200 and not response.get_data(as_text=True).strip("{} ")

    [mail] = [e for e in exchanges_of(mail_ctx, "DIT-2026-0003") if e.source == "mail"]
    assert mail.sent_by_contact is not None and mail.sent_by_contact.code == "BOUL-LL"
    assert mail.detail.startswith(
        "Envoyé depuis contact@nouvelle-societe.example, une adresse inconnue."
    )
    [update] = slack.calls_to("chat.update")
    assert update.args["channel"] == DISPATCH
    assert "attaché à DIT-2026-0003 par Jeanne Dupuis" in update.args["text"]
    assert "actions" not in [b["type"] for b in update.args["blocks"]]


def test_dismiss_and_a_second_click_is_told_it_was_handled(
    mail_ctx: Context, driver: SlackDriver, slack: FakeSlack, posted: dict[str, Any]
) -> None:
    assert click(driver, posted, "inbound_dismiss").status_code == 200
    with mail_ctx.db.session() as session:
        [row] = session.query(InboundMail).all()
        assert row.status == "dismissed" and row.handled_by_id is not None
    [update] = slack.calls_to("chat.update")
    assert "écarté par Jeanne Dupuis" in update.args["text"]
    # Someone else clicks Attach on the post they still see: told, nothing recorded.
    click(driver, posted, "inbound_attach", user="UMLE")
    assert not slack.calls_to("views.open") or driver.last_view("views.open")["callback_id"] != (
        "inbound_attach"
    )
    told = [
        c.args["text"] for c in slack.calls_to("chat.postMessage") if c.args["channel"] == "UMLE"
    ]
    assert told == ["This mail was already attached to a DIT or dismissed."]  # MLE reads English
    with mail_ctx.db.session() as session:
        assert [r.status for r in session.query(InboundMail).all()] == ["dismissed"]
