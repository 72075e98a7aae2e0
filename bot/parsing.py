"""Inbound Slack payloads -> typed values (no I/O)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from bot.ids import Field
from ditbot.domain.exchanges import ExchangeInput, Party
from storage.vocabulary import Direction, PartyKind


def read_values(view: dict[str, Any]) -> dict[str, Any]:
    """`view.state.values` as {action_id: value}: text, option value, datetime or None."""
    values: dict[str, Any] = {}
    for actions in ((view.get("state") or {}).get("values") or {}).values():
        for action_id, state in actions.items():
            values[action_id] = element_value(state)
    return values


def element_value(state: dict[str, Any]) -> Any:
    kind = state.get("type")
    if kind in ("static_select", "external_select", "radio_buttons"):
        option = state.get("selected_option")
        return option.get("value") if option else None
    if kind == "datetimepicker":
        stamp = state.get("selected_date_time")
        return datetime.fromtimestamp(int(stamp), UTC) if stamp else None
    if kind in ("checkboxes", "multi_static_select"):
        return [o["value"] for o in state.get("selected_options") or []]
    return state.get("value")


def exchange_input(direction: Direction, values: dict[str, Any]) -> ExchangeInput:
    """The domain input of a received/sent form. Ours = collaborateurs, theirs = contacts."""
    received = direction == Direction.RECEIVED
    sender_kind = PartyKind.CONTACT if received else PartyKind.COLLABORATOR
    receiver_kind = PartyKind.COLLABORATOR if received else PartyKind.CONTACT
    sent_by = values.get(Field.SENT_BY)
    received_by = values.get(Field.RECEIVED_BY)
    return ExchangeInput(
        direction=direction,
        detail=values.get(Field.DETAIL) or "",
        type_code=values.get(Field.TYPE) or None,
        sent_by=Party(sender_kind, sent_by) if sent_by else None,  # type: ignore[arg-type]
        received_by=Party(receiver_kind, received_by) if received_by else None,  # type: ignore[arg-type]
        recipient_email=None if received else values.get(Field.RECIPIENT_EMAIL),
        subject=values.get(Field.SUBJECT),
        occurred_at=values.get(Field.OCCURRED_AT),
    )


def submission_key(view: dict[str, Any]) -> str:
    """One key per (modal, submitted values): the same submission delivered twice logs once."""
    canonical = json.dumps(
        {
            "view": view.get("id"),
            "metadata": view.get("private_metadata"),
            "values": (view.get("state") or {}).get("values"),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return "slack:" + hashlib.sha256(canonical.encode()).hexdigest()[:48]
