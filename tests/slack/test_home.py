"""App Home: my open DITs, DITs waiting on us (oldest first), open_panel, event retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import bot.flows.home
from ditbot.core.context import Context
from ditbot.domain import drafts
from ditbot.domain.exchanges import Actor, ExchangeInput, Party, log_exchange
from ditbot.playground.slack_api import FakeSlack
from storage import repositories as repo
from tests.slack.harness import SlackDriver, app_home_opened, texts


def received(ctx: Context, number: str, hours_ago: float, type_code: str = "appel") -> None:
    with ctx.db.session() as session:
        dit = repo.dit_by_number(session, number)
        assert dit is not None and dit.contact is not None and dit.technician is not None
        log_exchange(
            session,
            number,
            ExchangeInput(
                direction="received",
                detail="?",
                type_code=type_code,
                sent_by=Party("contact", dit.contact.code),
                received_by=Party("collaborator", dit.technician.code),
                occurred_at=datetime.now(UTC) - timedelta(hours=hours_ago),
            ),
            Actor(source="slack", collaborator=dit.technician),
        )


def sections(home: dict[str, Any]) -> list[str]:
    """The DIT numbers of the open_panel buttons, in order."""
    return [
        b["accessory"]["value"]
        for b in home["blocks"]
        if (b.get("accessory") or {}).get("action_id") == "open_panel"
    ]


def test_home_lists_my_dits_and_those_waiting_on_us(
    driver: SlackDriver, slack: FakeSlack, ctx: Context
) -> None:
    received(ctx, "DIT-2026-0003", hours_ago=2, type_code="relance")
    received(ctx, "DIT-2026-0001", hours_ago=30)
    response = driver.open_home("UMLE")
    assert response.status_code == 200
    home = driver.home("UMLE")
    assert home["type"] == "home"
    text = texts(home)
    # Marc's open DITs (0002, 0003), then all DITs waiting on us, the longest waiting first
    assert sections(home) == ["DIT-2026-0003", "DIT-2026-0002", "DIT-2026-0001", "DIT-2026-0003"]
    assert "My open DITs" in text and "Waiting on us" in text
    assert ":red_circle:" in text and "the client spoke last" in text


def test_home_for_an_unlinked_user(driver: SlackDriver) -> None:
    driver.open_home("UNOBODY")
    home = driver.home("UNOBODY")
    assert "n’est lié à aucun collaborateur" in texts(home)  # UNOBODY's Slack locale: fr-FR
    assert sections(home) == []


def test_event_retry_is_not_processed_twice(driver: SlackDriver, slack: FakeSlack) -> None:
    event = app_home_opened("UJDU")
    assert driver.event(event, event_id="Ev0RETRY").status_code == 200
    assert driver.event(event, event_id="Ev0RETRY", retry_num=1).status_code == 200
    assert driver.event(event, event_id="Ev0RETRY", retry_num=2).status_code == 200
    assert len(slack.calls_to("views.publish")) == 1
    driver.event(event, event_id="Ev0OTHER")  # a new visit is a new event
    assert len(slack.calls_to("views.publish")) == 2


def test_open_panel_from_home(driver: SlackDriver, slack: FakeSlack) -> None:
    driver.open_home("UJDU")
    home = driver.home("UJDU")
    driver.click(home, "open_panel", "DIT-2026-0001", user="UJDU")
    panel = driver.last_view("views.open")
    assert panel["callback_id"] == "exchanges_panel" and "DIT-2026-0001" in texts(panel)


def keep_draft(ctx: Context, code: str, number: str, detail: str) -> None:
    with ctx.db.session() as session:
        collaborator = repo.collaborator_by_code(session, code)
        assert collaborator is not None
        drafts.keep_typed(
            session,
            collaborator,
            number,
            form_key=f"slack-mail:V{code}",
            to=None,
            subject=None,
            detail=detail,
            default_subject=None,
        )


def test_home_lists_the_users_own_drafts(driver: SlackDriver, ctx: Context) -> None:
    keep_draft(ctx, "JDU", "DIT-2026-0001", "BROUILLON-TEST")
    keep_draft(ctx, "MLE", "DIT-2026-0002", "BROUILLON-DE-MARC")
    driver.open_home("UJDU")
    text = texts(driver.home("UJDU"))
    assert "BROUILLON-TEST" in text and "BROUILLON-DE-MARC" not in text


def test_home_stays_within_100_blocks(driver: SlackDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    def many(t: Any, kept: Any) -> list[dict[str, Any]]:
        return [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"d{i}"}} for i in range(150)
        ]

    monkeypatch.setattr(bot.flows.home, "home_drafts", many)  # the drafts section's builder
    driver.open_home("UJDU")  # the harness checks the published view against the limits
    assert len(driver.home("UJDU")["blocks"]) <= 100


def test_refusal_from_the_home_tab_comes_as_a_direct_message(
    driver: SlackDriver, slack: FakeSlack
) -> None:
    driver.open_home("UMLE")
    home = driver.home("UMLE")
    stale = {
        **home,
        "blocks": home["blocks"]
        + [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "open_panel",
                        "value": "DIT-2026-0404",
                        "text": {"type": "plain_text", "text": "Open"},
                    }
                ],
            }
        ],
    }
    driver.click(stale, "open_panel", "DIT-2026-0404", user="UMLE")
    [message] = slack.calls_to("chat.postMessage")
    assert message.args["channel"] == "UMLE"
    assert "DIT-2026-0404 does not exist" in message.args["text"]
    assert slack.calls_to("views.open") == []
