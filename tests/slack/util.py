"""Helpers shared by the Slack tests."""

from __future__ import annotations

from typing import Any

from ditbot.core.context import Context
from storage import repositories as repo
from tests.slack.harness import SlackDriver


def exchanges(ctx: Context, number: str, *, include_deleted: bool = False) -> list[Any]:
    """The exchanges of DIT `number`, newest first."""
    with ctx.db.session() as session:
        dit = repo.dit_by_number(session, number)
        assert dit is not None
        return list(repo.exchanges_of_dit(session, dit.id, include_deleted=include_deleted))


def dit(ctx: Context, number: str) -> Any:
    with ctx.db.session() as session:
        found = repo.dit_by_number(session, number)
        assert found is not None
        return found


def open_panel(
    driver: SlackDriver, number: str = "DIT-2026-0001", user: str = "UJDU"
) -> dict[str, Any]:
    """`/dit <number>`: checks the empty ack and returns the panel as the fake stores it."""
    response = driver.command(number, user=user)
    assert response.status_code == 200
    assert response.get_data() == b""
    return driver.last_view("views.open")


def action_ids(view: dict[str, Any]) -> list[str]:
    """action_ids of the buttons in actions blocks of `view`."""
    return [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]


def menu_values(view: dict[str, Any], exchange_id: int) -> list[str]:
    """Option values of the overflow menu of one exchange in the panel."""
    for block in view["blocks"]:
        accessory = block.get("accessory") or {}
        if accessory.get("action_id") == "exchange_menu":
            values = [o["value"] for o in accessory["options"]]
            if f"view:{exchange_id}" in values:
                return values
    raise AssertionError(f"exchange {exchange_id} is not in the panel")


def log_via_panel(
    driver: SlackDriver,
    changes: dict[str, Any],
    *,
    number: str = "DIT-2026-0001",
    button: str = "add_received",
    user: str = "UJDU",
) -> dict[str, Any]:
    """Open the panel, push a form, submit `changes`; returns the panel (fake's state)."""
    panel = open_panel(driver, number, user)
    driver.click(panel, button, user=user)
    form = driver.last_view("views.push")
    response = driver.submit(form, changes, user=user)
    assert response.status_code == 200 and response.get_data() == b"", response.get_data()
    stored = driver.fake.view(panel["id"])
    assert stored is not None
    return stored
