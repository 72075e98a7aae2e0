"""The requests Slack sends to an app's request URL, built as Slack builds them and signed.

Shapes follow Slack's reference pages (slash commands, `block_actions`, `view_submission`,
`view_closed`, `block_suggestion`, `message_action`, Events API `event_callback`) and what
bolt reads of them (slack_bolt/request/payload_utils.py): slash commands are a plain form,
interactions a form with one `payload` field of JSON, events a JSON body. Every request is
signed as Slack signs (`v0:{timestamp}:{body}`, HMAC-SHA256 of the signing secret).
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from ditbot.playground.slack_api import APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_ids = itertools.count(1)


@dataclass(frozen=True)
class SignedRequest:
    """A body for POST /slack/events, its content type and Slack's headers."""

    body: bytes
    content_type: str
    headers: dict[str, str]


def sign(secret: str, body: bytes, content_type: str, *, now: float | None = None) -> SignedRequest:
    stamp = str(int(time.time() if now is None else now))
    signature = str(SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body))
    headers = {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
        "Content-Type": content_type,
    }
    return SignedRequest(body, content_type, headers)


def form(fields: dict[str, str]) -> tuple[bytes, str]:
    return urlencode(fields).encode(), FORM


def interaction(payload: dict[str, Any]) -> tuple[bytes, str]:
    return urlencode({"payload": json.dumps(payload, ensure_ascii=False)}).encode(), FORM


def event(payload: dict[str, Any]) -> tuple[bytes, str]:
    return json.dumps(payload, ensure_ascii=False).encode(), JSON


def user_of(user: str) -> dict[str, Any]:
    return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID}


def team() -> dict[str, Any]:
    return {"id": TEAM_ID, "domain": TEAM_DOMAIN}


def command(
    text: str,
    *,
    user: str,
    channel: str,
    channel_name: str,
    response_url: str,
    trigger_id: str,
    name: str = "/dit",
) -> dict[str, str]:
    """A slash command as Slack posts it (a form, every value a string)."""
    return {
        "token": "playground",
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel,
        "channel_name": channel_name,
        "user_id": user,
        "user_name": user.lower(),
        "command": name,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def _view(view: dict[str, Any]) -> dict[str, Any]:
    """A view as Slack puts it in a payload: the stored view (id, hash, state...)."""
    shown: dict[str, Any] = json.loads(json.dumps(view))
    shown.setdefault("state", {"values": {}})
    shown.setdefault("private_metadata", "")
    shown.setdefault("callback_id", "")
    shown.setdefault("app_id", APP_ID)
    shown.setdefault("bot_id", BOT_ID)
    shown.setdefault("team_id", TEAM_ID)
    return shown


def block_actions(
    *,
    user: str,
    action: dict[str, Any],
    trigger_id: str,
    view: dict[str, Any] | None = None,
    message: dict[str, Any] | None = None,
    channel: str | None = None,
    channel_name: str = "",
    response_url: str | None = None,
    ephemeral: bool = False,
) -> dict[str, Any]:
    """A click (button, menu, select, typing in a `dispatch_action` input) in a view or a
    message. In a view the payload carries the whole view with its `state`; in a message,
    the message, its channel and a `response_url`."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": user_of(user),
        "api_app_id": APP_ID,
        "token": "playground",
        "trigger_id": trigger_id,
        "team": team(),
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
    }
    if view is not None:
        shown = _view(view)
        kind = "view"
        payload["container"] = {"type": kind, "view_id": shown["id"]}
        payload["view"] = shown
        if shown.get("type") == "home":
            payload["container"]["type"] = "view"
    else:
        msg = dict(message or {})
        payload["container"] = {
            "type": "message",
            "message_ts": msg.get("ts", ""),
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        }
        payload["channel"] = {"id": channel, "name": channel_name}
        payload["message"] = msg
        payload["response_url"] = response_url
        payload["state"] = {"values": {}}
    return payload


def view_submission(view: dict[str, Any], *, user: str, trigger_id: str) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": team(),
        "user": user_of(user),
        "api_app_id": APP_ID,
        "token": "playground",
        "trigger_id": trigger_id,
        "view": _view(view),
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_closed(view: dict[str, Any], *, user: str, cleared: bool) -> dict[str, Any]:
    """Cancel or X on a modal with `notify_on_close`: Slack sends the view WITHOUT what was
    typed (its `state` is empty)."""
    shown = _view(view)
    shown["state"] = {"values": {}}
    return {
        "type": "view_closed",
        "team": team(),
        "user": user_of(user),
        "api_app_id": APP_ID,
        "token": "playground",
        "view": shown,
        "is_cleared": cleared,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def block_suggestion(
    *, user: str, action_id: str, block_id: str, value: str, view: dict[str, Any] | None
) -> dict[str, Any]:
    """An external_select asking for its options (`value`: what the person typed)."""
    payload: dict[str, Any] = {
        "type": "block_suggestion",
        "user": user_of(user),
        "team": team(),
        "api_app_id": APP_ID,
        "token": "playground",
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "action_ts": f"{time.time():.6f}",
        "is_enterprise_install": False,
        "enterprise": None,
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view["id"]}
        payload["view"] = _view(view)
    return payload


def message_action(
    callback_id: str,
    *,
    user: str,
    channel: str,
    channel_name: str,
    message: dict[str, Any],
    trigger_id: str,
    response_url: str,
) -> dict[str, Any]:
    """A message shortcut on `message`."""
    return {
        "type": "message_action",
        "token": "playground",
        "action_ts": f"{time.time():.6f}",
        "team": team(),
        "user": user_of(user),
        "channel": {"id": channel, "name": channel_name},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": message.get("ts", ""),
        "message": message,
    }


def event_callback(inner: dict[str, Any]) -> dict[str, Any]:
    return {
        "token": "playground",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": inner,
        "type": "event_callback",
        "event_id": f"Ev{int(time.time())}{next(_ids):06d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
    }


def app_home_opened(user: str, *, view_id: str | None = None) -> dict[str, Any]:
    inner: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user,
        "channel": "D" + user[1:],
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }
    if view_id:
        inner["view"] = {"id": view_id}
    return event_callback(inner)
