"""The mail form in Slack: open it, send, field errors, double delivery, the ack vs SMTP."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from ditbot.core.context import Context
from ditbot.delivery.dispatcher import Dispatcher
from ditbot.mail.worker import MailWorker
from ditbot.playground.slack_api import FakeSlack
from storage import repositories as repo
from storage.models import Exchange, OutboxItem
from tests.mail.conftest import drive, exchange, wait_until
from tests.mail.smtp_server import SmtpServer
from tests.slack.harness import SlackDriver, texts, view_state, view_submission_payload


def open_panel(driver: SlackDriver, number: str = "DIT-2026-0001", user: str = "UJDU") -> Any:
    assert driver.command(number, user=user).status_code == 200
    return driver.last_view("views.open")


def compose_from_panel(driver: SlackDriver, number: str = "DIT-2026-0001") -> Any:
    panel = open_panel(driver, number)
    driver.click(panel, "compose_mail")
    return panel, driver.last_view("views.push")


def mails(ctx: Context, number: str = "DIT-2026-0001") -> list[Exchange]:
    with ctx.db.session() as session:
        dit = repo.dit_by_number(session, number)
        assert dit is not None
        return [e for e in repo.exchanges_of_dit(session, dit.id) if e.type_code == "courriel"]


def count(ctx: Context, model: Any) -> int:
    with ctx.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def input_element(view: dict[str, Any], field: str) -> dict[str, Any]:
    for block in view["blocks"]:
        if block["type"] == "input" and block["element"]["action_id"] == field:
            return dict(block["element"]) | {"_block": block}
    raise AssertionError(f"no input {field}")


def test_compose_from_the_panel_pushes_the_mail_form_with_its_defaults(
    driver: SlackDriver, slack: FakeSlack
) -> None:
    panel, form = compose_from_panel(driver)
    assert form["callback_id"] == "mail_compose"
    assert form["notify_on_close"] is True
    assert form["previous_view_id"] == panel["id"]
    to = input_element(form, "to")
    assert to["type"] == "static_select"
    assert [o["value"] for o in to["options"]] == ["ACME-PM:1", "ACME-PM:2", "ACME-CL:2"]
    # The name as option text, the address as its description (Slack shows both).
    shown = [(o["text"]["text"], o["description"]["text"]) for o in to["options"]]
    assert shown[0] == ("Paul Martin", "p.martin@acme.example")
    assert shown[1] == ("Paul Martin", "paul@acme.example")
    assert to["initial_option"]["value"] == "ACME-PM:1"
    assert input_element(form, "to")["_block"]["dispatch_action"] is True
    assert "*Paul Martin* · Mail 1\u202f: p.martin@acme.example" in texts(form)
    subject = input_element(form, "subject")
    assert subject["dispatch_action_config"] == {"trigger_actions_on": ["on_character_entered"]}
    assert input_element(form, "subject")["initial_value"] == "[DIT-2026-0001] Copieur en panne"
    detail = input_element(form, "detail")
    assert detail["_block"]["dispatch_action"] is True
    assert detail["dispatch_action_config"] == {"trigger_actions_on": ["on_character_entered"]}
    text = texts(form)
    # Sending differs visibly from noting an e-mail already sent (UJDU reads French).
    assert "Ceci envoie réellement le mail" in text
    assert "Jeanne Dupuis &lt;sav@sav.example&gt;" in text
    assert form["submit"]["text"] == "Envoyer"


def test_send_records_at_once_updates_the_panel_and_delivers_in_the_background(
    driver: SlackDriver,
    slack: FakeSlack,
    ctx: Context,
    smtp: SmtpServer,
    worker: MailWorker,
) -> None:
    panel, form = compose_from_panel(driver)
    answer = driver.submit(form, {"to": "ACME-PM:2", "detail": "Pièce commandée, passage jeudi."})
    assert answer.status_code == 200 and answer.get_data() == b""  # the form closes
    [mail] = mails(ctx)
    assert (mail.mail_status, mail.recipient_email) == ("queued", "paul@acme.example")
    assert (mail.source, mail.direction) == ("slack", "sent")
    assert smtp.received == []  # nothing was sent during the request
    update = slack.calls_to("views.update")[-1]
    assert update.args["view_id"] == panel["id"]
    assert "Pièce commandée, passage jeudi." in texts(update.args["view"])

    drive([worker], lambda: exchange(ctx, mail.id).mail_status == "sent")
    [received] = smtp.wait_for(1)
    assert received.rcpt_tos == ["paul@acme.example"]
    assert "Pièce commandée, passage jeudi." in received.part("plain")


def test_dit_mail_command_opens_the_form_and_send_turns_it_into_the_panel(
    driver: SlackDriver, slack: FakeSlack, ctx: Context
) -> None:
    assert driver.command("mail DIT-2026-0003", user="UMLE").status_code == 200
    form = driver.last_view("views.open")
    assert form["callback_id"] == "mail_compose"
    assert input_element(form, "to")["initial_option"]["value"] == "BOUL-LL:1"
    assert "This really sends the e-mail" in texts(form)  # UMLE reads English
    answer = driver.submit(
        form,
        {"to": "BOUL-AG:1", "subject": "Votre chambre froide", "detail": "Bonjour"},
        user="UMLE",
    )
    body = json.loads(answer.get_data())
    assert body["response_action"] == "update"
    assert body["view"]["callback_id"] == "exchanges_panel"
    [mail] = mails(ctx, "DIT-2026-0003")
    assert (mail.recipient_email, mail.subject) == (
        "agnes@boulangerie.example",
        "Votre chambre froide",
    )
    assert mail.sent_by_collaborator.code == "MLE"


def test_field_errors_come_back_on_the_form_and_nothing_is_recorded(
    driver: SlackDriver, ctx: Context
) -> None:
    _, form = compose_from_panel(driver)
    answer = driver.submit(form, {"detail": "   "})
    body = json.loads(answer.get_data())
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == [input_element(form, "detail")["_block"]["block_id"]]
    assert "obligatoire" in body["errors"]["detail"]
    # A forged recipient (not an interlocuteur of the client) is refused on the To field.
    state = view_state(form, {"detail": "Bonjour"})
    state["values"]["to"]["to"]["selected_option"] = {
        "text": {"type": "plain_text", "text": "x"},
        "value": "BOUL-LL:1",
    }
    answer = driver.submit(form, state=state)
    body = json.loads(answer.get_data())
    assert body["response_action"] == "errors" and list(body["errors"]) == ["to"]
    assert "Acme SA" in body["errors"]["to"]
    assert mails(ctx) == [] and count(ctx, OutboxItem) == 0


def test_the_same_submission_delivered_twice_sends_one_mail(
    driver: SlackDriver, ctx: Context, smtp: SmtpServer, worker: MailWorker
) -> None:
    _, form = compose_from_panel(driver)
    payload = view_submission_payload(
        form,
        user="UJDU",
        state=view_state(form, {"detail": "Une seule fois"}),
        trigger_id="1.2.3",
    )
    assert driver.post_interactive(payload).status_code == 200
    assert driver.post_interactive(payload).status_code == 200
    [mail] = mails(ctx)
    assert count(ctx, OutboxItem) == 1
    drive([worker], lambda: exchange(ctx, mail.id).mail_status == "sent")
    assert not worker.run_once()
    assert len(smtp.received) == 1


def test_the_ack_does_not_wait_for_smtp(
    driver: SlackDriver, ctx: Context, smtp: SmtpServer, worker: MailWorker
) -> None:
    dispatcher = Dispatcher([worker], idle_seconds=0.05)
    ctx.wake_delivery = dispatcher.wake
    dispatcher.start()
    try:
        smtp.stall_data()
        _, form = compose_from_panel(driver)
        answer = driver.submit(form, {"detail": "Le serveur SMTP est lent aujourd'hui"})
        assert answer.status_code == 200
        assert smtp.data_started.wait(10)  # delivery started in the background, still held
        [mail] = mails(ctx)
        assert exchange(ctx, mail.id).mail_status == "queued"
        smtp.release()  # the held attempt is dropped (421), the retry goes through
        wait_until(lambda: exchange(ctx, mail.id).mail_status == "sent")
        assert len(smtp.received) == 1
    finally:
        dispatcher.stop()


def test_a_closed_dit_refuses_the_mail_form(driver: SlackDriver, slack: FakeSlack) -> None:
    driver.command("mail DIT-2026-0004")
    assert slack.calls_to("views.open") == []
    assert "clôturée" in driver.last_response()["text"]


def test_the_sent_exchange_form_says_it_sends_nothing(driver: SlackDriver) -> None:
    panel = open_panel(driver)
    driver.click(panel, "add_sent")
    form = driver.last_view("views.push")
    assert form["callback_id"] == "exchange_sent"
    text = texts(form)
    assert "rien n’est envoyé au client" in text and "type Courriel" in text
    assert "Ceci envoie réellement" not in text
