"""Wrong input, double delivery, forged metadata, unsigned requests: answered, nothing broken."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ditbot.core.context import Context
from ditbot.playground.slack_api import FakeSlack
from tests.slack.harness import SlackDriver, view_state, view_submission_payload
from tests.slack.util import exchanges, open_panel


def pushed_form(
    driver: SlackDriver, button: str = "add_sent", user: str = "UMLE"
) -> dict[str, Any]:
    panel = open_panel(driver, user=user)
    driver.click(panel, button, user=user)
    return driver.last_view("views.push")


def errors_of(response: Any) -> dict[str, str]:
    answer = response.get_json()
    assert answer["response_action"] == "errors", answer
    return answer["errors"]


@pytest.mark.parametrize("detail", ["", "   \n\t "])
def test_empty_detail(driver: SlackDriver, ctx: Context, slack: FakeSlack, detail: str) -> None:
    form = pushed_form(driver)
    updates = len(slack.calls_to("views.update"))
    errors = errors_of(driver.submit(form, {"detail": detail}, user="UMLE"))
    assert errors == {"detail": "The detail is required: write what was said."}
    assert exchanges(ctx, "DIT-2026-0001") == []
    assert len(slack.calls_to("views.update")) == updates  # panel untouched


def test_detail_of_3001_characters(driver: SlackDriver, ctx: Context) -> None:
    form = pushed_form(driver)
    errors = errors_of(driver.submit(form, {"detail": "x" * 3001}, user="UMLE"))
    assert "3001" in errors["detail"] and "3000" in errors["detail"]
    assert exchanges(ctx, "DIT-2026-0001") == []
    form = pushed_form(driver)
    driver.submit(form, {"detail": "x" * 3000}, user="UMLE")
    assert len(exchanges(ctx, "DIT-2026-0001")) == 1


def test_invalid_email(driver: SlackDriver, ctx: Context) -> None:
    form = pushed_form(driver)
    errors = errors_of(
        driver.submit(form, {"detail": "ok", "recipient_email": "paul@@acme"}, user="UMLE")
    )
    assert list(errors) == ["recipient_email.0"]  # keyed by the block_id, suffix included
    assert "paul@@acme" in errors["recipient_email.0"]
    assert exchanges(ctx, "DIT-2026-0001") == []


def test_several_errors_at_once_in_french(driver: SlackDriver) -> None:
    form = pushed_form(driver, user="UJDU")
    errors = errors_of(driver.submit(form, {"detail": " ", "recipient_email": "nope"}, user="UJDU"))
    assert set(errors) == {"detail", "recipient_email.0"}
    assert errors["detail"] != "The detail is required: write what was said."  # translated


def test_person_not_of_the_client(driver: SlackDriver, ctx: Context) -> None:
    form = pushed_form(driver)
    state = view_state(form, {"detail": "ok"})
    # a contact of Boulangerie Léon on an Acme DIT (a crafted submission)
    state["values"]["received_by"]["received_by"]["selected_option"] = {
        "text": {"type": "plain_text", "text": "Léon"},
        "value": "BOUL-LL",
    }
    errors = errors_of(driver.submit(form, state=state, user="UMLE"))
    assert "Léon Lemaire is not a contact of Acme SA" in errors["received_by"]
    assert exchanges(ctx, "DIT-2026-0001") == []


def test_forged_private_metadata_naming_another_dit(
    driver: SlackDriver, ctx: Context, slack: FakeSlack
) -> None:
    form = pushed_form(driver, button="add_received")
    text, _sep, mac = form["private_metadata"].rpartition("~")
    data = json.loads(text)
    assert data["dit"] == "DIT-2026-0001"
    data["dit"] = "DIT-2026-0003"
    forged = {**form, "private_metadata": json.dumps(data) + "~" + mac}
    errors = errors_of(driver.submit(forged, {"detail": "forgé"}, user="UMLE"))
    assert "altered" in next(iter(errors.values()))
    stripped = {**form, "private_metadata": json.dumps(data)}
    errors_of(driver.submit(stripped, {"detail": "forgé"}, user="UMLE"))
    assert exchanges(ctx, "DIT-2026-0003") == [] and exchanges(ctx, "DIT-2026-0001") == []


def test_edit_of_an_exchange_of_another_dit_is_refused(driver: SlackDriver, ctx: Context) -> None:
    # a genuine edit form of DIT-0001, whose (sealed) metadata cannot be pointed elsewhere;
    # the check that the exchange belongs to the DIT is exercised by the menu test too.
    form = pushed_form(driver, button="add_received")
    driver.submit(form, {"detail": "premier"}, user="UMLE")
    [first] = exchanges(ctx, "DIT-2026-0001")
    panel = driver.last_view("views.update")
    driver.click(panel, "exchange_menu", f"edit:{first.id}", user="UMLE")
    edit = driver.last_view("views.push")
    text, _sep, mac = edit["private_metadata"].rpartition("~")
    data = json.loads(text)
    data["dit"] = "DIT-2026-0003"
    forged = {
        **edit,
        "private_metadata": json.dumps(data, sort_keys=True, separators=(",", ":")) + "~" + mac,
    }
    errors_of(driver.submit(forged, {"detail": "détourné"}, user="UMLE"))
    [same] = exchanges(ctx, "DIT-2026-0001")
    assert same.detail == "premier"


def test_same_submission_twice_logs_once(
    driver: SlackDriver, ctx: Context, slack: FakeSlack
) -> None:
    form = pushed_form(driver, button="add_received")
    state = view_state(form, {"detail": "double clic"})
    payload = view_submission_payload(form, user="UMLE", state=state, trigger_id="t1")
    first = driver.post_interactive(payload)
    again = driver.post_interactive(payload)  # Slack retry / double click: same view, values
    assert first.status_code == again.status_code == 200
    assert again.get_data() == b""
    assert [e.detail for e in exchanges(ctx, "DIT-2026-0001")] == ["double clic"]


def test_unsigned_or_stale_submission_changes_nothing(
    driver: SlackDriver, ctx: Context, slack: FakeSlack
) -> None:
    import time

    form = pushed_form(driver, button="add_received")
    payload = view_submission_payload(
        form, user="UMLE", state=view_state(form, {"detail": "pirate"}), trigger_id="t"
    )
    calls = len(slack.calls)
    assert driver.post_interactive(payload, signed=False).status_code == 401
    assert driver.post_interactive(payload, timestamp=int(time.time()) - 600).status_code == 401
    assert driver.post_interactive(payload, secret="wrong").status_code == 401
    assert exchanges(ctx, "DIT-2026-0001") == []
    assert len(slack.calls) == calls


def test_unsigned_event_is_refused(driver: SlackDriver, slack: FakeSlack) -> None:
    from tests.slack.harness import app_home_opened

    response = driver.event(app_home_opened("UJDU"), signed=False)
    assert response.status_code == 401
    assert slack.calls_to("views.publish") == []
