"""What the Slack fake cannot judge, checked by the harness on what ditbot sends.

Slack's own refusals live in the product (ditbot/playground/slack_rules.py): the fake answers
every views.* / chat.* / response_url call that breaks them with Slack's error, and
`refusal_of(call)` turns such an answer into a test failure (SlackDriver.settle). Left here:

- `check_view` / `check_message`: the same rules on a builder's output, for tests that build
  views without Slack;
- `check_ack`: the HTTP answer of the app to Slack (a view_submission's `response_action` view,
  a command's message) never reaches the fake; it is judged by the same rules;
- `check_house_rules`: ditbot's own rules, which Slack would not refuse: a message with blocks
  carries a fallback `text` (STYLE.md 3), and `link_names` is never set (SLACK.md: untrusted
  text would turn into mentions).
"""

from __future__ import annotations

import json
from typing import Any

from ditbot.playground import slack_rules as rules
from ditbot.playground.slack_api import Call

ACK_TEXT = 3000  # a plain-text answer to a command shows as one message text


class LimitError(AssertionError):
    """A payload Slack would refuse, or one ditbot's own rules forbid."""


def _fail(where: str, why: object) -> None:
    raise LimitError(f"{where}: {why}")


def refusal_of(call: Call) -> str | None:
    """Why the fake refused `call` for its payload or its trigger_id (None if it did not)."""
    if call.method == "response_url":
        return str(call.response) if call.status == 400 else None
    body = call.response if isinstance(call.response, dict) else {}
    error = str(body.get("error") or "")
    if call.status != 200 or body.get("ok") or not error:
        return None
    if error not in rules.PAYLOAD_ERRORS | rules.TRIGGER_ERRORS:
        return None  # e.g. hash_conflict, push_limit_reached: answers ditbot handles
    messages = (body.get("response_metadata") or {}).get("messages") or []
    return "; ".join([error, *messages])


def check_view(view: dict[str, Any], where: str = "view") -> None:
    """A modal or Home tab Slack would accept (views.* would not answer invalid_arguments)."""
    refusal = rules.view_refusal(view)
    if refusal:
        _fail(where, refusal)


def check_message(args: dict[str, Any], where: str = "chat.postMessage") -> None:
    """A message Slack would accept through `where` (a chat.* method or response_url), that
    also keeps ditbot's own rules."""
    refusal = rules.message_refusal(args, method=where)
    if refusal:
        _fail(where, refusal)
    if args.get("blocks") and not args.get("text"):
        _fail(where, "a message with blocks needs a fallback text")
    if args.get("link_names") not in (None, False, 0, "0", "false"):
        _fail(where, "link_names would turn client text into mentions")


MESSAGE_METHODS = ("chat.postMessage", "chat.postEphemeral", "chat.update", "response_url")


def check_house_rules(call: Call) -> None:
    """ditbot's own rules on a message it sent (Slack would take it)."""
    if call.method not in MESSAGE_METHODS:
        return
    args = call.args
    if args.get("blocks") and not args.get("text"):
        _fail(call.method, "a message with blocks needs a fallback text")
    if args.get("link_names") not in (None, False, 0, "0", "false"):
        _fail(call.method, "link_names would turn client text into mentions")


def check_ack(body: bytes, content_type: str | None) -> None:
    """An HTTP answer of the app: empty, or JSON Slack understands and accepts."""
    if not body:
        return
    if not (content_type or "").startswith("application/json"):
        text = body.decode("utf-8", "replace")
        if len(text) > ACK_TEXT:
            _fail("ack", f"plain answer over {ACK_TEXT} characters")
        return
    data: dict[str, Any] = json.loads(body)
    action = data.get("response_action")
    if action == "errors":
        for block, message in data.get("errors", {}).items():
            if not message or len(message) > rules.TEXT:
                _fail("ack", f"field error of {block!r} empty or too long")
    elif action in ("update", "push"):
        refusal = rules.view_refusal(data.get("view"), types=("modal",))
        if refusal:
            _fail(f"ack {action}", refusal)
    elif "text" in data or "blocks" in data:
        refusal = rules.message_refusal(data, method="ack")
        if refusal:
            _fail("ack", refusal)
        if data.get("blocks") and not data.get("text"):
            _fail("ack", "a message with blocks needs a fallback text")
