"""Test harness for the Slack side: the real bolt app, the Slack fake, signed requests.

How it fits together
--------------------
- `fake_slack` (session): one `ditbot.playground.slack_api.FakeSlack` on 127.0.0.1, port 0.
  `slack` (per test): the same fake, reset, with the Slack users of tests/factories.py
  registered (`UJDU` fr-FR, `UMLE` en-US, `USBE` manager fr-FR, `UNORA` not linked yet but
  whose Slack e-mail is Mail 1 of collaborateur NEW, `UNOBODY` unknown to ditbot).
- `env` is overridden here: SLACK_API_URL points at the fake, so `create_app(ctx)` builds its
  WebClient exactly as `ditbot serve` does.
- `slack_app`: `bot.app.create_app(ctx, listener_executor=TrackingExecutor())` on the
  `seeded` database; `slack_web`: the Flask app of `ditbot.web.app.create_web_app(ctx, slack_app)`.
- `driver` (a `SlackDriver`): sends signed requests to POST /slack/events through Flask's test
  client, then waits until every bolt listener (they run after the ack, on the tracked
  executor) has finished, then fails the test if the fake refused any new call the way Slack
  would (its rules: ditbot/playground/slack_rules.py), and checks the HTTP answer itself, which
  no fake sees, and ditbot's own rules on messages (tests/slack/limits.py).
  So after `driver.command("DIT-2026-0001")` returns, the fake already holds `views.open`.

Typical test::

    def test_open_panel(driver, slack):
        driver.command("DIT-2026-0001", user="UJDU")
        panel = driver.last_view("views.open")          # the view as Slack stored it
        form = driver.click(panel, "add_received")      # block_actions -> views.push
        answer = driver.submit(driver.last_view("views.push"), {"detail": "Il rappelle"})
        assert answer.status_code == 200

Payload builders (module functions, also usable alone): `command_payload`,
`block_actions_payload`, `view_submission_payload`, `view_closed_payload`,
`message_shortcut_payload`, `event_payload`, `block_suggestion_payload`. `view_state(view,
changes)` fills a view's `state.values` the way Slack does: initial values of every input, with
`changes` (action_id -> value: text, option value, unix time...) applied on top.

Another suite (tests/mail, say) reuses all of this with one line in its conftest.py:
``from tests.slack.harness import *  # noqa: F403``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from slack_bolt import App
from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.signature import SignatureVerifier
from werkzeug.test import TestResponse

from bot.app import create_app
from ditbot.core.context import Context
from ditbot.playground.slack_api import TEAM_ID, Call, FakeSlack
from ditbot.web.app import create_web_app
from tests.credentials import SIGNING_SECRET
from tests.slack.limits import check_ack, check_house_rules, refusal_of

__all__ = [
    "SlackDriver",
    "TrackingExecutor",
    "block_actions_payload",
    "block_suggestion_payload",
    "command_payload",
    "driver",
    "env",
    "event_payload",
    "fake_slack",
    "find_element",
    "message_shortcut_payload",
    "sign",
    "slack",
    "slack_app",
    "slack_web",
    "view_closed_payload",
    "view_state",
    "view_submission_payload",
]


USERS: dict[str, dict[str, Any]] = {
    "UJDU": {"email": "j.dupuis@sav.example", "locale": "fr-FR", "real_name": "Jeanne Dupuis"},
    "UMLE": {"email": "marc@sav.example", "locale": "en-US", "real_name": "Marc Lefèvre"},
    "USBE": {"email": "s.bernard@sav.example", "locale": "fr-FR", "real_name": "Sophie Bernard"},
    "UNORA": {"email": "nora@sav.example", "locale": "en-GB", "real_name": "Nora Nouvelle"},
    "UNOBODY": {"email": "someone@elsewhere.example", "locale": "fr-FR", "real_name": "X"},
}
_ids = itertools.count(1)


# -- executor that knows when bolt's background work is done -----------------------------
class TrackingExecutor(ThreadPoolExecutor):
    """bolt's listener executor, counting unfinished tasks so tests can wait for them."""

    def __init__(self, max_workers: int = 8) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="bolt-test")
        self._pending = 0
        self._cond = threading.Condition()
        self.errors: list[BaseException] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._cond:
            self._pending += 1

        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            except BaseException as error:  # recorded for the test, re-raised for bolt
                self.errors.append(error)
                raise
            finally:
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()

        return super().submit(run)

    def wait_idle(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"bolt listeners still running after {timeout}s")
                self._cond.wait(remaining)


# -- signing -------------------------------------------------------------------------------
def sign(
    body: bytes, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """The X-Slack-* headers Slack would send with `body`."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


# -- payload builders ----------------------------------------------------------------------
def _user(user: str) -> dict[str, Any]:
    return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID}


def _team() -> dict[str, Any]:
    return {"id": TEAM_ID, "domain": "fake-team"}


def command_payload(
    text: str, *, user: str, response_url: str, trigger_id: str, channel: str = "C0GENERAL"
) -> dict[str, str]:
    """A `/dit` slash command (form-encoded by `SlackDriver.command`)."""
    return {
        "token": "legacy-token",
        "team_id": TEAM_ID,
        "team_domain": "fake-team",
        "channel_id": channel,
        "channel_name": "general",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/dit",
        "text": text,
        "api_app_id": "A0FAKE",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def _options_of(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def _option(element: dict[str, Any], value: str) -> dict[str, Any]:
    for option in _options_of(element):
        if option["value"] == value:
            return option
    if element["type"].startswith("external"):
        return {"text": {"type": "plain_text", "text": value}, "value": value}
    raise AssertionError(f"{element.get('action_id')}: no option {value!r} in the form")


def element_state(
    element: dict[str, Any], value: Any = ..., *, typed: bool = False
) -> dict[str, Any]:
    """The `state.values` entry of one element: `value` given, else its initial value."""
    kind = element["type"]
    state: dict[str, Any] = {"type": kind}
    given = value is not ...
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        state["value"] = (value if given else element.get("initial_value")) or None
    elif kind in ("static_select", "external_select", "users_select", "conversations_select"):
        if given:
            state["selected_option"] = None if value is None else _option(element, str(value))
        else:
            state["selected_option"] = element.get("initial_option")
    elif kind == "datetimepicker":
        state["selected_date_time"] = value if given else element.get("initial_date_time")
    elif kind == "datepicker":
        state["selected_date"] = value if given else element.get("initial_date")
    elif kind == "timepicker":
        state["selected_time"] = value if given else element.get("initial_time")
    elif kind in ("checkboxes", "multi_static_select"):
        chosen = value if given else None
        state["selected_options"] = (
            [_option(element, v) for v in chosen]
            if chosen is not None
            else element.get("initial_options", [])
        )
    elif kind == "radio_buttons":
        state["selected_option"] = (
            _option(element, value) if given else element.get("initial_option")
        )
    else:
        raise AssertionError(f"harness: element type {kind} not supported")
    return state


def view_state(view: dict[str, Any], changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """`state` of `view` as Slack sends it: every input's initial value, then `changes`.

    `changes` maps action_id (the field name) to the new value: text for text inputs, the
    option value for selects, unix seconds for a datetimepicker, None to clear.
    """
    changes = dict(changes or {})
    values: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        action = element["action_id"]
        value = changes.pop(action, ...)
        values[block["block_id"]] = {action: element_state(element, value)}
    if changes:
        raise AssertionError(f"harness: the view has no input {sorted(changes)}")
    return {"values": values}


def _payload_view(view: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    answer = json.loads(json.dumps(view))
    answer["state"] = state
    answer.setdefault("id", f"V{next(_ids):08d}")
    answer.setdefault("hash", f"{int(time.time())}.h{next(_ids)}")
    answer.setdefault("team_id", TEAM_ID)
    answer.setdefault("private_metadata", "")
    answer.setdefault("callback_id", "")
    answer.setdefault("root_view_id", answer["id"])
    answer.setdefault("previous_view_id", None)
    answer.setdefault("app_id", "A0FAKE")
    answer.setdefault("bot_id", "BBOT")
    return answer


def find_element(
    blocks: list[dict[str, Any]], action_id: str, value: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(block, element) of the first element with `action_id` (and `value`, for buttons and
    overflow options), in actions blocks, section accessories and inputs."""
    for block in blocks:
        candidates: list[dict[str, Any]] = []
        if block.get("type") == "actions":
            candidates = block.get("elements", [])
        elif block.get("accessory"):
            candidates = [block["accessory"]]
        elif block.get("type") == "input":
            candidates = [block["element"]]
        for element in candidates:
            if element.get("action_id") != action_id:
                continue
            if value is None or element.get("value") == value or block.get("type") == "input":
                return block, element
            if any(o.get("value") == value for o in _options_of(element)):
                return block, element
    raise AssertionError(f"no element {action_id!r} (value {value!r}) in these blocks")


def block_actions_payload(
    *,
    user: str,
    action: dict[str, Any],
    trigger_id: str,
    view: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    message: dict[str, Any] | None = None,
    channel: str = "C0GENERAL",
    response_url: str | None = None,
) -> dict[str, Any]:
    """A click in a view (modal / home) or in a message."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user),
        "api_app_id": "A0FAKE",
        "token": "legacy-token",
        "trigger_id": trigger_id,
        "team": _team(),
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [action],
    }
    if view is not None:
        full = _payload_view(view, state or view_state(view))
        payload["container"] = {"type": "view", "view_id": full["id"]}
        payload["view"] = full
    else:
        ts = (message or {}).get("ts") or f"1700000000.{next(_ids):06d}"
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": bool((message or {}).get("ephemeral")),
        }
        payload["channel"] = {"id": channel, "name": "general"}
        payload["message"] = {"type": "message", "ts": ts, **(message or {})}
        payload["response_url"] = response_url
        payload["state"] = {"values": {}}
    return payload


def view_submission_payload(
    view: dict[str, Any], *, user: str, state: dict[str, Any], trigger_id: str
) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": _team(),
        "user": _user(user),
        "api_app_id": "A0FAKE",
        "token": "legacy-token",
        "trigger_id": trigger_id,
        "view": _payload_view(view, state),
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_closed_payload(view: dict[str, Any], *, user: str) -> dict[str, Any]:
    """Cancel / X on a modal with notify_on_close: Slack sends NO input values."""
    return {
        "type": "view_closed",
        "team": _team(),
        "user": _user(user),
        "api_app_id": "A0FAKE",
        "token": "legacy-token",
        "view": _payload_view(view, {"values": {}}),
        "is_cleared": False,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def message_shortcut_payload(
    callback_id: str,
    *,
    user: str,
    text: str,
    trigger_id: str,
    response_url: str,
    author: str = "UCLIENTMSG",
    channel: str = "C0GENERAL",
) -> dict[str, Any]:
    ts = f"1700000000.{next(_ids):06d}"
    return {
        "type": "message_action",
        "token": "legacy-token",
        "action_ts": ts,
        "team": _team(),
        "user": _user(user),
        "channel": {"id": channel, "name": "general"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": ts,
        "message": {"type": "message", "user": author, "ts": ts, "text": text},
    }


def event_payload(event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy-token",
        "team_id": TEAM_ID,
        "api_app_id": "A0FAKE",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": TEAM_ID, "user_id": "UBOT", "is_bot": True, "is_enterprise_install": False}
        ],
    }


def app_home_opened(user: str) -> dict[str, Any]:
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": "D" + user[1:],
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }


def block_suggestion_payload(
    view: dict[str, Any], *, user: str, action_id: str, block_id: str, value: str
) -> dict[str, Any]:
    """An external_select asking for options (`value` is what the user typed)."""
    return {
        "type": "block_suggestion",
        "user": _user(user),
        "team": _team(),
        "api_app_id": "A0FAKE",
        "token": "legacy-token",
        "container": {"type": "view", "view_id": view.get("id", "V0")},
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "view": _payload_view(view, view_state(view)),
        "is_enterprise_install": False,
    }


def _message_part(surface: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in surface.items() if k in ("blocks", "text", "ts")}


# -- the driver ------------------------------------------------------------------------------
class SlackDriver:
    """Plays Slack: signed requests in, waits for the app, fails on what Slack would refuse.

    `check_limits = False` lets a test send what Slack refuses on purpose.
    """

    def __init__(self, web: Flask, fake: FakeSlack, executor: TrackingExecutor) -> None:
        self.http = web.test_client()
        self.fake = fake
        self.executor = executor
        self._checked = 0
        self.check_limits = True
        self._signed: set[tuple[int, bytes]] = set()

    # transport
    def post(
        self,
        body: bytes,
        content_type: str,
        *,
        signed: bool = True,
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
        headers: dict[str, str] | None = None,
    ) -> TestResponse:
        """POST /slack/events, then `settle()`."""
        all_headers = {"Content-Type": content_type, **(headers or {})}
        if signed:
            if timestamp is None:
                timestamp = self._fresh_timestamp(body)
            all_headers.update(sign(body, secret=secret, timestamp=timestamp))
        response = self.http.post("/slack/events", data=body, headers=all_headers)
        self.settle()
        if self.check_limits and response.status_code == 200:
            check_ack(response.get_data(), response.headers.get("Content-Type"))
        return response

    def _fresh_timestamp(self, body: bytes) -> int:
        """Now, or a second earlier for a body already sent at that second: Slack signs each
        delivery anew (a redelivery 1 s later has another signature), and ditbot refuses the
        same signed request twice (a replay)."""
        stamp, digest = int(time.time()), hashlib.sha256(body).digest()
        while (stamp, digest) in self._signed:
            stamp -= 1
        self._signed.add((stamp, digest))
        return stamp

    def post_form(self, fields: dict[str, str], **kwargs: Any) -> TestResponse:
        return self.post(urlencode(fields).encode(), "application/x-www-form-urlencoded", **kwargs)

    def post_interactive(self, payload: dict[str, Any], **kwargs: Any) -> TestResponse:
        return self.post_form({"payload": json.dumps(payload)}, **kwargs)

    def post_event(self, payload: dict[str, Any], **kwargs: Any) -> TestResponse:
        return self.post(json.dumps(payload).encode(), "application/json", **kwargs)

    def settle(self, timeout: float = 10.0) -> None:
        """Wait for bolt's listeners, then fail if Slack would have refused what they sent."""
        self.executor.wait_idle(timeout)
        calls = self.fake.calls
        new, self._checked = calls[self._checked :], len(calls)
        if self.check_limits:
            for call in new:
                refused = refusal_of(call)
                if refused:
                    raise AssertionError(f"Slack refuses {call.method}: {refused}")
                check_house_rules(call)
        if self.executor.errors:
            error = self.executor.errors.pop(0)
            raise AssertionError(f"a listener raised past bolt: {error!r}") from error

    def reset_checked(self) -> None:
        """Call after `fake.reset()`/`clear()` inside a test."""
        self._checked = len(self.fake.calls)

    # surfaces
    def command(self, text: str, *, user: str = "UJDU", **kwargs: Any) -> TestResponse:
        """`/dit <text>`; its response_url is `fake.response_url("cmd-<n>")`."""
        self.response_url = self.fake.response_url(f"cmd-{next(_ids)}")
        fields = command_payload(
            text, user=user, response_url=self.response_url, trigger_id=self.fake.new_trigger_id()
        )
        return self.post_form(fields, **kwargs)

    def click(
        self,
        surface: dict[str, Any],
        action_id: str,
        value: str | None = None,
        *,
        user: str = "UJDU",
        changes: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> TestResponse:
        """Click the button / choose the overflow option `value` / pick a select option.

        `surface` is a view (the fake's stored view: `last_view()`) or a message (a dict with
        `blocks`, e.g. `last_response()`); `changes` edits the view's inputs first.
        """
        blocks = surface.get("blocks") or []
        block, element = find_element(blocks, action_id, value)
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block.get("block_id") or f"b{next(_ids)}",
            "type": element["type"],
            "action_ts": f"{time.time():.6f}",
        }
        if element["type"] == "button":
            action["text"] = element["text"]
            if "value" in element:
                action["value"] = element["value"]
        elif element["type"] == "overflow":
            action["selected_option"] = _option(element, str(value))
        else:
            action.update({k: v for k, v in element_state(element, value).items() if k != "type"})
        is_view = surface.get("type") in ("modal", "home")
        state = None
        if is_view:
            all_changes = dict(changes or {})
            if block.get("type") == "input":
                all_changes[action_id] = value
            state = view_state(surface, all_changes)
        self.response_url = self.fake.response_url(f"act-{next(_ids)}")
        payload = block_actions_payload(
            user=user,
            action=action,
            trigger_id=self.fake.new_trigger_id(surface.get("id") if is_view else None),
            view=surface if is_view else None,
            state=state,
            message=None
            if is_view
            else {k: v for k, v in surface.items() if k in ("blocks", "text", "ts")},
            response_url=None if is_view else self.response_url,
        )
        return self.post_interactive(payload, **kwargs)

    def submit(
        self,
        view: dict[str, Any],
        changes: dict[str, Any] | None = None,
        *,
        user: str = "UJDU",
        state: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> TestResponse:
        """Press the submit button of `view` after applying `changes` to its inputs."""
        payload = view_submission_payload(
            view,
            user=user,
            state=state or view_state(view, changes),
            trigger_id=self.fake.new_trigger_id(view.get("id")),
        )
        return self.post_interactive(payload, **kwargs)

    def close(self, view: dict[str, Any], *, user: str = "UJDU", **kwargs: Any) -> TestResponse:
        return self.post_interactive(view_closed_payload(view, user=user), **kwargs)

    def shortcut(
        self, text: str, *, user: str = "UJDU", callback_id: str = "log_exchange", **kwargs: Any
    ) -> TestResponse:
        self.response_url = self.fake.response_url(f"sc-{next(_ids)}")
        payload = message_shortcut_payload(
            callback_id,
            user=user,
            text=text,
            trigger_id=self.fake.new_trigger_id(),
            response_url=self.response_url,
        )
        return self.post_interactive(payload, **kwargs)

    def suggest(
        self, view: dict[str, Any], action_id: str, typed: str, *, user: str = "UJDU"
    ) -> dict[str, Any]:
        """Options an external_select of `view` gets for `typed` (the decoded answer)."""
        block, _element = find_element(view["blocks"], action_id)
        payload = block_suggestion_payload(
            view, user=user, action_id=action_id, block_id=block["block_id"], value=typed
        )
        response = self.post_interactive(payload)
        assert response.status_code == 200, response.get_data(as_text=True)
        return json.loads(response.get_data() or b"{}")

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        **kwargs: Any,
    ) -> TestResponse:
        headers = dict(kwargs.pop("headers", {}) or {})
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return self.post_event(event_payload(event, event_id=event_id), headers=headers, **kwargs)

    def open_home(self, user: str = "UJDU", **kwargs: Any) -> TestResponse:
        return self.event(app_home_opened(user), **kwargs)

    # reading back
    def views_sent(self, method: str = "views.open") -> list[Call]:
        return [c for c in self.fake.calls_to(method) if c.ok]

    def last_view(self, method: str | None = None) -> dict[str, Any]:
        """The current state (as the fake stores it: id, hash, blocks...) of the view of the
        last successful views.* call (of `method` when given)."""
        methods = (
            (method,) if method else ("views.open", "views.push", "views.update", "views.publish")
        )
        calls = [c for c in self.fake.calls if c.method in methods and c.ok]
        assert calls, f"no successful {methods} call; calls: {[c.method for c in self.fake.calls]}"
        view_id = calls[-1].response["view"]["id"]
        stored = self.fake.view(view_id)
        assert stored is not None
        return stored

    def last_response(self) -> dict[str, Any]:
        """The args of the last message posted to a response_url (an ephemeral answer)."""
        calls = self.fake.calls_to("response_url")
        assert calls, f"no response_url call; calls: {[c.method for c in self.fake.calls]}"
        return calls[-1].args

    def home(self, user: str) -> dict[str, Any]:
        calls = [
            c for c in self.fake.calls_to("views.publish") if c.ok and c.args.get("user_id") == user
        ]
        assert calls, f"no views.publish for {user}"
        stored = self.fake.view(calls[-1].response["view"]["id"])
        assert stored is not None
        return stored


def texts(node: Any, kind: str | None = None) -> str:
    """Every text of a view/message/blocks, joined: for `assert "..." in texts(view)`.

    `kind` ("plain_text" or "mrkdwn") keeps only the text objects of that type.
    """
    found: list[str] = []
    kinds = (kind,) if kind else ("plain_text", "mrkdwn")

    def walk(value: Any) -> None:
        if isinstance(value, JsonObject):  # what a builder returns, before the SDK serialises it
            value = value.to_dict()
        if isinstance(value, dict):
            if value.get("type") in kinds and isinstance(value.get("text"), str):
                found.append(value["text"])
            for key, item in value.items():
                if key in ("placeholder",):
                    continue
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(node)
    if isinstance(node, dict) and isinstance(node.get("text"), str):
        found.insert(0, node["text"])
    return "\n".join(found)


# -- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def slack(fake_slack: FakeSlack) -> FakeSlack:
    """The fake, reset, knowing the users of tests/factories.py (see module docstring)."""
    fake_slack.reset()
    for user, profile in USERS.items():
        fake_slack.add_user(user, **profile)
    return fake_slack


@pytest.fixture
def env(env: dict[str, str], slack: FakeSlack) -> dict[str, str]:
    """The test environment with SLACK_API_URL on the fake."""
    return {**env, "SLACK_API_URL": slack.base_url}


@pytest.fixture
def slack_executor() -> Iterator[TrackingExecutor]:
    executor = TrackingExecutor()
    yield executor
    executor.shutdown(wait=True)


@pytest.fixture
def slack_app(
    ctx: Context, seeded: dict[str, Any], slack_executor: TrackingExecutor, slack: FakeSlack
) -> App:
    """The real bolt app of ditbot on the seeded database, talking to the fake.

    ditbot times a request's wait (bot/deps.py TRIGGER_BUDGET) on a clock that moves only when
    a test advances the fake's: on a loaded machine a slow test run is not a user's wait, and
    the panel tests would otherwise get "Slack took too long" (tests/slack/test_late_trigger.py
    moves the clock itself)."""
    return create_app(ctx, listener_executor=slack_executor, clock=slack.clock.advanced)


@pytest.fixture
def slack_web(ctx: Context, slack_app: App) -> Flask:
    return create_web_app(ctx, slack_app)


@pytest.fixture
def driver(slack_web: Flask, slack: FakeSlack, slack_executor: TrackingExecutor) -> SlackDriver:
    return SlackDriver(slack_web, slack, slack_executor)
