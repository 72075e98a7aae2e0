"""Slack while the database does not answer: forms stay open, the user is told, nothing lost.

The real bolt app, signed requests, the Slack fake; the database is cut under the running app
(tests/outages/outage.py), then restored, and the user simply submits again.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from ditbot.core.context import Context
from ditbot.playground.slack_api import FakeSlack
from storage import repositories as repo
from storage.models import Exchange, OutboxItem
from tests.outages.outage import Outage
from tests.slack.harness import SlackDriver, view_state

EN_DOWN = "briefly unavailable"
EN_AGAIN = "Try again in a moment"
FR_DOWN = "momentanément indisponible"
FR_AGAIN = "Réessayez dans un instant"
GENERIC = ("Something went wrong", "Une erreur", "reference", "référence")


def details(ctx: Context, number: str = "DIT-2026-0001") -> list[str]:
    with ctx.db.session() as session:
        dit = repo.dit_by_number(session, number)
        assert dit is not None
        return [e.detail for e in repo.exchanges_of_dit(session, dit.id)]


def field_errors(answer: Any, form: dict[str, Any]) -> dict[str, str]:
    """The `response_action: errors` of a submission (the modal stays open), checked."""
    assert answer.status_code == 200
    body = json.loads(answer.get_data())
    assert body["response_action"] == "errors", body
    inputs = {b["block_id"] for b in form["blocks"] if b["type"] == "input"}
    assert set(body["errors"]) <= inputs and body["errors"], body
    return dict(body["errors"])


def no_internals(text: str) -> None:
    for word in ("Traceback", "OperationalError", "sqlalchemy", "psycopg", "sqlite3", *GENERIC):
        assert word not in text, text


def test_the_exchange_form_stays_open_while_the_database_is_down_then_saves_once(
    driver: SlackDriver, slack: FakeSlack, ctx: Context, outage: Outage
) -> None:
    assert driver.command("DIT-2026-0001", user="UMLE").status_code == 200
    panel = driver.last_view("views.open")
    driver.click(panel, "add_received", user="UMLE")
    form = driver.last_view("views.push")
    typed = {"detail": "The client calls back: the copier jams again."}
    state = view_state(form, typed)

    outage.cut()
    errors = field_errors(driver.submit(form, state=state, user="UMLE"), form)
    [message] = errors.values()
    assert EN_DOWN in message and EN_AGAIN in message  # UMLE's Slack locale is English
    no_internals(message)
    assert slack.calls_to("views.update") == []  # the panel was not touched

    outage.restore()
    answer = driver.submit(form, state=state, user="UMLE")  # the same form, submitted again
    assert answer.status_code == 200 and answer.get_data() == b"", answer.get_data()
    assert details(ctx).count(typed["detail"]) == 1
    answer = driver.submit(form, state=state, user="UMLE")  # and Slack delivering it twice
    assert details(ctx).count(typed["detail"]) == 1


def test_the_sent_form_opened_alone_answers_in_french_and_keeps_the_modal(
    driver: SlackDriver, ctx: Context, outage: Outage
) -> None:
    assert driver.command("envoye DIT-2026-0001", user="UJDU").status_code == 200
    form = driver.last_view("views.open")
    assert form["callback_id"] == "exchange_sent"
    state = view_state(form, {"detail": "Devis envoyé par téléphone."})

    outage.cut()
    [message] = field_errors(driver.submit(form, state=state), form).values()
    assert FR_DOWN in message and FR_AGAIN in message
    no_internals(message)

    outage.restore()
    body = json.loads(driver.submit(form, state=state).get_data())
    assert body["response_action"] == "update"  # the form becomes the DIT's panel
    assert details(ctx).count("Devis envoyé par téléphone.") == 1


def test_the_mail_form_stays_open_while_the_database_is_down_then_sends_one_mail(
    driver: SlackDriver, slack: FakeSlack, ctx: Context, outage: Outage
) -> None:
    assert driver.command("DIT-2026-0001", user="UJDU").status_code == 200
    driver.click(driver.last_view("views.open"), "compose_mail")
    form = driver.last_view("views.push")
    assert form["callback_id"] == "mail_compose"
    state = view_state(form, {"detail": "Bonjour, le technicien passe jeudi."})

    outage.cut()
    [message] = field_errors(driver.submit(form, state=state), form).values()
    assert FR_DOWN in message and FR_AGAIN in message
    no_internals(message)

    outage.restore()
    answer = driver.submit(form, state=state)
    assert answer.status_code == 200 and answer.get_data() == b"", answer.get_data()
    driver.submit(form, state=state)  # a second delivery of the same Send
    with ctx.db.session() as session:
        mails = session.scalars(select(Exchange).where(Exchange.type_code == "courriel")).all()
        assert [(m.detail, m.mail_status) for m in mails] == [
            ("Bonjour, le technicien passe jeudi.", "queued")
        ]
        queued = session.scalar(select(func.count(OutboxItem.id)).where(OutboxItem.kind == "mail"))
        assert queued == 1


def test_a_slash_command_while_the_database_is_down_gets_an_ephemeral_message(
    driver: SlackDriver, slack: FakeSlack, outage: Outage
) -> None:
    outage.cut()
    answer = driver.command("DIT-2026-0001", user="UMLE")
    assert answer.status_code == 200 and answer.get_data() == b""  # acked at once
    reply = driver.last_response()
    assert reply["response_type"] == "ephemeral"
    assert EN_DOWN in reply["text"] and EN_AGAIN in reply["text"]
    no_internals(reply["text"])
    assert slack.calls_to("views.open") == []

    driver.command("recu DIT-2026-0001", user="UJDU")  # a French user, a form command
    reply = driver.last_response()
    assert FR_DOWN in reply["text"] and FR_AGAIN in reply["text"]

    outage.restore()
    driver.command("DIT-2026-0001", user="UMLE")
    assert driver.last_view("views.open")["callback_id"] == "exchanges_panel"
