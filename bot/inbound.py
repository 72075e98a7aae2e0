"""What a Slack request must be before ditbot acts on it (no I/O, no Flask).

- `SignatureCheck`: the request is Slack's, signed with SLACK_SIGNING_SECRET, fresh (300 s) and
  seen once. Every way it can fail (a timestamp that is not a number, a signature that is not
  `v0=` and 64 hex digits, missing headers, a stale or replayed request) is a refusal, never an
  exception: bolt's own check raises on some of them (`int("abc")`, `hmac.compare_digest` on a
  non-ASCII str), and an exception in bolt's middleware reaches the app's error handler as if
  the request were real.
- `shape_problem`: the body parses the way bolt parses it, and the parts bolt and ditbot read
  have the types they expect (bolt reads `authorizations[0]`, `team.id`, `event.type`... without
  checking, and a body of another shape ends in an AttributeError: a 500 and a traceback).
- `response_url_allowed` / `GuardedRespond`: ditbot only ever POSTs to a `response_url` of Slack
  (`https://hooks.slack.com/`) or of the configured Slack API host (`Settings.response_url_bases`).

Every refusal carries a short reason of our own words, fit for one bounded log line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from slack_bolt.context.respond import Respond
from slack_sdk.webhook import WebhookResponse

MAX_AGE = 300  # seconds; Slack's rule (../shared/SLACK.md, Signatures)
MAX_DEPTH = 64  # Slack's deepest payloads (rich text in a message event) nest about 12 levels
MAX_FORM_FIELDS = 200
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


# bolt context key: the request went through bolt's own checks (signature, authorization) and
# ditbot's first middleware (bot/middleware.py `checked_requests`). Without it, a request is
# not known to be Slack's and ditbot's error handler answers 401 and nothing else.
CHECKED = "ditbot_checked"


class UnverifiedApp(ValueError):
    """A Slack endpoint over HTTP without a signing secret: it would act on forged requests."""


def signing_secret(secret: str | None) -> str:
    """`secret`, or UnverifiedApp when there is none to verify requests with."""
    if not secret:
        raise UnverifiedApp(
            "SLACK_SIGNING_SECRET is not set: a Slack app served over HTTP must verify every "
            "request (or use Socket Mode)"
        )
    return secret


class Refused(Exception):
    """The request is refused: `status` is the HTTP answer, `reason` says why (one line)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# -- signature -----------------------------------------------------------------------------
class SignatureCheck:
    """Slack's v0 signature, checked so that no input can make it raise; replays refused.

    A request whose signature verified is remembered for MAX_AGE seconds (its timestamp and
    signature), so the same request sent again is refused: within the 300 s window Slack's
    signature alone would accept it. Only verified requests are remembered, so only Slack can
    fill the memory. The memory is this process's (another instance does not see it).
    """

    def __init__(self, secret: str | None, *, clock: Callable[[], float] = time.time) -> None:
        self._key = signing_secret(secret).encode()
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def verify(self, timestamp: str | None, signature: str | None, body: bytes) -> None:
        """Return when `body` is signed by Slack, fresh and new; raise Refused(401) otherwise.

        `timestamp` and `signature` are the X-Slack-Request-Timestamp and X-Slack-Signature
        headers (None when absent)."""
        if timestamp is None or signature is None:
            raise Refused(401, "unsigned: no X-Slack-Request-Timestamp or X-Slack-Signature")
        if not _TIMESTAMP.fullmatch(timestamp):
            raise Refused(401, "bad signature: the timestamp is not unix seconds")
        if not _SIGNATURE.fullmatch(signature):
            raise Refused(401, "bad signature: not v0= and 64 hex digits")
        now = self._clock()
        if abs(now - int(timestamp)) > MAX_AGE:
            raise Refused(401, "bad signature: the timestamp is more than 300 s away")
        base = b"v0:" + timestamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self._key, base, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise Refused(401, "bad signature: it does not match SLACK_SIGNING_SECRET")
        self._remember(f"{timestamp}:{signature}", now)

    def _remember(self, key: str, now: float) -> None:
        with self._lock:
            if key in self._seen:
                raise Refused(401, "replayed: this signed request was already received")
            cutoff = now - 2 * MAX_AGE
            if self._seen and next(iter(self._seen.values())) < cutoff:
                self._seen = {k: at for k, at in self._seen.items() if at >= cutoff}
            self._seen[key] = now


# -- shape ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Kind:
    name: str
    types: tuple[type, ...]


_OBJECT = _Kind("an object", (dict,))
_TEXT = _Kind("a string", (str,))
_ID = _Kind("a string or an object", (str, dict))
_LIST = _Kind("a list of objects", (list,))
_FLAG = _Kind("a boolean", (bool, str))

# What bolt (slack_bolt/request/internals.py, listener matchers) and ditbot (bot/parsing.py)
# read without checking, and the type each must have when present and not null.
_ENVELOPE: dict[str, _Kind] = {
    "type": _TEXT,
    "command": _TEXT,
    "token": _TEXT,
    "team_id": _TEXT,
    "user_id": _TEXT,
    "channel_id": _TEXT,
    "enterprise_id": _TEXT,
    "api_app_id": _TEXT,
    "trigger_id": _TEXT,
    "callback_id": _TEXT,
    "event_id": _TEXT,
    "response_url": _TEXT,
    "action_id": _TEXT,
    "block_id": _TEXT,
    "value": _TEXT,
    "team": _ID,
    "enterprise": _ID,
    "user": _ID,
    "channel": _ID,
    "is_enterprise_install": _FLAG,
    "is_ext_shared_channel": _FLAG,
    "event": _OBJECT,
    "view": _OBJECT,
    "container": _OBJECT,
    "message": _OBJECT,
    "previous_message": _OBJECT,
    "item": _OBJECT,
    "assistant_thread": _OBJECT,
    "function_data": _OBJECT,
    "state": _OBJECT,
    "authorizations": _LIST,
    "actions": _LIST,
    "response_urls": _LIST,
}
_EVENT: dict[str, _Kind] = {
    "type": _TEXT,
    "subtype": _TEXT,
    "tab": _TEXT,
    "bot_id": _TEXT,
    "user_team": _TEXT,
    "team": _TEXT,
    "user": _ID,
    "channel": _ID,
    "item": _OBJECT,
    "message": _OBJECT,
    "previous_message": _OBJECT,
    "assistant_thread": _OBJECT,
}
_VIEW: dict[str, _Kind] = {
    "id": _TEXT,
    "hash": _TEXT,
    "type": _TEXT,
    "callback_id": _TEXT,
    "private_metadata": _TEXT,
    "team_id": _TEXT,
    "app_installed_team_id": _TEXT,
    "state": _OBJECT,
    "blocks": _LIST,
}
_EACH = {"authorizations": _OBJECT, "actions": _OBJECT, "response_urls": _OBJECT}


def parse_body(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """The body as bolt parses it (`slack_bolt.request.internals.parse_body`), strictly.

    JSON when the content type says so or the body starts with `{`; else a form, whose
    `payload` field (interactivity) is JSON; else the form itself (slash commands). Here a
    form must really be urlencoded and JSON must really parse, into an object. (bolt takes
    any form that merely contains the word "payload", say `/dit payload`, for an interactive
    payload and reads it as {}: the route hands bolt this body instead.)
    """
    if not raw:
        raise Refused(400, "empty body")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the body is not UTF-8") from None
    if content_type == "application/json" or text.startswith("{"):
        data = _json(text, "the body")
    else:
        form = _form(text)
        if "payload" in form:
            data = _json(form["payload"], "the payload field")
        elif "command" in form or "ssl_check" in form:
            data = form
        else:
            raise Refused(400, "a form that is neither a slash command nor a payload")
    if not isinstance(data, dict):
        raise Refused(400, "the payload is not a JSON object")
    return data


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _form(text: str) -> dict[str, str]:
    if _BAD_ESCAPE.search(text):  # parse_qsl keeps a stray % as it is: a body nobody encoded
        raise Refused(400, "the body is not an urlencoded form")
    try:
        fields = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (ValueError, UnicodeDecodeError):  # not name=value pairs, not UTF-8, too many fields
        raise Refused(400, "the body is not an urlencoded form") from None
    return dict(fields)


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise Refused(400, f"{what} is nested too deeply") from None
    except ValueError:
        raise Refused(400, f"{what} is not valid JSON") from None


def shape_problem(body: dict[str, Any]) -> str | None:
    """What is wrong with the shape of a parsed payload (`parse_body`), or None."""
    if "command" not in body and "ssl_check" not in body and not body.get("type"):
        return "the payload has no type"
    problem = _fields(body, _ENVELOPE, "")
    if problem:
        return problem
    for name, kind in _EACH.items():
        for index, item in enumerate(body.get(name) or ()):
            if not isinstance(item, kind.types):
                return f"{name}[{index}] must be {kind.name}"
    for item in body.get("response_urls") or ():
        if not isinstance(item.get("response_url"), str):
            return "response_urls[].response_url must be a string"
    event = body.get("event")
    if isinstance(event, dict):
        problem = _fields(event, _EVENT, "event.") or (
            None if isinstance(event.get("type"), str) else "event.type must be a string"
        )
        if problem:
            return problem
    view = body.get("view")
    if isinstance(view, dict):
        problem = _fields(view, _VIEW, "view.") or _view_state(view)
        if problem:
            return problem
    if _deeper_than(body, MAX_DEPTH):
        return f"the payload nests more than {MAX_DEPTH} levels"
    return None


def _fields(node: dict[str, Any], kinds: dict[str, _Kind], prefix: str) -> str | None:
    for name, kind in kinds.items():
        value = node.get(name)
        if value is not None and not isinstance(value, kind.types):
            return f"{prefix}{name} must be {kind.name}"
    return None


def _view_state(view: dict[str, Any]) -> str | None:
    """`view.state.values` is {block_id: {action_id: {element state}}} (bot/parsing.py)."""
    values = (view.get("state") or {}).get("values")
    if values is None:
        return None
    if not isinstance(values, dict):
        return "view.state.values must be an object"
    for block in values.values():
        if not isinstance(block, dict) or not all(isinstance(e, dict) for e in block.values()):
            return "view.state.values must map block ids to {action_id: object}"
    return None


def _deeper_than(root: Any, limit: int) -> bool:
    """True when `root` nests containers more than `limit` levels (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children: Iterable[Any] = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def check_request(
    check: SignatureCheck,
    headers: Mapping[str, str | None],
    raw: bytes,
    content_type: str | None,
) -> dict[str, Any]:
    """Everything a request to POST /slack/events must be before bolt sees it (Refused);
    returns its parsed body.

    `headers`: the request's, looked up as given (Flask's are case-insensitive)."""
    check.verify(headers.get("X-Slack-Request-Timestamp"), headers.get("X-Slack-Signature"), raw)
    body = parse_body(raw, content_type)
    problem = shape_problem(body)
    if problem:
        raise Refused(400, problem)
    return body


# -- response_url --------------------------------------------------------------------------
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an absolute http(s) URL without user info; None otherwise."""
    if not url.isascii() or any(c in url for c in "\\ \t\r\n"):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def response_url_allowed(url: object, bases: Iterable[str]) -> bool:
    """True when `url` is on the scheme, host and port of one of `bases`."""
    if not isinstance(url, str):
        return False
    origin = _origin(url)
    return origin is not None and any(origin == _origin(base) for base in bases)


class ResponseUrlRefused(ValueError):
    """A POST to a response_url that is not Slack's was asked for: nothing was sent."""


class GuardedRespond(Respond):
    """bolt's `respond()`, which refuses to POST anywhere but to `bases` (see module doc)."""

    def __init__(self, *, response_url: str | None, bases: tuple[str, ...], **kwargs: Any):
        super().__init__(response_url=response_url, **kwargs)
        self.bases = bases

    def __call__(self, *args: Any, **kwargs: Any) -> WebhookResponse:
        if self.response_url is not None and not response_url_allowed(
            self.response_url, self.bases
        ):
            raise ResponseUrlRefused("response_url is not Slack's: nothing was sent")
        return super().__call__(*args, **kwargs)
