"""Inbound Slack payloads -> typed values (no I/O).

The TypedDicts name only the parts of Slack's payloads that ditbot reads; bolt hands every
payload over as a plain dict, so they are views on it, not checks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypedDict

from bot.ids import Field
from bot.metadata import PanelMeta, PanelRef, unseal
from ditbot.domain.exchanges import ExchangeInput, Party
from storage.vocabulary import Direction, PartyKind


class OptionPayload(TypedDict, total=False):
    value: str


class ElementState(TypedDict, total=False):
    """One element of `view.state.values` (the keys its type uses)."""

    type: str
    value: str | None
    selected_option: OptionPayload | None
    selected_options: list[OptionPayload]
    selected_date_time: int | None


class ViewState(TypedDict, total=False):
    values: dict[str, dict[str, ElementState]]


class BlockPayload(TypedDict, total=False):
    type: str
    block_id: str


class ViewPayload(TypedDict, total=False):
    """A view as Slack sends it back (view_submission, view_closed, actions in a modal)."""

    id: str
    hash: str
    type: str
    callback_id: str
    private_metadata: str
    blocks: list[BlockPayload]
    state: ViewState


class ActionPayload(TypedDict, total=False):
    action_id: str
    value: str
    selected_option: OptionPayload


class UserPayload(TypedDict, total=False):
    id: str


class EventPayload(TypedDict, total=False):
    type: str
    user: str
    tab: str


class Body(TypedDict, total=False):
    """The request body of any surface, for the keys ditbot reads."""

    type: str  # block_actions, view_submission, block_suggestion... ("" for a command)
    command: str
    event_id: str
    user: UserPayload | str
    user_id: str
    event: EventPayload
    trigger_id: str
    response_url: str
    view: ViewPayload
    actions: list[ActionPayload]
    action_id: str  # block_suggestion: the select asking for options
    value: str  # block_suggestion: what the user typed


class CommandPayload(TypedDict, total=False):
    text: str
    trigger_id: str


class MessagePayload(TypedDict, total=False):
    text: str


class ShortcutPayload(TypedDict, total=False):
    trigger_id: str
    message: MessagePayload


def user_id_of(body: Body) -> str | None:
    """The acting Slack user of any payload (command, interaction, event)."""
    user = body.get("user")
    if isinstance(user, dict):
        return user.get("id")
    if isinstance(user, str):
        return user
    event_user = (body.get("event") or {}).get("user")
    if isinstance(event_user, str):
        return event_user
    return body.get("user_id")


def action_value(action: ActionPayload) -> str:
    """The `value` of the button clicked (or of the option chosen in an overflow menu)."""
    option = action.get("selected_option")
    return str((option.get("value") if option else action.get("value")) or "")


def in_modal(body: Body) -> bool:
    return (body.get("view") or {}).get("type") == "modal"


FieldValue = str | datetime | list[str] | None


@dataclass(frozen=True)
class FormValues:
    """`view.state.values` by action_id (the field name): text, option value, date, list."""

    by_field: Mapping[str, FieldValue]

    def text(self, field: str) -> str | None:
        value = self.by_field.get(field)
        return value if isinstance(value, str) else None

    def moment(self, field: str) -> datetime | None:
        value = self.by_field.get(field)
        return value if isinstance(value, datetime) else None


def read_values(view: ViewPayload) -> FormValues:
    """The values of the inputs of a submitted (or acted upon) view."""
    values: dict[str, FieldValue] = {}
    for actions in ((view.get("state") or {}).get("values") or {}).values():
        for action_id, state in actions.items():
            values[action_id] = element_value(state)
    return FormValues(values)


def element_value(state: ElementState) -> FieldValue:
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


def exchange_input(direction: Direction, values: FormValues) -> ExchangeInput:
    """The domain input of a received/sent form. Ours = collaborateurs, theirs = contacts."""
    received = direction == Direction.RECEIVED
    sender_kind = PartyKind.CONTACT if received else PartyKind.COLLABORATOR
    receiver_kind = PartyKind.COLLABORATOR if received else PartyKind.CONTACT
    sent_by = values.text(Field.SENT_BY)
    received_by = values.text(Field.RECEIVED_BY)
    return ExchangeInput(
        direction=direction,
        detail=values.text(Field.DETAIL) or "",
        type_code=values.text(Field.TYPE) or None,
        sent_by=Party(sender_kind, sent_by) if sent_by else None,
        received_by=Party(receiver_kind, received_by) if received_by else None,
        recipient_email=None if received else values.text(Field.RECIPIENT_EMAIL),
        subject=values.text(Field.SUBJECT),
        occurred_at=values.moment(Field.OCCURRED_AT),
    )


def block_suffix(view: ViewPayload, field: str) -> int:
    """The numeric suffix of the block_id of `field` in `view` (0 when it has none)."""
    for block in view.get("blocks") or []:
        name, _sep, suffix = str(block.get("block_id", "")).partition(".")
        if name == field:
            return int(suffix) if suffix.isdigit() else 0
    return 0


def submission_key(view: ViewPayload) -> str:
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


def panel_of(secret: str, view: ViewPayload) -> tuple[PanelMeta, PanelRef]:
    """(metadata, reference) of the exchanges panel a block_actions came from."""
    meta = unseal(secret, view.get("private_metadata"), PanelMeta)
    return meta, PanelRef(view_id=view.get("id", ""), hash=view.get("hash"), page=meta.page)
