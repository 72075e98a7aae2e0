"""Slack's limits (../shared/SLACK.md), checked on every view and message ditbot emits.

`check_call(call)` is applied by the harness to every views.* / chat.* / response_url call the
fake records, and `check_ack` to every HTTP answer of the app. Each check first lets
slack_sdk's models parse and validate the payload, then applies the limits slack_sdk does not.
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

VIEW_BLOCKS = 100
MESSAGE_BLOCKS = 50
TITLE = 24
TEXT = 3000
OPTIONS = 100
OPTION_TEXT = 75
OPTION_VALUE = 150
BUTTON_TEXT = 75
HEADER = 150
ID = 255
PRIVATE_METADATA = 3000
MESSAGE_TEXT = 40_000


class LimitError(AssertionError):
    """A payload Slack would refuse."""


def _fail(where: str, why: str) -> None:
    raise LimitError(f"{where}: {why}")


def _walk(node: Any, path: str, visit: Any) -> None:
    visit(node, path)
    if isinstance(node, dict):
        for key, value in node.items():
            _walk(value, f"{path}.{key}", visit)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _walk(value, f"{path}[{index}]", visit)


def _check_nodes(root: Any, where: str) -> None:
    def visit(node: Any, path: str) -> None:
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        if kind in ("plain_text", "mrkdwn"):
            text = node.get("text")
            if not isinstance(text, str) or not text:
                _fail(where, f"{path}: empty text object")
            elif len(text) > TEXT:
                _fail(where, f"{path}: text of {len(text)} characters (max {TEXT})")
        if kind == "header" and len(node.get("text", {}).get("text", "")) > HEADER:
            _fail(where, f"{path}: header over {HEADER} characters")
        if kind == "button":
            if len(node.get("text", {}).get("text", "")) > BUTTON_TEXT:
                _fail(where, f"{path}: button text over {BUTTON_TEXT}")
        for key in ("block_id", "action_id", "callback_id"):
            if key in node and len(str(node[key])) > ID:
                _fail(where, f"{path}.{key} over {ID} characters")
        options = node.get("options")
        if isinstance(options, list) and kind in (
            "static_select",
            "multi_static_select",
            "overflow",
            "radio_buttons",
            "checkboxes",
        ):
            if len(options) > OPTIONS:
                _fail(where, f"{path}: {len(options)} options (max {OPTIONS})")
        if "value" in node and "text" in node and isinstance(node.get("text"), dict):
            # an option object
            if kind is None:
                if len(node["text"].get("text", "")) > OPTION_TEXT:
                    _fail(
                        where, f"{path}: option text over {OPTION_TEXT}: {node['text']['text']!r}"
                    )
                if len(str(node["value"])) > OPTION_VALUE:
                    _fail(where, f"{path}: option value over {OPTION_VALUE}")
        if kind == "plain_text_input" and node.get("max_length", 0) > TEXT:
            _fail(where, f"{path}: max_length over {TEXT}")
        if kind == "context" and len(node.get("elements", [])) > 10:
            _fail(where, f"{path}: more than 10 context elements")
        if kind == "actions" and len(node.get("elements", [])) > 25:
            _fail(where, f"{path}: more than 25 actions elements")

    _walk(root, "", visit)


def check_view(view: dict[str, Any], where: str = "view") -> None:
    """A modal or Home tab Slack would accept."""
    try:
        View(**view).to_dict()  # slack_sdk parses every block and validates lengths
    except Exception as error:  # slack_sdk raises SlackObjectFormationError and others
        _fail(where, f"slack_sdk refuses the view: {error}")
    blocks = view.get("blocks", [])
    if len(blocks) > VIEW_BLOCKS:
        _fail(where, f"{len(blocks)} blocks (max {VIEW_BLOCKS})")
    for key in ("title", "submit", "close"):
        if key in view and len(view[key]["text"]) > TITLE:
            _fail(where, f"{key} over {TITLE} characters: {view[key]['text']!r}")
    if view.get("type") == "modal":
        if not view.get("title"):
            _fail(where, "a modal needs a title")
        if any(b.get("type") == "input" for b in blocks) and not view.get("submit"):
            _fail(where, "a modal with input blocks needs a submit button")
    if len(view.get("private_metadata") or "") > PRIVATE_METADATA:
        _fail(where, f"private_metadata over {PRIVATE_METADATA}")
    _check_nodes(view, where)


def check_message(args: dict[str, Any], where: str = "message") -> None:
    """A message (chat.*, response_url, command ack) Slack would accept, with fallback text."""
    blocks = args.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    text = args.get("text")
    if blocks:
        if not text:
            _fail(where, "a message with blocks needs a fallback text")
        if len(blocks) > MESSAGE_BLOCKS:
            _fail(where, f"{len(blocks)} blocks (max {MESSAGE_BLOCKS})")
        try:
            for block in Block.parse_all(blocks):
                block.to_dict()
        except Exception as error:
            _fail(where, f"slack_sdk refuses the blocks: {error}")
        _check_nodes(blocks, where)
    elif not text and not args.get("delete_original"):
        _fail(where, "a message needs text or blocks")
    if text and len(str(text)) > MESSAGE_TEXT:
        _fail(where, f"text over {MESSAGE_TEXT}")
    if args.get("link_names") not in (None, False, 0, "0", "false"):
        _fail(where, "link_names would turn client text into mentions")


VIEW_METHODS = ("views.open", "views.push", "views.update", "views.publish")
MESSAGE_METHODS = ("chat.postMessage", "chat.postEphemeral", "chat.update", "response_url")


def check_call(method: str, args: dict[str, Any]) -> None:
    """Check one recorded Web API call (no-op for methods that carry no content)."""
    if method in VIEW_METHODS:
        check_view(args.get("view") or {}, where=method)
    elif method in MESSAGE_METHODS:
        check_message(args, where=method)


def check_ack(body: bytes, content_type: str | None) -> None:
    """An HTTP answer of the app: empty, or JSON Slack understands."""
    if not body:
        return
    if not (content_type or "").startswith("application/json"):
        text = body.decode("utf-8", "replace")
        if len(text) > TEXT:
            _fail("ack", "plain answer over 3000 characters")
        return
    data = json.loads(body)
    action = data.get("response_action")
    if action == "errors":
        for block, message in data.get("errors", {}).items():
            if not message or len(message) > TEXT:
                _fail("ack", f"field error of {block!r} empty or too long")
    elif action in ("update", "push"):
        check_view(data.get("view") or {}, where=f"ack {action}")
    elif "text" in data or "blocks" in data:
        check_message(data, where="ack")
