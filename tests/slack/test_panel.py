"""`/dit <number>`: the exchanges panel, its buttons, its forms, its per-exchange menu."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from ditbot.core.context import Context
from ditbot.domain.exchanges import Actor, ExchangeInput, Party, log_exchange
from ditbot.domain.inbound import InboundFacts, note_auto_reply
from ditbot.playground.slack_api import FakeSlack
from storage import repositories as repo
from storage.models import Exchange
from tests.slack.harness import SlackDriver, texts
from tests.slack.util import action_ids, exchanges, log_via_panel, menu_values, open_panel


def seed_exchange(
    ctx: Context,
    number: str = "DIT-2026-0001",
    *,
    author: str = "JDU",
    source: str = "slack",
    type_code: str = "appel",
    detail: str = "Appel du client",
    direction: str = "received",
    minutes_ago: int = 60,
) -> int:
    """An exchange written straight through the domain (as the API or the portal would)."""
    with ctx.db.session() as session:
        collaborator = repo.collaborator_by_code(session, author)
        target = repo.dit_by_number(session, number)
        assert target is not None and target.contact is not None
        contact = target.contact
        if source == "portal":
            actor = Actor(source="portal", contact=contact)
        else:
            actor = Actor(source=source, collaborator=collaborator)  # type: ignore[arg-type]
        theirs, ours = Party("contact", contact.code), Party("collaborator", author)
        data = ExchangeInput(
            direction=direction,  # type: ignore[arg-type]
            detail=detail,
            type_code=type_code,
            sent_by=theirs if direction == "received" else ours,
            received_by=ours if direction == "received" else theirs,
            occurred_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
        )
        exchange, _ = log_exchange(session, number, data, actor)
        return exchange.id


def test_panel_shows_the_dit_client_interlocuteur_and_buttons(driver: SlackDriver) -> None:
    panel = open_panel(driver)
    assert panel["callback_id"] == "exchanges_panel"
    text = texts(panel)
    for expected in (
        "DIT-2026-0001",
        "Acme SA",
        "Paul Martin",
        "p.martin@acme.example",
        "Copieur en panne",
        "Jeanne Dupuis",
    ):
        assert expected in text
    assert action_ids(panel) == ["add_received", "add_sent", "compose_mail"]
    assert "Aucun échange" in text  # UJDU's Slack locale is fr-FR


def test_counter_red_and_last_speaker(driver: SlackDriver, ctx: Context) -> None:
    seed_exchange(ctx, minutes_ago=90, direction="sent", detail="On passe demain")
    seed_exchange(ctx, minutes_ago=30, type_code="relance", detail="Toujours rien ?")
    panel = open_panel(driver, user="UMLE")  # English
    text = texts(panel)
    assert ":red_circle: *2 exchanges*" in text
    assert "the client spoke last: waiting on us (a follow-up)" in text
    # newest first
    assert text.index("Toujours rien") < text.index("On passe demain")


def test_log_received_from_panel_updates_the_panel_underneath(
    driver: SlackDriver, slack: FakeSlack, ctx: Context
) -> None:
    panel = open_panel(driver)
    driver.click(panel, "add_received")
    push = slack.calls_to("views.push")[-1]
    assert push.args["trigger_id"]  # pushed with the click's trigger_id
    form = driver.last_view("views.push")
    assert form["callback_id"] == "exchange_received"
    assert form["previous_view_id"] == panel["id"]
    response = driver.submit(form, {"detail": "Le client rappelle: toujours en panne"})
    assert response.status_code == 200 and response.get_data() == b""
    [exchange] = exchanges(ctx, "DIT-2026-0001")
    assert (exchange.direction, exchange.source) == ("received", "slack")
    assert exchange.sent_by_contact.code == "ACME-PM"  # default: the DIT's interlocuteur
    assert exchange.received_by_collaborator.code == "JDU"  # default: me
    assert exchange.author_collaborator.code == "JDU"
    update = slack.calls_to("views.update")[-1]
    assert update.args["view_id"] == panel["id"] and update.args["hash"] == panel["hash"]
    assert "toujours en panne" in texts(update.args["view"])
    assert "1 échange" in texts(update.args["view"])


def test_sent_form_recipient_follows_received_by(
    driver: SlackDriver, slack: FakeSlack, ctx: Context
) -> None:
    panel = open_panel(driver)
    driver.click(panel, "add_sent")
    form = driver.last_view("views.push")
    assert form["callback_id"] == "exchange_sent"
    email_block = next(
        b for b in form["blocks"] if b.get("block_id", "").startswith("recipient_email")
    )
    assert email_block["element"]["initial_value"] == "p.martin@acme.example"
    # choose Claire: Slack sends block_actions (dispatch_action), we swap the block_id suffix
    driver.click(form, "received_by", "ACME-CL", changes={"detail": "typed before"})
    form = driver.fake.view(form["id"])
    assert form is not None
    email_block = next(
        b for b in form["blocks"] if b.get("block_id", "").startswith("recipient_email")
    )
    assert email_block["block_id"] != "recipient_email.0"
    assert email_block["element"]["initial_value"] == "claire@acme.example"
    detail = next(b for b in form["blocks"] if b.get("block_id", "").startswith("detail"))
    assert detail["element"]["initial_value"] == "typed before"  # what was typed stays
    driver.submit(form, {"received_by": "ACME-CL"})
    [exchange] = exchanges(ctx, "DIT-2026-0001")
    assert exchange.recipient_email == "claire@acme.example"
    assert exchange.received_by_contact.code == "ACME-CL"
    assert exchange.sent_by_collaborator.code == "JDU"


def test_exchange_date_defaults_to_now_and_may_be_earlier(
    driver: SlackDriver, ctx: Context
) -> None:
    before = int(time.time())
    panel = open_panel(driver)
    driver.click(panel, "add_received")
    form = driver.last_view("views.push")
    when = next(b for b in form["blocks"] if b.get("block_id") == "occurred_at")["element"]
    assert when["type"] == "datetimepicker"
    assert abs(when["initial_date_time"] - before) < 60
    yesterday = before - 86400
    driver.submit(form, {"detail": "Appel d'hier", "occurred_at": yesterday})
    [exchange] = exchanges(ctx, "DIT-2026-0001")
    assert int(exchange.occurred_at.timestamp()) == yesterday


def test_future_date_is_a_field_error(driver: SlackDriver, ctx: Context) -> None:
    panel = open_panel(driver, user="UMLE")
    driver.click(panel, "add_received", user="UMLE")
    form = driver.last_view("views.push")
    answer = driver.submit(
        form, {"detail": "x", "occurred_at": int(time.time()) + 86400}, user="UMLE"
    ).get_json()
    assert answer["response_action"] == "errors"
    assert "future" in answer["errors"]["occurred_at"]
    assert exchanges(ctx, "DIT-2026-0001") == []


def test_view_edit_delete_from_the_menu(
    driver: SlackDriver, slack: FakeSlack, ctx: Context
) -> None:
    panel = log_via_panel(driver, {"detail": "Premier jet", "subject": "Panne"})
    [exchange] = exchanges(ctx, "DIT-2026-0001")
    assert menu_values(panel, exchange.id) == [
        f"view:{exchange.id}",
        f"edit:{exchange.id}",
        f"delete:{exchange.id}",
    ]
    # view
    driver.click(panel, "exchange_menu", f"view:{exchange.id}")
    detail = driver.last_view("views.push")
    assert detail["callback_id"] == "exchange_detail"
    assert "Premier jet" in texts(detail) and "Panne" in texts(detail)
    # edit: the same form, filled in
    driver.click(panel, "exchange_menu", f"edit:{exchange.id}")
    form = driver.last_view("views.push")
    assert form["callback_id"] == "exchange_received"
    detail_block = next(b for b in form["blocks"] if b.get("block_id") == "detail")
    assert detail_block["element"]["initial_value"] == "Premier jet"
    driver.submit(form, {"detail": "Version corrigée"})
    [edited] = exchanges(ctx, "DIT-2026-0001")
    assert edited.id == exchange.id and edited.detail == "Version corrigée"
    with ctx.db.session() as session:
        [version] = repo.versions_of(session, exchange.id)
        assert version.snapshot["detail"] == "Premier jet"
    assert "Version corrigée" in texts(slack.calls_to("views.update")[-1].args["view"])
    # delete: a confirmation first
    panel = driver.fake.view(panel["id"])
    assert panel is not None
    driver.click(panel, "exchange_menu", f"delete:{exchange.id}")
    confirm = driver.last_view("views.push")
    assert confirm["callback_id"] == "exchange_delete"
    assert exchanges(ctx, "DIT-2026-0001") != []  # nothing deleted before confirming
    driver.submit(confirm, {"reason": "doublon"})
    assert exchanges(ctx, "DIT-2026-0001") == []
    [trace] = exchanges(ctx, "DIT-2026-0001", include_deleted=True)
    assert trace.deleted_reason == "doublon" and trace.deleted_by.code == "JDU"
    last = slack.calls_to("views.update")[-1].args["view"]
    assert "Aucun échange" in texts(last)


def test_delete_only_offered_where_allowed(driver: SlackDriver, ctx: Context) -> None:
    mine = seed_exchange(ctx, author="JDU", detail="mine")
    theirs = seed_exchange(ctx, author="MLE", detail="Marc's")
    portal = seed_exchange(ctx, source="portal", detail="du portail")
    panel = open_panel(driver, user="UJDU")
    assert menu_values(panel, mine) == [f"view:{mine}", f"edit:{mine}", f"delete:{mine}"]
    assert menu_values(panel, theirs) == [f"view:{theirs}"]
    assert menu_values(panel, portal) == [f"view:{portal}"]
    manager_panel = open_panel(driver, user="USBE")  # a manager may delete Marc's
    assert f"delete:{theirs}" in menu_values(manager_panel, theirs)
    assert f"delete:{portal}" not in menu_values(manager_panel, portal)


def test_forged_menu_value_is_refused(driver: SlackDriver, slack: FakeSlack, ctx: Context) -> None:
    other = seed_exchange(ctx, "DIT-2026-0003", author="JDU", detail="autre DIT")
    panel = open_panel(driver)
    # a crafted overflow option naming an exchange of another DIT
    forged = {**panel}
    forged["blocks"] = panel["blocks"] + [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "x"},
            "accessory": {
                "type": "overflow",
                "action_id": "exchange_menu",
                "options": [
                    {"text": {"type": "plain_text", "text": "d"}, "value": f"delete:{other}"}
                ],
            },
        }
    ]
    driver.click(forged, "exchange_menu", f"delete:{other}")
    assert slack.calls_to("views.push")[-1].args["view"]["callback_id"] == "ditbot_notice"
    assert len(exchanges(ctx, "DIT-2026-0003")) == 1


def test_closed_dit_panel_is_read_only(driver: SlackDriver, ctx: Context) -> None:
    driver.command("DIT-2026-0004")
    answer = driver.last_response()
    assert answer["response_type"] == "ephemeral"
    assert "clôturée" in texts(answer)
    assert driver.fake.calls_to("views.open") == []
    driver.click(answer, "open_panel", "DIT-2026-0004")
    panel = driver.last_view("views.open")
    assert action_ids(panel) == []
    assert "clôturée" in texts(panel)


def paging(view: dict[str, object]) -> list[tuple[str, str]]:
    """(action_id, page) of the paging buttons of a panel."""
    return [
        (e["action_id"], e["value"])
        for b in view["blocks"]  # type: ignore[attr-defined]
        if b.get("block_id") == "panel_paging"
        for e in b["elements"]
    ]


def test_older_and_newer_exchanges_page_through_three_pages(
    driver: SlackDriver, slack: FakeSlack, ctx: Context
) -> None:
    """The fake refuses what Slack refuses: a middle page has both buttons in one block, so
    they need two action_ids (one shared id was `invalid_arguments` on every page but the
    first and the last)."""
    long_text = ("Le client <!channel> dit: *urgent* & encore " * 100)[:3000]
    for index in range(45):
        seed_exchange(ctx, detail=f"n°{index} {long_text}"[:3000], minutes_ago=1000 - index)
    panel = open_panel(driver)  # the harness fails on any view the fake refuses
    sections = [b for b in panel["blocks"] if b.get("block_id", "").startswith("exchange.")]
    assert len(sections) == 20
    assert "n°44 " in texts(panel) and "n°24 " not in texts(panel)
    # What the client wrote is plain_text (shown as typed, never parsed), never mrkdwn.
    assert "<!channel>" in texts(panel, "plain_text")
    assert "channel" not in texts(panel, "mrkdwn") and "urgent" not in texts(panel, "mrkdwn")
    assert paging(panel) == [("panel_older", "1")]

    driver.click(panel, "panel_older", "1")
    middle = driver.fake.view(panel["id"])
    assert middle is not None
    assert "n°24 " in texts(middle) and "n°44 " not in texts(middle)
    assert "21 à 40 sur 45" in texts(middle)
    assert paging(middle) == [("panel_newer", "0"), ("panel_older", "2")]

    driver.click(middle, "panel_older", "2")
    last = driver.fake.view(panel["id"])
    assert last is not None and "n°0 " in texts(last) and "n°5 " not in texts(last)
    assert paging(last) == [("panel_newer", "1")]

    driver.click(last, "panel_newer", "1")
    back = driver.fake.view(panel["id"])
    assert back is not None and "21 à 40 sur 45" in texts(back)
    updates = [c for c in slack.calls_to("views.update") if c.args.get("view_id") == panel["id"]]
    assert len(updates) == 3 and all(c.ok for c in updates)


def test_open_panel_button_inside_a_modal_pushes(driver: SlackDriver) -> None:
    panel = open_panel(driver)
    notice = {
        **panel,
        "blocks": [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "open_panel",
                        "value": "DIT-2026-0003",
                        "text": {"type": "plain_text", "text": "Open"},
                    }
                ],
            }
        ],
    }
    driver.click(notice, "open_panel", "DIT-2026-0003")
    pushed = driver.last_view("views.push")
    assert "DIT-2026-0003" in texts(pushed)


def test_many_collaborators_are_searched_as_the_user_types(
    driver: SlackDriver, ctx: Context
) -> None:
    from ditbot.domain.reference import import_data

    with ctx.db.session() as session:
        import_data(
            session,
            {
                "collaborators": [
                    {
                        "code": f"T{i:03d}",
                        "name": f"Technicien {i:03d}",
                        "mail1": f"t{i}@sav.example",
                    }
                    for i in range(130)
                ]
            },
        )
    panel = open_panel(driver)
    driver.click(panel, "add_sent")
    form = driver.last_view("views.push")
    sender = next(b for b in form["blocks"] if b.get("block_id") == "sent_by")["element"]
    assert sender["type"] == "external_select"
    assert sender["initial_option"]["value"] == "JDU"
    options = driver.suggest(form, "sent_by", "technicien 12")["options"]
    assert [o["value"] for o in options] == [f"T{i}" for i in range(120, 130)]
    assert all(len(o["text"]["text"]) <= 75 for o in options)
    driver.submit(form, {"detail": "envoyé par un autre", "sent_by": "T012"})
    [exchange] = exchanges(ctx, "DIT-2026-0001")
    assert exchange.sent_by_collaborator.code == "T012"


def test_an_out_of_office_shows_under_the_mail_it_answers_never_formatted(
    driver: SlackDriver, ctx: Context
) -> None:
    mail_id = seed_exchange(ctx, direction="sent", type_code="courriel", detail="Devis joint")
    with ctx.db.session() as session:
        facts = InboundFacts(
            key="<ooo-1@acme.example>",
            message_id="<ooo-1@acme.example>",
            from_address="p.martin@acme.example",
            from_name="Paul Martin",
            subject="Absent du bureau",
            sent_at=None,
            text="Je suis absent jusqu'au 7 décembre. <!channel> *urgent* : appelez Zoé.",
        )
        note_auto_reply(session, facts, session.get(Exchange, mail_id), "Auto-Submitted")
    panel = open_panel(driver)
    driver.click(panel, "exchange_menu", f"view:{mail_id}")
    detail = driver.last_view("views.push")
    shown = texts(detail)
    assert "Réponse automatique reçue" in shown
    note = next(
        b["text"] for b in detail["blocks"] if "absent jusqu" in b.get("text", {}).get("text", "")
    )
    assert note["type"] == "plain_text"  # the client's words can neither ping nor format
    assert note["text"] == "Je suis absent jusqu'au 7 décembre. <!channel> *urgent* : appelez Zoé."


def test_a_save_or_a_delete_redraws_the_panel_at_the_page_the_user_was_on(
    driver: SlackDriver, slack: FakeSlack, ctx: Context
) -> None:
    ids = [seed_exchange(ctx, detail=f"n°{index}", minutes_ago=1000 - index) for index in range(45)]
    panel = open_panel(driver)
    driver.click(panel, "panel_older", "1")
    second = driver.fake.view(panel["id"])
    assert second is not None and "21 à 40 sur 45" in texts(second)
    # Edit the exchange n°20 (on page 2): after the save, the panel is still at page 2.
    driver.click(second, "exchange_menu", f"edit:{ids[20]}")
    driver.submit(driver.last_view("views.push"), {"detail": "n°20 corrigé"})
    redrawn = slack.calls_to("views.update")[-1].args["view"]
    assert "21 à 40 sur 45" in texts(redrawn) and "n°20 corrigé" in texts(redrawn)
    # Delete n°21 from that page: the panel stays at page 2 (now of 44).
    second = driver.fake.view(panel["id"])
    assert second is not None
    driver.click(second, "exchange_menu", f"delete:{ids[21]}")
    driver.submit(driver.last_view("views.push"), {"reason": "doublon"})
    redrawn = slack.calls_to("views.update")[-1].args["view"]
    assert "21 à 40 sur 44" in texts(redrawn) and "n°21" not in texts(redrawn)
    # Logging a new exchange from page 2 keeps the page too.
    second = driver.fake.view(panel["id"])
    assert second is not None
    driver.click(second, "add_received")
    driver.submit(driver.last_view("views.push"), {"detail": "Nouveau"})
    redrawn = slack.calls_to("views.update")[-1].args["view"]
    assert "21 à 40 sur 45" in texts(redrawn)


def test_client_text_shows_exactly_as_written_in_the_panel_and_never_pings(
    driver: SlackDriver, ctx: Context
) -> None:
    """One rule (bot/views/text.py): plain_text is shown as given, so the client's text is
    there raw (an escaped `&lt;` would show literally); in mrkdwn it is escaped."""
    evil = "<b> & <!channel>"
    seed_exchange(ctx, detail=evil)
    with ctx.db.session() as session:
        dit = repo.dit_by_number(session, "DIT-2026-0001")
        assert dit is not None
        dit.client.name = evil
    panel = open_panel(driver)
    plain = [o["text"] for o in _text_objects(panel) if o["type"] == "plain_text"]
    marked = [o for o in _text_objects(panel) if o["type"] == "mrkdwn"]
    assert evil in plain and not any("&lt;" in p or "&amp;" in p for p in plain)
    assert any("&lt;b&gt; &amp; &lt;!channel&gt;" in o["text"] for o in marked)
    assert all("<b>" not in o["text"] and "<!channel>" not in o["text"] for o in marked)
    assert all(o.get("verbatim") is True for o in marked)
    driver.click(panel, "exchange_menu", f"view:{exchanges(ctx, 'DIT-2026-0001')[0].id}")
    detail = driver.last_view("views.push")
    assert evil in [o["text"] for o in _text_objects(detail) if o["type"] == "plain_text"]


def _text_objects(value: object) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        if value.get("type") in ("plain_text", "mrkdwn") and isinstance(value.get("text"), str):
            found.append(value)
        for child in value.values():
            found += _text_objects(child)
    elif isinstance(value, list):
        for child in value:
            found += _text_objects(child)
    return found
