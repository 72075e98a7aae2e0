"""Envoyé par / Reçu par as a user sees them: Mail 1 and Mail 2 whole, nobody to choose said
before the form opens (issue 9, items 12 and 13)."""

from __future__ import annotations

from typing import Any

from ditbot.core.context import Context
from ditbot.domain.reference import import_data
from ditbot.playground.slack_api import FakeSlack
from tests.slack.harness import SlackDriver, texts
from tests.slack.util import exchanges, open_panel

CELINE = "celine@boulangerie-menard.example"
COMPTA = "compta@boulangerie-menard.example"


def seed_client(ctx: Context, code: str, contacts: list[dict[str, Any]]) -> str:
    number = f"DIT-2026-9{len(contacts):03d}"
    dit: dict[str, Any] = {
        "number": number,
        "client": code,
        "title": "Four",
        "state": "en_cours",
        "technician": "JDU",
        "created_at": "2026-11-25T08:00:00Z",
    }
    if contacts:
        dit["contact"] = contacts[0]["code"]
    with ctx.db.session() as session:
        import_data(
            session,
            {
                "clients": [{"code": code, "name": "Boulangerie Ménard", "contacts": contacts}],
                "dits": [dit],
            },
        )
    return number


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id", "").split(".")[0] == block_id)


def test_mail_1_and_mail_2_are_whole_on_the_exchange_forms(
    driver: SlackDriver, ctx: Context
) -> None:
    number = seed_client(
        ctx,
        "MENARD",
        [
            {"code": "MEN-CM", "name": "Céline Ménard", "mail1": CELINE, "mail2": COMPTA},
            {"code": "MEN-PA", "name": "Pierre Ménard", "mail1": "pierre@menard.example"},
        ],
    )
    panel = open_panel(driver, number)
    driver.click(panel, "add_received")
    form = driver.last_view("views.push")
    sender = block(form, "sent_by")
    assert sender["dispatch_action"] is True
    option = next(o for o in sender["element"]["options"] if o["value"] == "MEN-CM")
    assert option["text"]["text"] == "Céline Ménard"
    assert option["description"]["text"] == f"{CELINE} · {COMPTA}"
    line = f"*Céline Ménard* · Mail 1\u202f: {CELINE} · Mail 2\u202f: {COMPTA}"
    assert line in texts(form)
    # Another sender chosen: the line under the select follows, what was typed stays.
    driver.click(form, "sent_by", "MEN-PA", changes={"detail": "déjà tapé"})
    redrawn = driver.fake.view(form["id"])
    assert redrawn is not None
    assert "*Pierre Ménard* · Mail 1\u202f: pierre@menard.example" in texts(redrawn)
    assert "*Céline Ménard* ·" not in texts(redrawn)
    assert block(redrawn, "detail")["element"]["initial_value"] == "déjà tapé"
    driver.submit(redrawn, {"sent_by": "MEN-PA"})
    [exchange] = exchanges(ctx, number)
    assert exchange.sent_by_contact.code == "MEN-PA"


def test_a_client_with_no_contact_is_told_before_an_exchange_form_opens(
    driver: SlackDriver, ctx: Context, slack: FakeSlack
) -> None:
    number = seed_client(ctx, "VIDE", [])
    panel = open_panel(driver, number)
    for button in ("add_received", "add_sent"):
        driver.click(panel, button)
        notice = driver.last_view("views.push")
        assert notice["callback_id"] == "ditbot_notice"
        assert "n’a encore aucun interlocuteur" in texts(notice)
    assert all(
        c.args["view"]["callback_id"] == "ditbot_notice" for c in slack.calls_to("views.push")
    )
    driver.command(f"recu {number}", user="UMLE")
    assert "has no contact yet, so no exchange can name one" in texts(driver.last_response())
    assert "—" not in texts(driver.last_response())


def test_two_quick_choices_redraw_once_and_tell_the_user_nothing_went_wrong(
    driver: SlackDriver, ctx: Context, slack: FakeSlack
) -> None:
    """The second choice comes with the hash of the view before the first redraw: Slack
    answers hash_conflict, and the form simply stays as the first redraw left it."""
    panel = open_panel(driver)
    driver.click(panel, "add_sent")
    form = driver.last_view("views.push")
    driver.click(form, "received_by", "ACME-CL")
    driver.click(form, "received_by", "ACME-PM")  # the stale view, as Slack sent it
    updates = [c for c in slack.calls_to("views.update") if c.args["view_id"] == form["id"]]
    assert [c.response.get("error") for c in updates] == [None, "hash_conflict"]
    assert [c.args["view"]["callback_id"] for c in slack.calls_to("views.push")] == [
        "exchange_sent"
    ]  # no error notice pushed
    assert slack.calls_to("chat.postMessage") == []
