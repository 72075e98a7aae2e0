"""A fake of the Slack Web API for tests, benchmarks and manual trials.

`FakeSlack` is a small HTTP server (stdlib ``ThreadingHTTPServer``) on
127.0.0.1 that answers ``POST /api/<method>`` like slack.com does, records
every call, and can inject faults (HTTP errors, 429 rate limits, slowness).

It is a strict judge: what Slack refuses it refuses, with Slack's error code
(`ditbot.playground.slack_rules` holds the rules and what each rests on): bad
views and blocks, a trigger_id used late or twice, a stale hash, a fourth
modal, and more than one chat.postMessage per second in a channel (429 with
`Retry-After`). Its clock (`clock`) is the real one, moved on by
`Clock.advance` when a test needs time to pass.

Typical use::

    with FakeSlack() as fake:
        fake.add_user("U1", email="a@example.com", locale="fr-FR")
        client = WebClient(token="xoxb-test", base_url=fake.base_url)
        client.chat_postMessage(channel="C1", text="hi")
        [call] = fake.wait_for("chat.postMessage")
        assert call.args["text"] == "hi"

Run it standalone with ``python -m ditbot.playground.slack_api [--port N]``.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import itertools
import json
import math
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from ditbot.playground import slack_rules as rules

__all__ = ["BOT_ID", "BOT_USER_ID", "TEAM_ID", "Call", "Clock", "FakeSlack", "main"]

TEAM_ID = "T0FAKE"
TEAM_NAME = "Fake Team"
TEAM_DOMAIN = "fake-team"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
BOT_NAME = "ditbot"
APP_ID = "A0FAKE"

#: Arguments that Slack accepts as JSON-encoded strings in form bodies.
JSON_FIELDS = frozenset(
    {
        "attachments",
        "blocks",
        "chunks",
        "files",
        "message",
        "metadata",
        "outputs",
        "unfurls",
        "user_auth_blocks",
        "view",
    }
)

# The bot scopes of manifest.yml the fake grants unless a test takes one away (`scopes`).
BOT_SCOPES = frozenset(
    {
        "commands",
        "chat:write",
        "users:read",
        "users:read.email",
        "im:write",
        "im:history",
        "channels:read",
        "groups:read",
        "channels:history",
        "groups:history",
        "files:write",
    }
)
#: Methods that Slack answers without a token.
NO_TOKEN_METHODS = frozenset({"api.test", "oauth.access", "oauth.v2.access", "oauth.v2.exchange"})

FIRST_TS_SECONDS = 1_700_000_000
#: A trigger_id works once, within 3 s of the interaction that gave it (views.open docs).
TRIGGER_SECONDS = 3.0
#: chat.postMessage: "generally allows posting one message per second per channel"; bursts
#: "allowed" but with "no guarantee that messages will be delivered" (Slack's rate-limit
#: page). The fake answers 429 past one per second, so the suite sees what Slack may drop.
POST_MESSAGE_PER_SECOND = 1.0
HISTORY_LIMIT = 100  # conversations.history / replies: default page size
HISTORY_MAX = 999  # and the largest Slack serves


@dataclass
class Call:
    """One request received by the fake.

    ``method`` is the Web API method (``chat.postMessage``), ``response_url``
    for POSTs to `FakeSlack.response_url` URLs, or ``file_upload`` for the
    upload step of ``files_upload_v2``. ``args`` holds the decoded arguments
    (query string + form or JSON body; JSON-valued form fields such as
    ``blocks`` or ``view`` are decoded to Python objects; ``token`` is moved to
    the ``token`` field). ``headers`` has lower-cased names. ``at`` is the
    ``time.time()`` of arrival, ``status`` the HTTP status answered and
    ``response`` the JSON body answered (None if not JSON).
    """

    method: str
    args: dict[str, Any]
    token: str | None
    headers: dict[str, str]
    at: float
    status: int = 200
    response: Any = None
    path: str = ""

    @property
    def ok(self) -> bool:
        """True when the call was answered 200 with ``"ok": true``."""
        body = self.response
        return self.status == 200 and (not isinstance(body, dict) or bool(body.get("ok")))


@dataclass
class _Fault:
    status: int
    times: int
    retry_after: int | None
    body: Any
    disconnect: bool


@dataclass
class _Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    disconnect: bool = False


MODAL_STACK_MAX = 3  # an open and two pushes: views.push past it is push_limit_reached


def _truthy(value: Any) -> bool:
    """Interpret a Slack boolean argument (``True``, ``"1"``, ``"true"``)."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _decode_json_fields(args: dict[str, Any]) -> dict[str, Any]:
    """Decode the JSON-string values of `JSON_FIELDS` in place."""
    for key in JSON_FIELDS & args.keys():
        value = args[key]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                args[key] = json.loads(value)
            except ValueError:
                pass
    return args


def _short(args: dict[str, Any], limit: int = 100) -> str:
    """Render args as one short line for the standalone log."""
    text = json.dumps(args, ensure_ascii=False, default=str, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _error(error: str, *messages: str) -> _Answer:
    return _refused(rules.Refusal(error, messages))


def _refused(refusal: rules.Refusal) -> _Answer:
    return _Answer(200, refusal.body())


class Clock:
    """The fake's time: the real clocks, moved forward by `advance`.

    Trigger lifetimes, the per-channel post rate and message timestamps read it, so a test
    expires a trigger_id or lets a rate window pass without sleeping.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def advance(self, seconds: float) -> None:
        """Move the fake's time `seconds` forward."""
        with self._lock:
            self._offset += seconds

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def advanced(self) -> float:
        """Seconds moved by `advance` only: a clock that stands still unless a test moves it."""
        return self._offset

    def time(self) -> float:
        """Unix time (what message ts are made of)."""
        return time.time() + self._offset


def _ok(**fields: Any) -> _Answer:
    return _Answer(200, {"ok": True, **fields})


def _tz_info(tz: str) -> tuple[str, int]:
    """Return (label, offset seconds) for an IANA zone, UTC if unknown."""
    try:
        from zoneinfo import ZoneInfo

        now = datetime.now(ZoneInfo(tz))
    except Exception:  # unknown zone or no tzdata
        return "Coordinated Universal Time", 0
    offset = now.utcoffset()
    return now.tzname() or tz, int(offset.total_seconds()) if offset else 0


class FakeSlack:
    """A fake Slack Web API server on ``127.0.0.1`` for tests.

    Start it with ``with FakeSlack() as fake:`` or ``fake.start()`` /
    ``fake.stop()``. Point clients at `base_url`. All public methods are
    thread-safe.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        on_call: Callable[[Call], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        """Create a stopped fake; ``on_call`` is invoked for every recorded call, after the
        fake has acted on it and before the answer goes back (a test may kill the caller
        there: Slack has the post, the caller never learns it)."""
        self._requested_port = port
        self._on_call = on_call
        self.clock = clock or Clock()
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._calls: list[Call] = []
        self.count_429 = 0
        self.rate_limited_count = 0
        self._init_state()

    def _init_state(self) -> None:
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, float] = {}
        # Slack's default: one chat.postMessage per second per channel (see the constant).
        self._rate_limits: dict[str, float] = {"chat.postMessage": 1.0 / POST_MESSAGE_PER_SECOND}
        self._last_accepted: dict[tuple[str, str], float] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._external_ids: dict[str, str] = {}
        self._home_views: dict[str, str] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._triggers: dict[str, float] = {}  # trigger_id -> when it was issued
        self._used_triggers: set[str] = set()
        self._trigger_views: dict[str, str] = {}
        self._last_modal_id: str | None = None
        self._ids = itertools.count(1)
        self._last_ts = 0.0
        self._changes = 0  # calls recorded and playground gestures, for `wait_change`
        # files.getUploadURLExternal -> upload -> files.completeUploadExternal, per file id
        self._uploads: dict[str, dict[str, Any]] = {}
        self.scopes: set[str] = set(BOT_SCOPES)  # a test may discard one: missing_scope

    # ------------------------------------------------------------------
    # lifecycle

    def start(self) -> FakeSlack:
        """Bind the port and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = ThreadingHTTPServer(("127.0.0.1", self._requested_port), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"FakeSlack:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (interrupts pending delays)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port the server is bound to (after `start`)."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Root URL of the server, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Web API base URL for ``WebClient(base_url=...)`` (trailing slash)."""
        return f"{self.url}/api/"

    def response_url(self, name: str = "default") -> str:
        """A ``response_url`` on this server; POSTs to it are recorded."""
        return f"{self.url}/response/{quote(name, safe='')}"

    # ------------------------------------------------------------------
    # recorded calls

    @property
    def calls(self) -> list[Call]:
        """A snapshot of all recorded calls, oldest first."""
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str, *, status: int | None = None) -> list[Call]:
        """Recorded calls of ``method`` (optionally only those answered ``status``)."""
        with self._cond:
            return [
                c
                for c in self._calls
                if c.method == method and (status is None or c.status == status)
            ]

    def responses(self, name: str | None = None) -> list[Call]:
        """Recorded ``response_url`` calls, optionally only those to ``name``."""
        calls = self.calls_to("response_url")
        if name is None:
            return calls
        path = f"/response/{quote(name, safe='')}"
        return [c for c in calls if c.path == path]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        *,
        predicate: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Block until ``count`` calls of ``method`` (matching ``predicate``) exist.

        Returns the matching calls. Raises AssertionError after ``timeout`` s.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [
                    c
                    for c in self._calls
                    if c.method == method and (predicate is None or predicate(c))
                ]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = Counter(c.method for c in self._calls)
                    raise AssertionError(
                        f"FakeSlack: expected {count} call(s) to {method!r}"
                        f"{' matching predicate' if predicate else ''} within "
                        f"{timeout}s, got {len(found)}; calls recorded: "
                        f"{dict(seen) or 'none'}"
                    )
                self._cond.wait(remaining)

    def clear(self) -> None:
        """Forget recorded calls and the 429 counters (keeps configuration)."""
        with self._cond:
            self._calls.clear()
            self.count_429 = 0
            self.rate_limited_count = 0

    def reset(self) -> None:
        """`clear` plus forget users, channels, views, messages, faults, limits."""
        with self._cond:
            self.clear()
            self._init_state()

    # ------------------------------------------------------------------
    # registries

    def add_user(
        self,
        user_id: str,
        *,
        email: str | None = None,
        name: str | None = None,
        real_name: str | None = None,
        locale: str = "en-US",
        tz: str = "Europe/Paris",
        is_bot: bool = False,
        deleted: bool = False,
        **extra: Any,
    ) -> dict[str, Any]:
        """Register a user for ``users.info`` / ``users.lookupByEmail``.

        ``extra`` keys are merged into the user object. Returns the user object
        (without ``locale``, which is added only with ``include_locale``).
        """
        name = name or user_id.lower()
        real_name = real_name or name
        tz_label, tz_offset = _tz_info(tz)
        profile: dict[str, Any] = {
            "real_name": real_name,
            "display_name": name,
            "real_name_normalized": real_name,
            "display_name_normalized": name,
            "team": TEAM_ID,
        }
        if email is not None:
            profile["email"] = email
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": real_name,
            "deleted": deleted,
            "tz": tz,
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": FIRST_TS_SECONDS,
            **extra,
        }
        with self._cond:
            self._users[user_id] = {"user": user, "locale": locale}
        return user

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        is_member: bool = True,
        is_private: bool = False,
        is_archived: bool = False,
        **extra: Any,
    ) -> dict[str, Any]:
        """Register a channel for ``conversations.info`` and message methods.

        Once any channel is registered, messages to unregistered channels
        fail with ``channel_not_found`` and to ``is_member=False`` channels
        with ``not_in_channel``. Returns the channel object.
        """
        channel: dict[str, Any] = {
            "id": channel_id,
            "name": name or channel_id.lower(),
            "is_channel": not is_private,
            "is_group": is_private,
            "is_im": channel_id.startswith("D"),
            "is_private": is_private,
            "is_archived": is_archived,
            "is_general": False,
            "is_member": is_member,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "context_team_id": TEAM_ID,
            "created": FIRST_TS_SECONDS,
            "creator": "UADMIN",
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            **extra,
        }
        with self._cond:
            self._channels[channel_id] = channel
        return channel

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The current state of a message posted/updated through the fake."""
        with self._cond:
            msg = self._messages.get((channel, ts))
            return dict(msg) if msg is not None else None

    def view(self, view_id: str) -> dict[str, Any] | None:
        """The current state of a view opened/pushed/updated/published."""
        with self._cond:
            view = self._views.get(view_id)
            return dict(view) if view is not None else None

    def new_trigger_id(self, from_view: str | None = None) -> str:
        """A fresh trigger id, as an interaction payload carries: it works once, within
        `TRIGGER_SECONDS` of now (else `exchanged_trigger_id` / `expired_trigger_id`); one
        the fake never issued is `invalid_trigger_id`.

        `from_view`: the modal the user acted in, the one a `views.push` with it goes on top of
        (the user may have gone back down the stack since the last push).
        """
        with self._cond:
            trigger = f"{next(self._ids)}.{FIRST_TS_SECONDS}.fake{next(self._ids)}"
            self._triggers[trigger] = self.clock.monotonic()
            if from_view:
                self._trigger_views[trigger] = from_view
            return trigger

    # ------------------------------------------------------------------
    # the playground's side of Slack (what people do in the workspace)

    @property
    def changes(self) -> int:
        """A counter that moves on with every call and every playground gesture."""
        with self._cond:
            return self._changes

    def wait_change(self, since: int, timeout: float) -> int:
        """Block until `changes` passes `since` (or `timeout` s); returns `changes`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._changes <= since:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stopping.is_set():
                    break
                self._cond.wait(min(remaining, 1.0))
            return self._changes

    def touch(self) -> None:
        """Tell `wait_change` waiters that the workspace changed."""
        with self._cond:
            self._changes += 1
            self._cond.notify_all()

    def conversation(self, channel: str) -> list[dict[str, Any]]:
        """The messages of `channel` (bot's and people's), oldest first, thread replies too."""
        with self._cond:
            found = [dict(m) for (c, _), m in self._messages.items() if c == channel]
        return sorted(found, key=lambda m: float(m["ts"]))

    def post_as(
        self, user: str, channel: str, text: str, *, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """A message a person writes in `channel` (the playground's message box)."""
        with self._cond:
            ts = self._next_ts()
            msg: dict[str, Any] = {"type": "message", "user": user, "text": text, "ts": ts}
            if thread_ts:
                msg["thread_ts"] = thread_ts
            self._reply_to(channel, msg, ts)
            self._messages[(channel, ts)] = msg
            self._changes += 1
            self._cond.notify_all()
            return dict(msg)

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab last published for `user_id`."""
        with self._cond:
            view = self._views.get(self._home_views.get(user_id, ""))
            return json.loads(json.dumps(view)) if view is not None else None

    def accept_ack_view(
        self, view: Any, *, replacing: str | None = None, on_top_of: str | None = None
    ) -> dict[str, Any] | rules.Refusal:
        """A view in a view_submission's ack (`response_action` update or push), which Slack
        judges like views.update / views.push: the stored view, or Slack's refusal."""
        with self._cond:
            refusal = rules.view_refusal(view, types=("modal",), at="/view")
            if refusal is not None:
                return refusal
            if replacing is not None and replacing in self._views:
                current = self._views[replacing]
                stored = self._store_view(
                    view,
                    view_id=replacing,
                    root_view_id=current["root_view_id"],
                    previous_view_id=current["previous_view_id"],
                )
            else:
                parent = self._views.get(on_top_of or "")
                if parent is not None and self._stack_depth(parent) >= MODAL_STACK_MAX:
                    return rules.Refusal("push_limit_reached")
                stored = self._store_view(
                    view,
                    root_view_id=parent["root_view_id"] if parent else None,
                    previous_view_id=parent["id"] if parent else None,
                )
            self._changes += 1
            self._cond.notify_all()
            return stored

    def set_state(self, view_id: str, state: dict[str, Any]) -> None:
        """What the person typed in a modal, kept as Slack keeps `view.state`."""
        with self._cond:
            if view_id in self._views:
                self._views[view_id]["state"] = json.loads(json.dumps(state))

    def forget_view(self, view_id: str) -> None:
        """A modal closed: it leaves the stack (a push may then go on the one below)."""
        with self._cond:
            view = self._views.pop(view_id, None)
            if view is not None and view.get("external_id"):
                self._external_ids.pop(view["external_id"], None)
            if self._last_modal_id == view_id:
                self._last_modal_id = view.get("previous_view_id") if view else None
            self._changes += 1
            self._cond.notify_all()

    # ------------------------------------------------------------------
    # fault injection

    def fail_next(
        self,
        method: str,
        status: int = 500,
        times: int = 1,
        retry_after: int | None = None,
        body: Any = None,
        *,
        disconnect: bool = False,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP ``status``.

        ``method`` may be ``"*"`` (any method) or ``"response_url"``. A 429
        carries ``Retry-After: <retry_after>`` (1 when None; 0 is honoured,
        which makes slack_sdk's RateLimitErrorRetryHandler wait < 1 s) and
        ``{"ok": false, "error": "ratelimited"}``. ``body`` overrides the JSON
        body (e.g. ``status=200, body={"ok": False, "error": "x"}``).
        ``disconnect=True`` closes the connection without any answer.
        Faults queue up in the order they were added.
        """
        fault = _Fault(status, times, retry_after, body, disconnect)
        with self._cond:
            self._faults.setdefault(method, []).append(fault)

    def enforce_rate_limit(
        self,
        method: str = "chat.postMessage",
        per_channel_per_second: float | None = 1.0,
    ) -> None:
        """Answer 429 to calls of ``method`` to a channel faster than the rate.

        A call within ``1/per_channel_per_second`` s of the previous accepted
        call to the same channel gets 429 + ``Retry-After`` (whole seconds until
        it may post, at least 1) and is counted in `rate_limited_count`. ``None``
        or 0 turns the limit off. chat.postMessage is limited to one per second
        from the start, as Slack does: a test that posts faster on purpose turns
        it off with ``enforce_rate_limit("chat.postMessage", None)``.
        """
        with self._cond:
            if per_channel_per_second:
                self._rate_limits[method] = 1.0 / per_channel_per_second
            else:
                self._rate_limits.pop(method, None)

    def delay(self, method: str, seconds: float) -> None:
        """Answer ``method`` (or ``"*"``) only after ``seconds``; 0 removes it."""
        with self._cond:
            if seconds > 0:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    # ------------------------------------------------------------------
    # request handling (called from the server threads)

    def _handle(
        self,
        method: str,
        args: dict[str, Any],
        token: str | None,
        headers: dict[str, str],
        path: str,
    ) -> _Answer:
        """Compute the answer to one request and record it."""
        arrived = time.time()
        with self._cond:
            answer = self._take_fault(method) or self._check_rate_limit(method, args)
            if answer is None:
                answer = self._dispatch(method, args, token)
                if answer.status == 200 and isinstance(answer.body, dict) and answer.body["ok"]:
                    self._count_for_rate(method, args)
            if answer.status == 429:
                self.count_429 += 1
            wait = self._delays.get(method, self._delays.get("*", 0.0))
        if wait:
            self._stopping.wait(wait)
        call = Call(
            method=method,
            args=args,
            token=token,
            headers=headers,
            at=arrived,
            status=answer.status,
            response=None if answer.disconnect else answer.body,
            path=path,
        )
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
        if self._on_call is not None:
            self._on_call(call)
        self.touch()  # after on_call: the playground's workspace has taken the call in
        return answer

    def _take_fault(self, method: str) -> _Answer | None:
        queue = self._faults.get(method) or self._faults.get("*")
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        headers: dict[str, str] = {}
        body = fault.body
        if fault.status == 429:
            retry_after = 1 if fault.retry_after is None else fault.retry_after
            headers["Retry-After"] = str(retry_after)
            if body is None:
                body = {"ok": False, "error": "ratelimited"}
        elif body is None and fault.status < 300:
            body = {"ok": True}
        elif body is None:
            error = "internal_error" if fault.status >= 500 else f"http_{fault.status}"
            body = {"ok": False, "error": error}
        elif fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        return _Answer(fault.status, body, headers, fault.disconnect)

    def _check_rate_limit(self, method: str, args: dict[str, Any]) -> _Answer | None:
        interval = self._rate_limits.get(method)
        if interval is None:
            return None
        last = self._last_accepted.get((method, str(args.get("channel", ""))))
        wait = 0.0 if last is None else last + interval - self.clock.monotonic()
        if wait <= 0:
            return None
        self.rate_limited_count += 1
        retry_after = str(max(1, math.ceil(wait)))
        return _Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": retry_after})

    def _count_for_rate(self, method: str, args: dict[str, Any]) -> None:
        """An accepted call opens the channel's next rate window."""
        if method in self._rate_limits:
            channel = str(args.get("channel", ""))
            self._last_accepted[(method, channel)] = self.clock.monotonic()

    def _dispatch(self, method: str, args: dict[str, Any], token: str | None) -> _Answer:
        if method == "response_url":
            # A refused response_url answers HTTP 400 with the error as a plain-text body.
            refusal = rules.message_refusal(args, method="response_url")
            return _Answer(400, refusal.error) if refusal else _Answer(200, "ok")
        if method == "file_upload":
            return self._file_upload(args)
        if token is None and method not in NO_TOKEN_METHODS:
            return _error("not_authed")
        handler = _METHODS.get(method)
        if handler is None:
            return _ok()
        return handler(self, args, token)

    # --- ids ----------------------------------------------------------

    def _next_ts(self) -> str:
        """A message ts: the fake's Unix time in microseconds, unique and increasing."""
        self._last_ts = max(round(self.clock.time(), 6), round(self._last_ts + 0.000001, 6))
        return f"{self._last_ts:.6f}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    # --- auth / misc ---------------------------------------------------

    def _auth_test(self, args: dict[str, Any], token: str | None) -> _Answer:
        return _ok(
            url=f"https://{TEAM_DOMAIN}.slack.com/",
            team=TEAM_NAME,
            user=BOT_NAME,
            team_id=TEAM_ID,
            user_id=BOT_USER_ID,
            bot_id=BOT_ID,
            is_enterprise_install=False,
        )

    # --- channels -----------------------------------------------------

    def _resolve_channel(self, channel: Any, *, need_member: bool) -> tuple[str, _Answer | None]:
        """Map a channel argument to an id, or an error answer."""
        if not channel:
            return "", _error("channel_not_found")
        channel = str(channel)
        if not self._channels:
            if channel[:1] in ("U", "W"):
                return "D" + channel[1:], None
            return channel, None
        if channel.startswith("#"):
            for cid, named in self._channels.items():
                if named["name"] == channel[1:]:
                    channel = cid
                    break
        if channel[:1] == "D" and channel not in self._channels:  # an IM of conversations.open
            if self._users and "U" + channel[1:] not in self._users:
                return channel, _error("channel_not_found")
            return channel, None
        if channel[:1] in ("U", "W") and channel not in self._channels:
            if self._users and channel not in self._users:
                return channel, _error("channel_not_found")
            return "D" + channel[1:], None
        info = self._channels.get(channel)
        if info is None:
            return channel, _error("channel_not_found")
        if info.get("is_archived"):
            return channel, _error("is_archived")
        if need_member and not info.get("is_member"):
            return channel, _error("not_in_channel")
        return channel, None

    def _conversations_info(self, args: dict[str, Any], token: str | None) -> _Answer:
        info = self._channels.get(str(args.get("channel", "")))
        if info is None:
            return _error("channel_not_found")
        return _ok(channel=dict(info))

    def _conversations_join(self, args: dict[str, Any], token: str | None) -> _Answer:
        cid = str(args.get("channel", ""))
        info = self._channels.get(cid)
        if info is None:
            if self._channels or not cid:
                return _error("channel_not_found")
            info = self.add_channel(cid, is_member=True)
        if info.get("is_archived"):
            return _error("is_archived")
        already = bool(info.get("is_member"))
        info["is_member"] = True
        if already:
            return _ok(channel=dict(info), warning="already_in_channel")
        return _ok(channel=dict(info))

    # --- users --------------------------------------------------------

    def _user_object(self, user_id: str, include_locale: bool) -> dict[str, Any] | None:
        entry = self._users.get(user_id)
        if entry is None:
            return None
        user: dict[str, Any] = json.loads(json.dumps(entry["user"]))
        if include_locale:
            user["locale"] = entry["locale"]
        return user

    def _users_info(self, args: dict[str, Any], token: str | None) -> _Answer:
        user = self._user_object(str(args.get("user", "")), _truthy(args.get("include_locale")))
        return _ok(user=user) if user is not None else _error("user_not_found")

    def _users_lookup_by_email(self, args: dict[str, Any], token: str | None) -> _Answer:
        wanted = str(args.get("email", "")).lower()
        for user_id, entry in self._users.items():
            if str(entry["user"]["profile"].get("email", "")).lower() == wanted:
                return _ok(user=self._user_object(user_id, False))
        return _error("users_not_found")

    # --- chat ---------------------------------------------------------

    def _check_content(self, args: dict[str, Any], method: str) -> _Answer | None:
        refusal = rules.message_refusal(args, method=method)
        return _refused(refusal) if refusal else None

    def _message_object(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": args.get("text", ""),
            "ts": ts,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if args.get(key) is not None:
                msg[key] = args[key]
        if isinstance(msg.get("metadata"), str):
            msg["metadata"] = json.loads(msg["metadata"])
        return msg

    def _chat_post_message(self, args: dict[str, Any], token: str | None) -> _Answer:
        channel, err = self._resolve_channel(args.get("channel"), need_member=True)
        err = err or self._check_content(args, "chat.postMessage")
        if err:
            return err
        ts = self._next_ts()
        msg = self._message_object(args, ts)
        parent = self._reply_to(channel, msg, ts)
        if parent is not None:
            msg["parent_user_id"] = parent.get("user", BOT_USER_ID)
            if _truthy(args.get("reply_broadcast")):
                msg["subtype"] = "thread_broadcast"
        self._messages[(channel, ts)] = msg
        return _ok(channel=channel, ts=ts, message=dict(msg))

    def _reply_to(self, channel: str, msg: dict[str, Any], ts: str) -> dict[str, Any] | None:
        """The parent that `msg` (new, at `ts`) replies to, its reply count and latest reply
        moved on; None when its `thread_ts` names no top-level message of `channel`, and then,
        as Slack does, `msg` goes in the channel itself."""
        thread_ts = str(msg.get("thread_ts") or "")
        parent = self._messages.get((channel, thread_ts)) if thread_ts else None
        if parent is None or parent.get("thread_ts", parent["ts"]) != parent["ts"]:
            msg.pop("thread_ts", None)
            return None
        parent["thread_ts"] = parent["ts"]
        parent["reply_count"] = int(parent.get("reply_count", 0)) + 1
        parent["latest_reply"] = ts
        return parent

    def _chat_update(self, args: dict[str, Any], token: str | None) -> _Answer:
        channel, err = self._resolve_channel(args.get("channel"), need_member=True)
        if err:
            return err
        ts = str(args.get("ts", ""))
        if not ts:
            return _error("message_not_found")
        err = self._check_content(args, "chat.update")
        if err:
            return err
        msg = self._messages.get((channel, ts))
        if msg is None:  # Slack: a ts the channel does not hold (never posted, or deleted)
            return _error("message_not_found")
        kept = {k: msg[k] for k in ("thread_ts", "reply_count", "latest_reply") if k in msg}
        msg.update(self._message_object(args, ts), **kept)
        self._messages[(channel, ts)] = msg
        return _ok(channel=channel, ts=ts, text=msg.get("text", ""), message=dict(msg))

    def _chat_delete(self, args: dict[str, Any], token: str | None) -> _Answer:
        channel, err = self._resolve_channel(args.get("channel"), need_member=False)
        if err:
            return err
        ts = str(args.get("ts", ""))
        if self._messages.pop((channel, ts), None) is None:
            return _error("message_not_found")
        return _ok(channel=channel, ts=ts)

    def _chat_post_ephemeral(self, args: dict[str, Any], token: str | None) -> _Answer:
        _, err = self._resolve_channel(args.get("channel"), need_member=True)
        if err:
            return err
        if not args.get("user"):
            return _error("user_not_found")
        err = self._check_content(args, "chat.postEphemeral")
        return err or _ok(message_ts=self._next_ts())

    # --- history (conversations.history / conversations.replies) -------

    def _listed(self, msg: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        """A stored message as history shows it: metadata only with include_all_metadata."""
        shown: dict[str, Any] = json.loads(json.dumps(msg))
        if not _truthy(args.get("include_all_metadata")):
            shown.pop("metadata", None)
        return shown

    @staticmethod
    def _window(args: dict[str, Any]) -> tuple[float, float, bool, int] | _Answer:
        """(oldest, latest, inclusive, limit) of a history call, or invalid_arguments."""
        try:
            oldest = float(args.get("oldest") or 0)
            latest = float(args.get("latest") or "inf")
            limit = int(args.get("limit") or HISTORY_LIMIT)
        except (TypeError, ValueError):
            return _error("invalid_arguments", "[ERROR] oldest, latest and limit are numbers")
        return oldest, latest, _truthy(args.get("inclusive")), max(1, min(limit, HISTORY_MAX))

    @staticmethod
    def _page(
        found: list[dict[str, Any]], args: dict[str, Any], limit: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """One page of `found` from the cursor on: (messages, has_more + next_cursor)."""
        cursor = str(args.get("cursor") or "")
        try:
            start = int(cursor.removeprefix("page:")) if cursor else 0
        except ValueError:
            start = len(found)  # an unknown cursor: Slack answers invalid_cursor; we end
        page = found[start : start + limit]
        more = start + limit < len(found)
        extra: dict[str, Any] = {"has_more": more}
        extra["response_metadata"] = {"next_cursor": f"page:{start + limit}" if more else ""}
        return page, extra

    def _missing_scope(self, needed: str) -> _Answer | None:
        if needed in self.scopes:
            return None
        answer = _error("missing_scope")
        answer.body.update(needed=needed, provided=",".join(sorted(self.scopes)))
        return answer

    def _conversations_open(self, args: dict[str, Any], token: str | None) -> _Answer:
        """The IM with one user (Slack: `users`, comma-separated; one user is an IM)."""
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if args.get("channel"):
            users = ["U" + str(args["channel"])[1:]]
        if not users:
            return _error("users_list_not_supplied")
        if len(users) > 1:
            return _error("not_enough_users")  # a group DM: not one the fake holds
        if self._users and users[0] not in self._users:
            return _error("user_not_found")
        err = self._missing_scope("im:write")
        return err or _ok(channel={"id": "D" + users[0][1:]})

    def _conversations_history(self, args: dict[str, Any], token: str | None) -> _Answer:
        channel, err = self._resolve_channel(args.get("channel"), need_member=True)
        if err:
            return err
        # docs.slack.dev conversations.history: a bot token reads a conversation it is in with
        # "the relevant *:history scope", for an IM im:history.
        if channel[:1] == "D":
            err = self._missing_scope("im:history")
            if err:
                return err
        window = self._window(args)
        if isinstance(window, _Answer):
            return window
        oldest, latest, inclusive, limit = window
        found = [
            self._listed(msg, args)
            for (where, ts), msg in self._messages.items()
            if where == channel
            and (msg.get("thread_ts", ts) == ts or msg.get("subtype") == "thread_broadcast")
            and _within(float(ts), oldest, latest, inclusive)
        ]
        found.sort(key=lambda m: float(m["ts"]), reverse=True)  # newest first, as Slack
        page, extra = self._page(found, args, limit)
        return _ok(messages=page, pin_count=0, **extra)

    def _conversations_replies(self, args: dict[str, Any], token: str | None) -> _Answer:
        channel, err = self._resolve_channel(args.get("channel"), need_member=True)
        if err:
            return err
        ts = str(args.get("ts") or "")
        parent = self._messages.get((channel, ts))
        if parent is None:
            return _error("thread_not_found")
        window = self._window(args)
        if isinstance(window, _Answer):
            return window
        oldest, latest, inclusive, limit = window
        replies = [
            self._listed(msg, args)
            for (where, reply_ts), msg in self._messages.items()
            if where == channel
            and reply_ts != ts
            and msg.get("thread_ts") == ts
            and _within(float(reply_ts), oldest, latest, inclusive)
        ]
        replies.sort(key=lambda m: float(m["ts"]))  # oldest first, after the parent
        page, extra = self._page([self._listed(parent, args), *replies], args, limit)
        return _ok(messages=page, **extra)

    def _chat_get_permalink(self, args: dict[str, Any], token: str | None) -> _Answer:
        channel = str(args.get("channel", ""))
        ts = str(args.get("message_ts", ""))
        if not channel or (self._channels and channel not in self._channels):
            return _error("channel_not_found")
        if not ts:
            return _error("message_not_found")
        permalink = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return _ok(channel=channel, permalink=permalink)

    # --- views --------------------------------------------------------

    def _check_view(self, view: Any, *, types: tuple[str, ...]) -> _Answer | None:
        refusal = rules.view_refusal(view, types=types)
        return _refused(refusal) if refusal else None

    def _use_trigger(self, args: dict[str, Any]) -> _Answer | None:
        """Exchange the call's trigger_id: once, within TRIGGER_SECONDS of its issue."""
        trigger = str(args.get("trigger_id") or args.get("interactivity_pointer") or "")
        if not trigger:
            return _error("invalid_arguments", "[ERROR] missing required field: trigger_id")
        issued = self._triggers.get(trigger)
        if issued is None:
            return _error("invalid_trigger_id")
        if trigger in self._used_triggers:
            return _error("exchanged_trigger_id")
        if self.clock.monotonic() - issued > TRIGGER_SECONDS:
            return _error("expired_trigger_id")
        self._used_triggers.add(trigger)
        return None

    def _external_id_taken(self, view: dict[str, Any]) -> _Answer | None:
        external_id = view.get("external_id")
        if external_id and external_id in self._external_ids:
            return _error("duplicate_external_id")
        return None

    def _store_view(
        self,
        view: dict[str, Any],
        *,
        view_id: str | None = None,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> dict[str, Any]:
        view_id = view_id or f"V{next(self._ids):08d}"
        stored: dict[str, Any] = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view["type"],
            "title": view.get("title"),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{int(self.clock.time())}.{next(self._ids):08x}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root_view_id or view_id,
            "previous_view_id": previous_view_id,
            "app_id": APP_ID,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        if stored["external_id"]:
            self._external_ids[stored["external_id"]] = view_id
        self._views[view_id] = stored
        copy: dict[str, Any] = json.loads(json.dumps(stored))
        return copy

    def _views_open(self, args: dict[str, Any], token: str | None) -> _Answer:
        view: dict[str, Any] = args.get("view")  # type: ignore[assignment]
        err = self._check_view(view, types=("modal",)) or self._use_trigger(args)
        err = err or self._external_id_taken(view)
        if err:
            return err
        stored = self._store_view(view)
        self._last_modal_id = stored["id"]
        return _ok(view=stored)

    def _views_push(self, args: dict[str, Any], token: str | None) -> _Answer:
        view: dict[str, Any] = args.get("view")  # type: ignore[assignment]
        err = self._check_view(view, types=("modal",)) or self._use_trigger(args)
        err = err or self._external_id_taken(view)
        if err:
            return err
        top = self._trigger_views.get(str(args.get("trigger_id")), self._last_modal_id)
        parent = self._views.get(top or "")
        if parent is not None and self._stack_depth(parent) >= MODAL_STACK_MAX:
            return _error("push_limit_reached")
        stored = self._store_view(
            view,
            root_view_id=parent["root_view_id"] if parent else None,
            previous_view_id=parent["id"] if parent else None,
        )
        self._last_modal_id = stored["id"]
        return _ok(view=stored)

    def _stack_depth(self, view: dict[str, Any]) -> int:
        """How many modals `view` and those under it make (Slack keeps at most 3)."""
        depth = 1
        while view.get("previous_view_id") in self._views:
            view = self._views[view["previous_view_id"]]
            depth += 1
        return depth

    def _views_update(self, args: dict[str, Any], token: str | None) -> _Answer:
        view: dict[str, Any] = args.get("view")  # type: ignore[assignment]
        err = self._check_view(view, types=("modal", "home"))
        if err:
            return err
        view_id = args.get("view_id")
        external_id = args.get("external_id")
        if not view_id and not external_id:
            return _error(
                "invalid_arguments",
                "[ERROR] either view_id or external_id is required",
            )
        if not view_id:
            view_id = self._external_ids.get(str(external_id))
        current = self._views.get(str(view_id)) if view_id else None
        if current is None:
            return _error("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            return _error("hash_conflict")
        stored = self._store_view(
            view,
            view_id=current["id"],
            root_view_id=current["root_view_id"],
            previous_view_id=current["previous_view_id"],
        )
        return _ok(view=stored)

    def _views_publish(self, args: dict[str, Any], token: str | None) -> _Answer:
        view: dict[str, Any] = args.get("view")  # type: ignore[assignment]
        err = self._check_view(view, types=("home",))
        if err:
            return err
        user_id = str(args.get("user_id") or "")
        if not user_id:
            return _error("invalid_arguments", "[ERROR] missing required field: user_id")
        if self._users and user_id not in self._users:
            return _error("user_not_found")
        current = self._views.get(self._home_views.get(user_id, ""))
        if current and args.get("hash") and args["hash"] != current["hash"]:
            return _error("hash_conflict")
        stored = self._store_view(view, view_id=current["id"] if current else None)
        self._home_views[user_id] = stored["id"]
        return _ok(view=stored)

    # --- files (files_upload_v2) ---------------------------------------

    def _files_get_upload_url(self, args: dict[str, Any], token: str | None) -> _Answer:
        """Step 1 of Slack's external upload: `filename` and `length` (bytes, > 0) required."""
        filename = str(args.get("filename") or "").strip()
        raw_length = str(args.get("length") or "").strip()
        if not filename or not raw_length:
            return _error("invalid_arguments", "[ERROR] missing required field: filename/length")
        if not raw_length.isdigit():
            return _error("invalid_arguments", "[ERROR] length must be an integer")
        if int(raw_length) == 0:
            return _error("missing_argument")  # Slack's answer to a length of 0
        file_id = self._next_id("F")
        self._uploads[file_id] = {
            "filename": filename,
            "length": int(raw_length),
            "alt_txt": args.get("alt_txt"),
            "data": None,
            "completed": False,
        }
        return _ok(upload_url=f"{self.url}/upload/{file_id}", file_id=file_id)

    def _file_upload(self, args: dict[str, Any]) -> _Answer:
        """Step 2: the bytes, POSTed to the upload URL (raw or multipart); `OK - <size>`."""
        data: bytes = args.pop("_bytes", b"")
        upload = self._uploads.get(str(args.get("file_id")))
        if upload is None:
            return _Answer(404, "Not Found")
        upload["data"] = data
        return _Answer(200, f"OK - {len(data)}")

    def _files_complete_upload(self, args: dict[str, Any], token: str | None) -> _Answer:
        """Step 3: share the uploaded files (in `channel_id`, a thread with `thread_ts`)."""
        files = args.get("files")
        if not isinstance(files, list) or not files or not all(isinstance(f, dict) for f in files):
            return _error("invalid_arguments", "[ERROR] files must be a list of {id, title}")
        for entry in files:
            upload = self._uploads.get(str(entry.get("id")))
            if upload is None or upload["completed"] or upload["data"] is None:
                return _error("file_not_found")
        channel = args.get("channel_id") or args.get("channels")
        resolved = None
        if channel:
            resolved, err = self._resolve_channel(str(channel).split(",")[0], need_member=True)
            if err:
                return err
        shared = []
        for entry in files:
            upload = self._uploads[str(entry["id"])]
            upload["completed"] = True
            upload["title"] = entry.get("title") or upload["filename"]
            shared.append(
                {
                    "id": entry["id"],
                    "name": upload["filename"],
                    "title": upload["title"],
                    "size": len(upload["data"]),
                }
            )
        if resolved:
            ts = self._next_ts()
            message = self._message_object(
                {
                    "text": args.get("initial_comment", ""),
                    "blocks": None if args.get("initial_comment") else args.get("blocks"),
                    "thread_ts": args.get("thread_ts"),
                },
                ts,
            )
            message["files"] = shared
            self._reply_to(resolved, message, ts)  # shared in a thread: a reply there
            self._messages[(resolved, ts)] = message
        return _ok(files=shared)

    def uploaded(self, file_id: str) -> bytes | None:
        """The bytes uploaded for `file_id` (None: none)."""
        with self._cond:
            upload = self._uploads.get(file_id)
            return None if upload is None else upload["data"]


_Handler = Callable[[FakeSlack, dict[str, Any], str | None], _Answer]

_METHODS: dict[str, _Handler] = {
    "auth.test": FakeSlack._auth_test,
    "views.open": FakeSlack._views_open,
    "views.push": FakeSlack._views_push,
    "views.update": FakeSlack._views_update,
    "views.publish": FakeSlack._views_publish,
    "chat.postMessage": FakeSlack._chat_post_message,
    "chat.update": FakeSlack._chat_update,
    "chat.delete": FakeSlack._chat_delete,
    "chat.postEphemeral": FakeSlack._chat_post_ephemeral,
    "chat.getPermalink": FakeSlack._chat_get_permalink,
    "users.info": FakeSlack._users_info,
    "users.lookupByEmail": FakeSlack._users_lookup_by_email,
    "conversations.info": FakeSlack._conversations_info,
    "conversations.join": FakeSlack._conversations_join,
    "conversations.history": FakeSlack._conversations_history,
    "conversations.open": FakeSlack._conversations_open,
    "conversations.replies": FakeSlack._conversations_replies,
    "files.getUploadURLExternal": FakeSlack._files_get_upload_url,
    "files.completeUploadExternal": FakeSlack._files_complete_upload,
}


def _within(ts: float, oldest: float, latest: float, inclusive: bool) -> bool:
    """Is `ts` inside a history window (bounds excluded unless `inclusive`)?"""
    if inclusive:
        return oldest <= ts <= latest
    return oldest < ts < latest


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Parse a multipart/form-data body; files become ``{filename, size}``."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    args: dict[str, Any] = {}
    for part in msg.iter_parts() if msg.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        raw = part.get_payload(decode=True)
        payload = raw if isinstance(raw, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            args[str(name)] = {"filename": filename, "size": len(payload)}
        else:
            args[str(name)] = payload.decode("utf-8", "replace")
    return args


def _make_handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    """Build the request handler class bound to ``fake``."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "FakeSlack/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the default stderr access log."""

        def do_GET(self) -> None:
            self._serve(b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._serve(self.rfile.read(length) if length else b"")

        def _serve(self, body: bytes) -> None:
            split = urlsplit(self.path)
            path = split.path
            headers = {k.lower(): v for k, v in self.headers.items()}
            args: dict[str, Any] = dict(parse_qsl(split.query, keep_blank_values=True))
            if path.startswith("/api/") and len(path) > len("/api/"):
                method = unquote(path[len("/api/") :])
                args.update(self._parse_body(body))
            elif path.startswith("/response/"):
                method = "response_url"
                args.update(self._parse_body(body))
            elif path.startswith("/upload/"):
                method = "file_upload"
                args.update(file_id=path[len("/upload/") :], size=len(body), _bytes=body)
            else:
                self._write(_Answer(404, {"ok": False, "error": "not_found"}))
                return
            if method != "file_upload":
                _decode_json_fields(args)
            token = None
            auth = self.headers.get("Authorization", "")
            if auth.lower().startswith("bearer "):
                token = auth[len("bearer ") :].strip() or None
            form_token = args.pop("token", None)
            token = token or (str(form_token) if form_token else None)
            self._write(fake._handle(method, args, token, headers, path))

        def _parse_body(self, body: bytes) -> dict[str, Any]:
            if not body:
                return {}
            ctype = self.headers.get("Content-Type", "")
            mime = ctype.split(";", 1)[0].strip().lower()
            if mime == "application/json":
                try:
                    data = json.loads(body.decode("utf-8"))
                except ValueError:
                    return {"_raw": body.decode("utf-8", "replace")}
                return data if isinstance(data, dict) else {"_json": data}
            if mime == "multipart/form-data":
                return _parse_multipart(ctype, body)
            text = body.decode("utf-8", "replace")
            return dict(parse_qsl(text, keep_blank_values=True))

        def _write(self, answer: _Answer) -> None:
            if answer.disconnect:
                self.close_connection = True
                return
            if isinstance(answer.body, str):
                payload = answer.body.encode("utf-8")
                ctype = "text/plain; charset=utf-8"
            else:
                payload = json.dumps(answer.body).encode("utf-8")
                ctype = "application/json; charset=utf-8"
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (e.g. its timeout < our delay)

    return Handler


def _print_call(call: Call) -> None:
    """Standalone mode: print one line per call."""
    args = {k: v for k, v in call.args.items() if k not in ("blocks", "view")}
    extras = []
    if "blocks" in call.args:
        blocks = call.args["blocks"]
        extras.append(f"blocks={len(blocks) if isinstance(blocks, list) else '?'}")
    if isinstance(call.args.get("view"), dict):
        extras.append(f"view={call.args['view'].get('type')}")
    status = "" if call.ok else f" -> {call.status} {_error_of(call)}"
    stamp = time.strftime("%H:%M:%S", time.localtime(call.at))
    print(
        f"{stamp} {call.method} {_short(args)} {' '.join(extras)}{status}".rstrip(),
        flush=True,
    )


def _error_of(call: Call) -> str:
    return str(call.response.get("error", "")) if isinstance(call.response, dict) else ""


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m ditbot.playground.slack_api``."""
    parser = argparse.ArgumentParser(description="Fake Slack Web API server")
    parser.add_argument("--port", type=int, default=0, help="port (0 = any free)")
    opts = parser.parse_args(argv)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    fake = FakeSlack(opts.port, on_call=_print_call).start()
    print(f"FakeSlack listening; base_url={fake.base_url}", flush=True)
    print(f"response_url example: {fake.response_url('manual')}", flush=True)
    print("Ctrl-C to stop.", flush=True)
    try:
        while not done.wait(1.0):  # a timed wait keeps signal handlers responsive
            pass
    finally:
        fake.stop()
        print("FakeSlack stopped.", flush=True)


if __name__ == "__main__":
    main()
