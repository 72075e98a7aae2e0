"""What a click or typing in the playground's web client turns into, as Slack would do it.

Each gesture becomes the request Slack sends (ditbot.playground.payloads), signed, posted to
ditbot's POST /slack/events; the HTTP answer (the ack) is then read as Slack reads it: a
view_submission's `response_action` (errors under their fields, update, push, clear, or an
empty 200 that closes the submitted view), a command's ephemeral answer, a block_suggestion's
options. Slack judges what an ack carries as it judges the Web API (slack_rules).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ditbot.playground import payloads
from ditbot.playground import slack_rules as rules
from ditbot.playground.slack_api import BOT_USER_ID
from ditbot.playground.workspace import Workspace

LOG_EXCHANGE = "log_exchange"  # CONTRACT.md section 4: the message shortcut
TIMEZONE = ZoneInfo("Europe/Paris")  # the playground's people live there (FakeSlack's tz)


@dataclass(frozen=True)
class Answer:
    """ditbot's HTTP answer to one request."""

    status: int
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


Deliver = Callable[[payloads.SignedRequest], Answer]


class GestureError(Exception):
    """Slack would have shown the person an error (ditbot did not answer, or answered what
    Slack refuses)."""


@dataclass
class Gestures:
    workspace: Workspace
    deliver: Deliver
    signing_secret: str

    def _send(self, body_and_type: tuple[bytes, str]) -> Answer:
        body, content_type = body_and_type
        answer = self.deliver(payloads.sign(self.signing_secret, body, content_type))
        if answer.status != 200:
            raise GestureError(f"ditbot answered HTTP {answer.status}")
        return answer

    # -- messages ------------------------------------------------------------------------
    def type_message(
        self, user: str, channel: str, text: str, thread_ts: str | None = None
    ) -> None:
        """The message box: `/dit …` runs the command; anything else is posted."""
        stripped = text.strip()
        if stripped.startswith("/"):
            name, _, rest = stripped.partition(" ")
            self.command(user, channel, rest.strip(), name=name)
        elif stripped:
            # Slack's client sends what was typed with & < > escaped: typed markup is text.
            escaped = stripped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            self.workspace.fake.post_as(user, channel, escaped, thread_ts=thread_ts)

    def command(self, user: str, channel: str, text: str, *, name: str = "/dit") -> None:
        ws = self.workspace
        fields = payloads.command(
            text,
            user=user,
            channel=channel,
            channel_name=ws.channel_name(channel),
            response_url=ws.response_url(user, channel),
            trigger_id=ws.trigger_for(user),
            name=name,
        )
        answer = self._send(payloads.form(fields))
        self._ack_message(user, channel, answer)

    def _ack_message(self, user: str, channel: str, answer: Answer) -> None:
        """A command's ack may carry a message: Slack shows it to the person only."""
        body = answer.json() if answer.body.strip() else None
        if isinstance(body, dict) and (body.get("text") or body.get("blocks")):
            refusal = rules.message_refusal(body, method="ack")
            if refusal is not None:
                raise GestureError(str(refusal))
            self.workspace.add_ephemeral(user, channel, body)
        elif answer.body.strip() and not isinstance(body, dict):
            self.workspace.add_ephemeral(user, channel, {"text": answer.body.decode()})

    # -- clicks ---------------------------------------------------------------------------
    def click_in_message(
        self,
        user: str,
        channel: str,
        action: dict[str, Any],
        *,
        ts: str | None = None,
        ephemeral_id: str | None = None,
    ) -> None:
        ws = self.workspace
        if ephemeral_id is not None:
            found = next((e for e in ws.ephemerals if e.id == ephemeral_id), None)
            if found is None:
                raise GestureError("this message is gone")
            message: dict[str, Any] = {
                "type": "message",
                "ts": found.ts,
                "text": found.text,
                "blocks": found.blocks,
                "user": BOT_USER_ID,
            }
        else:
            message = ws.fake.message(channel, ts or "") or {}
        payload = payloads.block_actions(
            user=user,
            action=action,
            trigger_id=ws.trigger_for(user),
            message=message,
            channel=channel,
            channel_name=ws.channel_name(channel),
            response_url=ws.response_url(user, channel, replaces=ephemeral_id),
            ephemeral=ephemeral_id is not None,
        )
        self._send(payloads.interaction(payload))

    def click_in_view(
        self, user: str, view_id: str, action: dict[str, Any], raw: dict[str, Any] | None
    ) -> None:
        """A button, menu or select in a modal or the Home tab, or typing in a
        `dispatch_action` input: Slack sends the whole view with what was typed."""
        ws = self.workspace
        view = self._keep_state(view_id, raw) if raw is not None else ws.fake.view(view_id)
        if view is None:
            raise GestureError("this view is gone")
        payload = payloads.block_actions(
            user=user, action=action, trigger_id=ws.trigger_for(user), view=view
        )
        self._send(payloads.interaction(payload))

    def _keep_state(self, view_id: str, raw: dict[str, Any]) -> dict[str, Any] | None:
        view = self.workspace.fake.view(view_id)
        if view is None:
            return None
        self.workspace.fake.set_state(view_id, state_of(view, raw))
        return self.workspace.fake.view(view_id)

    # -- modals ---------------------------------------------------------------------------
    def submit(self, user: str, view_id: str, raw: dict[str, Any]) -> None:
        ws = self.workspace
        view = self._keep_state(view_id, raw)
        if view is None:
            raise GestureError("this view is gone")
        payload = payloads.view_submission(view, user=user, trigger_id=ws.trigger_for(user))
        answer = self._send(payloads.interaction(payload))
        body = answer.json() if answer.body.strip() else None
        ws.view_errors.pop(view_id, None)
        ws.notices.pop(user, None)
        if not isinstance(body, dict) or not body.get("response_action"):
            ws.pop(user)  # an empty 200 closes the submitted view
            return
        action = body["response_action"]
        if action == "errors":
            errors = body.get("errors") or {}
            ws.view_errors[view_id] = {str(k): str(v) for k, v in errors.items()}
            ws.fake.touch()
        elif action == "clear":
            ws.pop(user, everything=True)
        elif action in ("update", "push"):
            replacing = view_id if action == "update" else None
            stored = ws.fake.accept_ack_view(
                body.get("view"), replacing=replacing, on_top_of=view_id
            )
            if isinstance(stored, rules.Refusal):
                ws.notices[user] = f"response_action {action}: {stored}"
                ws.fake.touch()
                raise GestureError(str(stored))
            if action == "push":
                ws.push(user, stored["id"])

    def close(self, user: str, view_id: str, *, everything: bool = False) -> None:
        """Cancel (the modal under shows again) or X (the whole stack goes)."""
        ws = self.workspace
        stack = ws.stacks.get(user, [])
        if view_id not in stack:
            return
        closing = [ws.fake.view(v) for v in (stack if everything else stack[-1:])]
        ws.pop(user, everything=everything)
        for view in closing:
            if view is not None and view.get("notify_on_close"):
                payload = payloads.view_closed(view, user=user, cleared=everything)
                self._send(payloads.interaction(payload))

    def suggestions(
        self, user: str, view_id: str | None, block_id: str, action_id: str, typed: str
    ) -> list[dict[str, Any]]:
        """An external_select's options, asked of ditbot's options endpoint as Slack asks."""
        view = self.workspace.fake.view(view_id) if view_id else None
        payload = payloads.block_suggestion(
            user=user, action_id=action_id, block_id=block_id, value=typed, view=view
        )
        body = self._send(payloads.interaction(payload)).json() or {}
        options = list(body.get("options") or [])
        for group in body.get("option_groups") or []:
            options.extend(group.get("options") or [])
        # Slack shows at most 100 options and refuses texts over 75 / values over 150.
        refusal = rules.view_refusal(
            {
                "type": "modal",
                "title": {"type": "plain_text", "text": "options"},
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [
                            {"type": "static_select", "action_id": "x", "options": options}
                        ],
                    }
                ]
                if options
                else [],
            }
        )
        if refusal is not None:
            raise GestureError(str(refusal))
        return options

    # -- shortcut and Home -------------------------------------------------------------
    def shortcut(self, user: str, channel: str, ts: str) -> None:
        ws = self.workspace
        message = ws.fake.message(channel, ts)
        if message is None:
            raise GestureError("this message is gone")
        payload = payloads.message_action(
            LOG_EXCHANGE,
            user=user,
            channel=channel,
            channel_name=ws.channel_name(channel),
            message=message,
            trigger_id=ws.trigger_for(user),
            response_url=ws.response_url(user, channel),
        )
        self._send(payloads.interaction(payload))

    def open_home(self, user: str) -> None:
        home = self.workspace.fake.home_view(user)
        payload = payloads.app_home_opened(user, view_id=home["id"] if home else None)
        self._send(payloads.event(payload))


# -- state.values as Slack builds it ---------------------------------------------------------
def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        found.extend(group.get("options") or [])
    return found


def _option(element: dict[str, Any], value: str, label: str | None) -> dict[str, Any] | None:
    for option in _options(element):
        if option.get("value") == value:
            return dict(option)
    initial = element.get("initial_option")
    if isinstance(initial, dict) and initial.get("value") == value:
        return dict(initial)
    if element.get("type", "").startswith("external") and value:
        return {"text": {"type": "plain_text", "text": label or value}, "value": value}
    return None


def element_state(element: dict[str, Any], raw: Any) -> dict[str, Any]:
    """One element's entry of `view.state.values`, from what the web client read of it:
    a string (text, date-time, option value), a list (checkboxes) or {value, label}."""
    kind = str(element.get("type"))
    state: dict[str, Any] = {"type": kind}
    value = raw.get("value") if isinstance(raw, dict) else raw
    label = raw.get("label") if isinstance(raw, dict) else None
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        state["value"] = str(value) if value not in (None, "") else None
    elif kind in ("static_select", "external_select", "radio_buttons"):
        state["selected_option"] = _option(element, str(value), label) if value else None
    elif kind in ("checkboxes", "multi_static_select", "multi_external_select"):
        values = value if isinstance(value, list) else []
        chosen = [_option(element, str(v), None) for v in values]
        state["selected_options"] = [c for c in chosen if c is not None]
    elif kind == "datetimepicker":
        state["selected_date_time"] = _unix(str(value)) if value else None
    elif kind == "datepicker":
        state["selected_date"] = str(value) if value else None
    elif kind == "timepicker":
        state["selected_time"] = str(value) if value else None
    elif kind in ("users_select", "conversations_select", "channels_select"):
        state[{"users_select": "selected_user"}.get(kind, "selected_conversation")] = value or None
    return state


def _unix(local: str) -> int | None:
    """`2026-12-02T10:30` typed in the person's time zone -> Unix seconds."""
    try:
        return int(datetime.fromisoformat(local).replace(tzinfo=TIMEZONE).timestamp())
    except ValueError:
        return None


def state_of(view: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """The `state` Slack sends with `view`: one entry per input block (`raw` maps block_id
    to {action_id: value}); what the web client did not send keeps Slack's last value."""
    kept = (view.get("state") or {}).get("values") or {}
    values: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input" or not isinstance(block.get("element"), dict):
            continue
        element = block["element"]
        block_id, action_id = str(block.get("block_id")), str(element.get("action_id"))
        given = (raw.get(block_id) or {}).get(action_id, ...)
        if given is ...:
            if block_id in kept:
                values[block_id] = kept[block_id]
                continue
            given = _initial(element)
        values[block_id] = {action_id: element_state(element, given)}
    return {"values": values}


def _initial(element: dict[str, Any]) -> Any:
    kind = element.get("type")
    if kind in ("static_select", "external_select", "radio_buttons"):
        option = element.get("initial_option") or {}
        text = (option.get("text") or {}).get("text")
        return {"value": option.get("value"), "label": text} if option else None
    if kind == "checkboxes":
        return [o.get("value") for o in element.get("initial_options") or []]
    if kind == "datetimepicker":
        stamp = element.get("initial_date_time")
        if stamp:
            return datetime.fromtimestamp(int(stamp), TIMEZONE).strftime("%Y-%m-%dT%H:%M")
        return None
    return (
        element.get("initial_value") or element.get("initial_date") or element.get("initial_time")
    )
