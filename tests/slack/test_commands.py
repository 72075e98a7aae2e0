"""`/dit` grammar: help, panel, forms, search; unknown DIT, unlinked user, closed DIT."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.handlers.commands import DitCommand, dit_command, parse
from bot.requester import Requester
from ditbot.core.context import Context
from ditbot.core.i18n import Translator
from ditbot.playground.slack_api import FakeSlack
from storage import repositories as repo
from tests.slack.harness import SlackDriver, texts
from tests.slack.util import exchanges


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", DitCommand("help")),
        ("  help ", DitCommand("help")),
        ("aide", DitCommand("help")),
        ("DIT-2026-0042", DitCommand("open", "DIT-2026-0042")),
        ("recu DIT-2026-0042", DitCommand("received", "DIT-2026-0042")),
        ("reçu DIT-2026-0042", DitCommand("received", "DIT-2026-0042")),
        ("received DIT-2026-0042", DitCommand("received", "DIT-2026-0042")),
        ("envoye DIT-1", DitCommand("sent", "DIT-1")),
        ("SENT DIT-1", DitCommand("sent", "DIT-1")),
        ("mail DIT-1", DitCommand("mail", "DIT-1")),
        ("recu", DitCommand("help", "recu")),
        ("Boulangerie Léon", DitCommand("search", "Boulangerie Léon")),
        ("acme", DitCommand("search", "acme")),
    ],
)
def test_grammar(text: str, expected: DitCommand) -> None:
    assert parse(text) == expected


def test_the_listener_runs_alone() -> None:
    """A listener is a plain function: what bolt would inject, given by hand."""
    said: list[dict[str, Any]] = []
    dit_command(
        command={"text": "envoye", "trigger_id": "T0"},
        client=None,  # help makes no Web API call
        respond=lambda **answer: said.append(answer),
        deps=None,  # nor a database one
        requester=Requester(user_id="UMLE", locale="en"),
        t=Translator("en"),
    )
    [answer] = said
    assert answer["response_type"] == "ephemeral"
    assert "“envoye” needs a DIT number after it." in texts(answer)


def test_help(driver: SlackDriver, slack: FakeSlack) -> None:
    response = driver.command("", user="UMLE")
    assert response.status_code == 200
    answer = driver.last_response()
    assert answer["response_type"] == "ephemeral"
    assert "/dit recu DIT-2026-0042" in texts(answer)
    assert slack.calls_to("views.open") == []


def test_verb_without_number_explains(driver: SlackDriver) -> None:
    driver.command("envoye", user="UMLE")
    assert "“envoye” needs a DIT number after it." in texts(driver.last_response())


def test_unknown_dit(driver: SlackDriver, slack: FakeSlack) -> None:
    driver.command("DIT-2026-9999", user="UMLE")
    answer = driver.last_response()
    assert answer["response_type"] == "ephemeral"
    assert "DIT DIT-2026-9999 does not exist" in answer["text"]
    assert slack.calls_to("views.open") == []


def test_unlinked_user_gets_told_what_to_do(driver: SlackDriver, slack: FakeSlack) -> None:
    driver.command("DIT-2026-0001", user="UNOBODY")
    answer = driver.last_response()
    assert answer["response_type"] == "ephemeral"
    assert "UNOBODY" in answer["text"] and "someone@elsewhere.example" in answer["text"]
    assert "collaborateur" in answer["text"]
    assert slack.calls_to("views.open") == []


def test_user_linked_by_slack_email_the_first_time(
    driver: SlackDriver, slack: FakeSlack, ctx: Context
) -> None:
    driver.command("DIT-2026-0001", user="UNORA")
    panel = driver.last_view("views.open")
    assert "Exchanges" == panel["title"]["text"]  # Nora's Slack locale is en-GB
    with ctx.db.session() as session:
        nora = repo.collaborator_by_code(session, "NEW")
        assert nora is not None
        assert nora.slack_user_id == "UNORA" and nora.locale == "en-GB"
    calls = len(slack.calls_to("users.info"))
    driver.command("DIT-2026-0001", user="UNORA")
    assert len(slack.calls_to("users.info")) == calls  # linked and locale cached: no lookup


def test_closed_dit_forms_are_refused(driver: SlackDriver, slack: FakeSlack) -> None:
    driver.command("recu DIT-2026-0004", user="UMLE")
    assert "DIT DIT-2026-0004 is closed" in driver.last_response()["text"]
    driver.command("envoye DIT-2026-0005", user="UMLE")
    assert "is cancelled" in driver.last_response()["text"]
    assert slack.calls_to("views.open") == []


def test_received_form_directly_then_panel(
    driver: SlackDriver, slack: FakeSlack, ctx: Context
) -> None:
    driver.command("recu DIT-2026-0003", user="UMLE")
    form = driver.last_view("views.open")
    assert form["callback_id"] == "exchange_received"
    sender = next(b for b in form["blocks"] if b.get("block_id") == "sent_by")["element"]
    assert sender["initial_option"]["value"] == "BOUL-LL"  # the DIT's interlocuteur
    assert [o["value"] for o in sender["options"]] == ["BOUL-AG", "BOUL-LL"]
    response = driver.submit(form, {"detail": "Il fait 9 °C", "type": "relance"}, user="UMLE")
    answer = response.get_json()
    assert answer["response_action"] == "update"  # the form becomes the DIT's panel
    assert answer["view"]["callback_id"] == "exchanges_panel"
    assert ":red_circle:" in texts(answer["view"])
    [exchange] = exchanges(ctx, "DIT-2026-0003")
    assert exchange.type_code == "relance"


def test_sent_form_directly(driver: SlackDriver, ctx: Context) -> None:
    driver.command("sent DIT-2026-0002", user="UMLE")
    form = driver.last_view("views.open")
    assert form["callback_id"] == "exchange_sent"
    driver.submit(form, {"detail": "Pièce commandée", "subject": "Suivi"}, user="UMLE")
    [exchange] = exchanges(ctx, "DIT-2026-0002")
    assert exchange.direction == "sent"
    assert exchange.recipient_email == "claire@acme.example"  # Mail 2 when no Mail 1
    assert exchange.sent_by_collaborator.code == "MLE"


def test_search_lists_dits_with_open_buttons(driver: SlackDriver, slack: FakeSlack) -> None:
    driver.command("acme", user="UMLE")
    answer = driver.last_response()
    assert answer["response_type"] == "ephemeral"
    text = texts(answer)
    assert "DIT-2026-0001" in text and "DIT-2026-0002" in text and "DIT-2026-0005" in text
    assert "DIT-2026-0003" not in text
    driver.click(answer, "open_panel", "DIT-2026-0002", user="UMLE")
    assert "DIT-2026-0002" in texts(driver.last_view("views.open"))


def test_search_with_one_match_opens_it(driver: SlackDriver) -> None:
    driver.command("0003", user="UMLE")
    assert "DIT-2026-0003" in texts(driver.last_view("views.open"))


def test_search_without_match(driver: SlackDriver, slack: FakeSlack) -> None:
    driver.command("Zorglub et fils", user="UMLE")
    assert "No DIT matches “Zorglub et fils”" in driver.last_response()["text"]
    assert slack.calls_to("views.open") == []


def test_typed_text_cannot_ping(driver: SlackDriver) -> None:
    driver.command("<!channel> @here", user="UMLE")
    answer = driver.last_response()
    assert "<!channel>" not in answer["text"] and "&lt;!channel&gt;" in answer["text"]


def test_slack_failure_is_reported_not_crashed(driver: SlackDriver, slack: FakeSlack) -> None:
    slack.fail_next("views.open", status=200, body={"ok": False, "error": "internal_error"})
    driver.command("DIT-2026-0001", user="UMLE")
    assert "Something went wrong on our side" in driver.last_response()["text"]


def test_modal_opens_well_inside_the_trigger_window(driver: SlackDriver, slack: FakeSlack) -> None:
    started = time.time()
    driver.command("DIT-2026-0001", user="UMLE")
    [opened] = slack.calls_to("views.open")
    assert opened.ok and opened.at - started < 1.5  # trigger_id lives 3 s


def test_refusals_after_the_ack_answer_at_once(driver: SlackDriver) -> None:
    """bolt would hold the HTTP answer for its 3 s ack timeout if the error escaped."""
    for _ in range(4):
        started = time.monotonic()
        response = driver.command("recu DIT-2026-0004", user="UMLE")
        assert response.status_code == 200 and response.get_data() == b""
        assert time.monotonic() - started < 1.0
