"""Message shortcut `log_exchange`: any message becomes a received exchange of a chosen DIT."""

from __future__ import annotations

from ditbot.core.context import Context
from ditbot.playground.slack_api import FakeSlack
from tests.slack.harness import SlackDriver, texts
from tests.slack.util import exchanges

SMS = "Bonjour, le copieur refait le même bruit depuis ce matin. Paul"


def test_shortcut_prefills_the_received_form_and_asks_the_dit(
    driver: SlackDriver, slack: FakeSlack, ctx: Context
) -> None:
    response = driver.shortcut(SMS, user="UJDU")
    assert response.status_code == 200 and response.get_data() == b""
    form = driver.last_view("views.open")
    assert form["callback_id"] == "exchange_received"
    detail = next(b for b in form["blocks"] if b.get("block_id") == "detail")
    assert detail["element"]["initial_value"] == SMS
    chooser = next(b for b in form["blocks"] if b.get("block_id") == "dit")
    assert chooser["element"]["type"] == "external_select"
    # the user types part of a client's name: options come from our search
    options = driver.suggest(form, "dit", "acme")["options"]
    values = [o["value"] for o in options]
    assert "DIT-2026-0001" in values and "DIT-2026-0005" not in values  # cancelled: not offered
    assert all(len(o["text"]["text"]) <= 75 for o in options)
    # choosing the DIT brings its interlocuteurs, keeping the text
    driver.click(form, "dit", "DIT-2026-0001")
    form = slack.view(form["id"])
    assert form is not None
    sender = next(b for b in form["blocks"] if b.get("block_id") == "sent_by")["element"]
    assert sender["initial_option"]["value"] == "ACME-PM"
    answer = driver.submit(form, {"dit": "DIT-2026-0001"}).get_json()
    assert answer["response_action"] == "update"
    assert "DIT-2026-0001" in texts(answer["view"])
    [exchange] = exchanges(ctx, "DIT-2026-0001")
    assert exchange.detail == SMS and exchange.direction == "received"


def test_shortcut_preselects_a_dit_named_in_the_message(driver: SlackDriver) -> None:
    driver.shortcut("Pour la DIT-2026-0003 : il fait 12 °C", user="UMLE")
    form = driver.last_view("views.open")
    chooser = next(b for b in form["blocks"] if b.get("block_id") == "dit")["element"]
    assert chooser["initial_option"]["value"] == "DIT-2026-0003"
    assert any(b.get("block_id") == "sent_by" for b in form["blocks"])


def test_shortcut_without_dit_is_a_field_error(driver: SlackDriver, ctx: Context) -> None:
    driver.shortcut(SMS, user="UMLE")
    form = driver.last_view("views.open")
    answer = driver.submit(form, user="UMLE").get_json()
    assert answer == {
        "response_action": "errors",
        "errors": {"dit": "Choose the DIT of this exchange."},
    }


def test_shortcut_by_unlinked_user(driver: SlackDriver, slack: FakeSlack) -> None:
    driver.shortcut(SMS, user="UNOBODY")
    assert "aucun collaborateur" in driver.last_response()["text"]
    assert slack.calls_to("views.open") == []
