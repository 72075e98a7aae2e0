"""Slack's entry points under the domain's input rules (issue 9, items 6 and 18), both backends:
`/dit` search wildcards, NUL in a command or a form, options for unlinked users, stale edits."""

from __future__ import annotations

from typing import Any

import pytest

from ditbot.core.context import Context
from ditbot.playground.slack_api import FakeSlack
from tests.slack.harness import SlackDriver, view_state, view_submission_payload
from tests.slack.test_bad_input import errors_of, pushed_form
from tests.slack.util import exchanges, open_panel


def texts_of(answer: dict[str, Any]) -> str:
    return str(answer.get("text", "")) + str(answer.get("blocks", ""))


@pytest.mark.parametrize("typed", ["%", "_", "%%", "DIT_2026", "\\"])
def test_search_wildcards_match_themselves(
    driver: SlackDriver, slack: FakeSlack, typed: str
) -> None:
    """`/dit %` listed every DIT: the user's % and _ were LIKE wildcards."""
    driver.command(typed, user="UMLE")
    answer = driver.last_response()
    assert "DIT-2026-0001" not in texts_of(answer)
    assert "No DIT matches" in answer["text"] or "does not exist" in answer["text"]
    assert slack.calls_to("views.open") == []


@pytest.mark.parametrize("typed", ["acme\x00", "DIT-2026-0001\x00"])
def test_a_nul_in_the_command_is_refused_in_words(
    driver: SlackDriver, slack: FakeSlack, typed: str
) -> None:
    """PostgreSQL cannot compare NUL: the search was a 500 there."""
    response = driver.command(typed, user="UMLE")
    assert response.status_code == 200
    assert "U+0000" in driver.last_response()["text"]
    assert slack.calls_to("views.open") == []


def test_a_nul_in_a_form_is_a_field_error(driver: SlackDriver, ctx: Context) -> None:
    form = pushed_form(driver)
    errors = errors_of(driver.submit(form, {"detail": "Passage\x00 demain"}, user="UMLE"))
    assert "U+0000" in errors["detail"]
    form = pushed_form(driver)
    errors = errors_of(driver.submit(form, {"detail": "ok", "subject": "RDV\u202e"}, user="UMLE"))
    assert "U+202E" in next(iter(errors.values()))
    assert exchanges(ctx, "DIT-2026-0001") == []


def test_options_are_only_for_linked_collaborators(driver: SlackDriver) -> None:
    """An unlinked Slack user got the DIT list and the contacts' e-mails from the options."""
    form = pushed_form(driver)
    linked = driver.suggest(form, "received_by", "", user="UMLE")["options"]
    assert any("p.martin@acme.example" in str(o) for o in linked)
    for user in ("UNOBODY",):
        assert driver.suggest(form, "received_by", "", user=user)["options"] == []
        assert driver.suggest(form, "sent_by", "", user=user)["options"] == []
    driver.shortcut("Le client rappelle", user="UMLE")
    chooser = driver.last_view("views.open")
    assert driver.suggest(chooser, "dit", "DIT", user="UMLE")["options"]
    assert driver.suggest(chooser, "dit", "DIT", user="UNOBODY")["options"] == []
    assert driver.suggest(chooser, "dit", "DIT\x00", user="UMLE")["options"] == []


def edit_form(driver: SlackDriver, exchange_id: int) -> dict[str, Any]:
    panel = open_panel(driver, user="UMLE")
    driver.click(panel, "exchange_menu", f"edit:{exchange_id}", user="UMLE")
    return driver.last_view("views.push")


def test_an_edit_made_on_a_stale_form_is_refused(driver: SlackDriver, ctx: Context) -> None:
    """A replayed (or concurrent) edit submission reverted the edits made since."""
    driver.submit(pushed_form(driver, button="add_received"), {"detail": "premier"}, user="UMLE")
    [exchange] = exchanges(ctx, "DIT-2026-0001")
    older = edit_form(driver, exchange.id)
    newer = edit_form(driver, exchange.id)
    replayed = view_submission_payload(
        older, user="UMLE", state=view_state(older, {"detail": "vieux"}), trigger_id="t-old"
    )
    assert driver.submit(newer, {"detail": "corrigé"}, user="UMLE").status_code == 200
    errors = errors_of(driver.post_interactive(replayed))
    assert "Someone else changed this exchange" in next(iter(errors.values()))
    [same] = exchanges(ctx, "DIT-2026-0001")
    assert same.detail == "corrigé"
    # A form opened now edits as before.
    driver.submit(edit_form(driver, exchange.id), {"detail": "encore"}, user="UMLE")
    [again] = exchanges(ctx, "DIT-2026-0001")
    assert again.detail == "encore"
