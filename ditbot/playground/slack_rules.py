"""What Slack refuses in the views and messages an app sends, with Slack's error codes.

One judge for the playground's Web API (`ditbot.playground.slack_api`), which answers these
refusals as slack.com does, and for the test harness, which applies the same rules to the
bodies ditbot acks with (Slack reads those itself; no Web API call carries them).

`view_refusal(view)` judges what views.open / push / update / publish carry, and
`message_refusal(args, method)` what chat.postMessage / update / postEphemeral and
response_url carry. Each returns None when Slack would accept the payload, else a `Refusal`:
Slack's error code and, like Slack, `response_metadata.messages` lines of the form
``[ERROR] <what> [json-pointer:<where>]``.

What the rules rest on (checked in 2026 against docs.slack.dev, the slack-sdk and bolt sources
and the issue trackers quoted; ../shared/SLACK.md holds the table):

- Error codes. views.* report a bad view as `invalid_arguments` with response_metadata
  messages (e.g. ``must be less than 25 characters [json-pointer:/view/title/text]``, quoted in
  jeremeamia/slack-block-kit#3); chat.* report bad blocks as `invalid_blocks` with the same
  kind of messages (``must be less than 3001 characters [json-pointer:/blocks/0/text/text]``,
  activepieces#11149), `invalid_blocks_format` when `blocks` is not an array, `no_text`,
  `msg_too_long`, `msg_blocks_too_long`, `invalid_metadata_format` (chat.postMessage's list of
  errors). A response_url answers HTTP 400 with the body ``invalid_blocks`` (sourcegraph#49979,
  java-slack-sdk#1017). The wording of our messages follows Slack's form; only the code is
  Slack's contract.
- Limits: Block Kit reference pages (blocks, elements, composition objects, views): title,
  submit, close 24; 100 blocks per view, 50 per message; text objects 3000 (section text 3000,
  fields 10 x 2000, header 150, context 10 elements, actions 25 elements); button text 75,
  value 2000, url 3000; confirm title 100, text 300, buttons 30; option text 75, value 150,
  description 75; static select options 100, option groups 100; overflow 1 to 5 options;
  radio buttons and checkboxes 10 options; placeholder 150; input label and hint 2000;
  plain_text_input max_length 3000; block_id, action_id, callback_id, external_id 255;
  private_metadata 3000. `submit` is required on a modal with an input block.
- Uniqueness: `action_id` "should be unique among all other action_ids in the containing
  block" and Slack refuses a block where two elements share one (`invalid_blocks`; seen with
  two buttons in one actions block: knacklabs/gantry#458, haruotsu/slack-review-notify#99);
  `block_id` "should be unique for each message and each iteration of a message" and is
  refused when repeated in one view (slack-go/slack#823, "Block ID needs to be unique").
- Text of all blocks of a message, added up (`msg_blocks_too_long`): not documented. Slack's
  staff gave "12,000 text characters with a buffer for block containers" (bolt-js#2509) and a
  message whose texts added up to 11,341 characters was refused (bolt-js#2867), so the limit
  under block overhead is lower than 12,000. We refuse above 11,000 characters of text, the
  highest figure we can defend as safe; ditbot itself budgets 10,000 (../shared/SLACK.md).
  #2867 saw the same blocks accepted through response_url, so response_url is not judged on it.
- Top-level `text`: the old "truncated past 40,000" no longer holds; Slack answers
  `msg_too_long` to texts of about 4,000 characters (seratch in ChatGPT-in-Slack#102, several
  apps' reports), so we refuse above 4,000.
- Message `metadata` must be ``{"event_type": str, "event_payload": {...}}``
  (docs.slack.dev/messaging/message-metadata): else `invalid_metadata_format`.

Beyond these, every block is parsed and serialised with `slack_sdk.models` (its validators
encode the same reference pages), so a block our rules do not spell out is still judged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

__all__ = [
    "ACK_ONLY",
    "MESSAGE_BLOCKS",
    "MESSAGE_BLOCKS_TEXT",
    "MESSAGE_TEXT",
    "PAYLOAD_ERRORS",
    "TRIGGER_ERRORS",
    "VIEW_BLOCKS",
    "Refusal",
    "blocks_text_length",
    "message_refusal",
    "view_refusal",
]

VIEW_BLOCKS = 100
MESSAGE_BLOCKS = 50
TITLE = 24
TEXT = 3000
FIELD_TEXT = 2000
SECTION_FIELDS = 10
HEADER = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
URL = 3000
CONFIRM_TITLE = 100
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTION_DESCRIPTION = 75
STATIC_OPTIONS = 100
OPTION_GROUPS = 100
OVERFLOW_OPTIONS = 5
CHOICE_OPTIONS = 10  # radio_buttons, checkboxes
PLACEHOLDER = 150
LABEL = 2000
INPUT_MAX_LENGTH = 3000
ID = 255
PRIVATE_METADATA = 3000
MESSAGE_BLOCKS_TEXT = 11_000  # see the module docstring: below the 11,341 seen refused
MESSAGE_TEXT = 4000

#: Errors that mean "this payload is wrong" (not "try later" or "not allowed here"): a test
#: that meets one of them has found a payload ditbot must not send.
PAYLOAD_ERRORS = frozenset(
    {
        "invalid_arguments",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_blocks_too_long",
        "msg_too_long",
        "no_text",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "duplicate_external_id",
    }
)
#: A trigger_id used late (3 s), twice, or never issued.
TRIGGER_ERRORS = frozenset({"expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id"})
#: Keys of a message that only an ack or a response_url may carry.
ACK_ONLY = frozenset({"response_type", "replace_original", "delete_original"})

_SELECTS_WITH_OPTIONS = frozenset({"static_select", "multi_static_select"})
_CHOICES = frozenset({"radio_buttons", "checkboxes"})
_TEXT_INPUTS = frozenset(
    {"plain_text_input", "email_text_input", "url_text_input", "number_input", "rich_text_input"}
)
_PLAIN_KEYS = frozenset({"type", "text", "emoji"})
_MRKDWN_KEYS = frozenset({"type", "text", "verbatim"})


@dataclass(frozen=True)
class Refusal:
    """Slack's answer to a payload it refuses: `error`, and the lines that say why."""

    error: str
    messages: tuple[str, ...] = ()

    def body(self) -> dict[str, Any]:
        """The JSON body Slack answers with (HTTP 200, ``ok: false``)."""
        answer: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            answer["response_metadata"] = {"messages": list(self.messages)}
        return answer

    def __str__(self) -> str:
        return "; ".join((self.error, *self.messages))


@dataclass
class _Problems:
    """The `[ERROR] ... [json-pointer:...]` lines found so far."""

    lines: list[str] = field(default_factory=list)

    def add(self, pointer: str, what: str) -> None:
        self.lines.append(f"[ERROR] {what} [json-pointer:{pointer}]")

    def too_long(self, pointer: str, value: Any, limit: int) -> bool:
        if isinstance(value, str) and len(value) > limit:
            self.add(pointer, f"must be less than {limit + 1} characters")
            return True
        return False

    def too_many(self, pointer: str, items: Any, limit: int) -> bool:
        if isinstance(items, list) and len(items) > limit:
            self.add(pointer, f"no more than {limit} items allowed")
            return True
        return False


# -- text objects --------------------------------------------------------------------------
def _text(
    node: Any,
    p: _Problems,
    at: str,
    *,
    limit: int = TEXT,
    plain_only: bool = False,
    required: bool = True,
) -> None:
    """A text object: plain_text or mrkdwn, a non-empty text within `limit`."""
    if node is None:
        if required:
            p.add(at, "missing required field")
        return
    if not isinstance(node, dict):
        p.add(at, "must be a text object")
        return
    kind = node.get("type")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if kind not in allowed:
        p.add(f"{at}/type", f"must be one of {list(allowed)}")
        return
    extra = set(node) - (_PLAIN_KEYS if kind == "plain_text" else _MRKDWN_KEYS)
    for key in sorted(extra):
        p.add(f"{at}/{key}", f"invalid additional property: {key}")
    text = node.get("text")
    if not isinstance(text, str) or not text:
        p.add(f"{at}/text", "must be more than 0 characters")
        return
    p.too_long(f"{at}/text", text, limit)


# -- elements -------------------------------------------------------------------------------
def _confirm(node: Any, p: _Problems, at: str) -> None:
    if not isinstance(node, dict):
        p.add(at, "must be a confirmation dialog object")
        return
    _text(node.get("title"), p, f"{at}/title", limit=CONFIRM_TITLE, plain_only=True)
    _text(node.get("text"), p, f"{at}/text", limit=CONFIRM_TEXT)
    _text(node.get("confirm"), p, f"{at}/confirm", limit=CONFIRM_BUTTON, plain_only=True)
    _text(node.get("deny"), p, f"{at}/deny", limit=CONFIRM_BUTTON, plain_only=True)


def _option(node: Any, p: _Problems, at: str, *, plain_only: bool) -> None:
    if not isinstance(node, dict):
        p.add(at, "must be an option object")
        return
    _text(node.get("text"), p, f"{at}/text", limit=OPTION_TEXT, plain_only=plain_only)
    value = node.get("value")
    if not isinstance(value, str) or not value:
        p.add(f"{at}/value", "must be more than 0 characters")
    else:
        p.too_long(f"{at}/value", value, OPTION_VALUE)
    if "description" in node:
        _text(
            node["description"],
            p,
            f"{at}/description",
            limit=OPTION_DESCRIPTION,
            plain_only=plain_only,
        )


def _options(node: dict[str, Any], p: _Problems, at: str, kind: str) -> None:
    """The options (or option groups) of a select, an overflow, radio buttons, checkboxes."""
    plain_only = kind not in _CHOICES  # radio buttons and checkboxes may carry mrkdwn
    options = node.get("options")
    groups = node.get("option_groups")
    if kind in _SELECTS_WITH_OPTIONS:
        if options is None and groups is None:
            p.add(at, "must provide either options or option_groups")
        p.too_many(f"{at}/options", options, STATIC_OPTIONS)
        if p.too_many(f"{at}/option_groups", groups, OPTION_GROUPS):
            return
        for g, group in enumerate(groups if isinstance(groups, list) else []):
            where = f"{at}/option_groups/{g}"
            if not isinstance(group, dict):
                p.add(where, "must be an option group object")
                continue
            _text(group.get("label"), p, f"{where}/label", limit=OPTION_TEXT, plain_only=True)
            p.too_many(f"{where}/options", group.get("options"), STATIC_OPTIONS)
            for o, option in enumerate(group.get("options") or []):
                _option(option, p, f"{where}/options/{o}", plain_only=True)
    elif kind == "overflow":
        if not isinstance(options, list) or not options:
            p.add(f"{at}/options", "must provide at least 1 items")
        p.too_many(f"{at}/options", options, OVERFLOW_OPTIONS)
    elif kind in _CHOICES:
        if not isinstance(options, list) or not options:
            p.add(f"{at}/options", "must provide at least 1 items")
        p.too_many(f"{at}/options", options, CHOICE_OPTIONS)
    if not isinstance(options, list):
        return
    for o, option in enumerate(options):
        _option(option, p, f"{at}/options/{o}", plain_only=plain_only)
    for key in ("initial_option",):
        if key in node:
            _option(node[key], p, f"{at}/{key}", plain_only=plain_only)
    for o, option in enumerate(node.get("initial_options") or []):
        _option(option, p, f"{at}/initial_options/{o}", plain_only=plain_only)


def _element(node: Any, p: _Problems, at: str) -> None:
    """An interactive element (button, select, overflow, input, picker...)."""
    if not isinstance(node, dict):
        p.add(at, "must be a block element object")
        return
    kind = str(node.get("type") or "")
    if not kind:
        p.add(f"{at}/type", "missing required field")
        return
    p.too_long(f"{at}/action_id", node.get("action_id"), ID)
    if "placeholder" in node:
        _text(node["placeholder"], p, f"{at}/placeholder", limit=PLACEHOLDER, plain_only=True)
    if "confirm" in node:
        _confirm(node["confirm"], p, f"{at}/confirm")
    if kind == "button":
        _text(node.get("text"), p, f"{at}/text", limit=BUTTON_TEXT, plain_only=True)
        p.too_long(f"{at}/value", node.get("value"), BUTTON_VALUE)
        p.too_long(f"{at}/url", node.get("url"), URL)
        style = node.get("style")
        if style is not None and style not in ("primary", "danger"):
            p.add(f"{at}/style", "must be one of [primary, danger]")
    elif kind in _SELECTS_WITH_OPTIONS or kind == "overflow" or kind in _CHOICES:
        _options(node, p, at, kind)
    elif kind in _TEXT_INPUTS:
        for key in ("max_length", "min_length"):
            value = node.get(key)
            if isinstance(value, int) and value > INPUT_MAX_LENGTH:
                p.add(f"{at}/{key}", f"must be at most {INPUT_MAX_LENGTH}")


def _action_ids(elements: Iterable[Any], p: _Problems, at: str) -> None:
    """Two elements of one block may not share an action_id."""
    seen: dict[str, int] = {}
    for index, element in enumerate(elements):
        if not isinstance(element, dict) or not element.get("action_id"):
            continue
        action_id = str(element["action_id"])
        if action_id in seen:
            p.add(
                f"{at}/{index}/action_id",
                f"action_id '{action_id}' is already used by element {seen[action_id]} "
                "of this block; it must be unique within a block",
            )
        else:
            seen[action_id] = index


# -- blocks ---------------------------------------------------------------------------------
def _block(node: dict[str, Any], p: _Problems, at: str) -> None:
    kind = node.get("type")
    p.too_long(f"{at}/block_id", node.get("block_id"), ID)
    if kind == "section":
        if node.get("text") is None and not node.get("fields"):
            p.add(at, "must provide either text or fields")
        _text(node.get("text"), p, f"{at}/text", required=False)
        fields = node.get("fields")
        if fields is not None:
            p.too_many(f"{at}/fields", fields, SECTION_FIELDS)
            for f, item in enumerate(fields if isinstance(fields, list) else []):
                _text(item, p, f"{at}/fields/{f}", limit=FIELD_TEXT)
        if "accessory" in node:
            _element(node["accessory"], p, f"{at}/accessory")
    elif kind == "header":
        _text(node.get("text"), p, f"{at}/text", limit=HEADER, plain_only=True)
    elif kind == "context":
        elements = node.get("elements")
        if not isinstance(elements, list) or not elements:
            p.add(f"{at}/elements", "must provide at least 1 items")
            return
        p.too_many(f"{at}/elements", elements, CONTEXT_ELEMENTS)
        for e, element in enumerate(elements):
            if isinstance(element, dict) and element.get("type") in ("plain_text", "mrkdwn"):
                _text(element, p, f"{at}/elements/{e}")
    elif kind == "actions":
        elements = node.get("elements")
        if not isinstance(elements, list) or not elements:
            p.add(f"{at}/elements", "must provide at least 1 items")
            return
        p.too_many(f"{at}/elements", elements, ACTIONS_ELEMENTS)
        for e, element in enumerate(elements):
            _element(element, p, f"{at}/elements/{e}")
        _action_ids(elements, p, f"{at}/elements")
    elif kind == "input":
        _text(node.get("label"), p, f"{at}/label", limit=LABEL, plain_only=True)
        if "hint" in node:
            _text(node["hint"], p, f"{at}/hint", limit=LABEL, plain_only=True)
        if not isinstance(node.get("element"), dict):
            p.add(f"{at}/element", "missing required field")
        else:
            _element(node["element"], p, f"{at}/element")


def _sdk_judges(node: dict[str, Any], p: _Problems, at: str) -> None:
    """What slack_sdk's models refuse in one block (the reference pages, as code)."""
    try:
        block = Block.parse(node)
        if block is not None:
            block.to_dict()
    except SlackObjectFormationError as error:
        p.add(at, str(error))
    except Exception as error:  # any shape the models cannot read: Slack says invalid_blocks
        p.add(at, f"cannot be read as a block ({type(error).__name__}: {error})")


def _blocks(blocks: Any, p: _Problems, at: str, *, limit: int) -> None:
    if not isinstance(blocks, list):
        p.add(at, "must be an array")
        return
    if p.too_many(at, blocks, limit):
        return
    block_ids: dict[str, int] = {}
    for index, node in enumerate(blocks):
        where = f"{at}/{index}"
        if not isinstance(node, dict) or not node.get("type"):
            p.add(where, "must be a block object with a type")
            continue
        found = len(p.lines)
        _block(node, p, where)
        if len(p.lines) == found:
            _sdk_judges(node, p, where)
        block_id = node.get("block_id")
        if isinstance(block_id, str) and block_id:
            if block_id in block_ids:
                p.add(
                    f"{where}/block_id",
                    f"block_id '{block_id}' is already used by block {block_ids[block_id]}; "
                    "it must be unique",
                )
            else:
                block_ids[block_id] = index


def _texts(node: Any) -> Iterator[str]:
    """Every string under a `text` key of a block tree (text objects, rich text)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


def blocks_text_length(blocks: Any) -> int:
    """The text of `blocks` added up, as `msg_blocks_too_long` counts it (our model of it)."""
    return sum(len(text) for text in _texts(blocks))


# -- the two judges -------------------------------------------------------------------------
def view_refusal(
    view: Any, *, types: tuple[str, ...] = ("modal", "home"), at: str = "/view"
) -> Refusal | None:
    """None if Slack takes `view` (of one of `types`), else `invalid_arguments` and why."""
    p = _Problems()
    if isinstance(view, str):
        try:
            view = json.loads(view)
        except ValueError:
            p.add(at, "must be a valid JSON object")
    if not isinstance(view, dict):
        if not p.lines:
            p.add(at, "missing required field: view")
        return Refusal("invalid_arguments", tuple(p.lines))
    kind = view.get("type")
    if kind not in types:
        p.add(f"{at}/type", f"must be one of {list(types)}")
        return Refusal("invalid_arguments", tuple(p.lines))
    if kind == "modal":
        _text(view.get("title"), p, f"{at}/title", limit=TITLE, plain_only=True)
    for key in ("submit", "close"):
        if key in view and kind == "modal":
            _text(view[key], p, f"{at}/{key}", limit=TITLE, plain_only=True)
        elif key in view and kind == "home":
            p.add(f"{at}/{key}", f"invalid additional property: {key}")
    blocks = view.get("blocks", [])
    _blocks(blocks, p, f"{at}/blocks", limit=VIEW_BLOCKS)
    if (
        kind == "modal"
        and isinstance(blocks, list)
        and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        and not view.get("submit")
    ):
        p.add(f"{at}/submit", "submit is required when an input block is within the blocks")
    p.too_long(f"{at}/private_metadata", view.get("private_metadata"), PRIVATE_METADATA)
    p.too_long(f"{at}/callback_id", view.get("callback_id"), ID)
    p.too_long(f"{at}/external_id", view.get("external_id"), ID)
    return Refusal("invalid_arguments", tuple(p.lines)) if p.lines else None


def _metadata_refusal(metadata: Any) -> Refusal | None:
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return Refusal("invalid_metadata_format")
    if (
        not isinstance(metadata, dict)
        or not isinstance(metadata.get("event_type"), str)
        or not metadata["event_type"]
        or not isinstance(metadata.get("event_payload"), dict)
    ):
        return Refusal("invalid_metadata_format")
    return None


def message_refusal(args: dict[str, Any], *, method: str = "chat.postMessage") -> Refusal | None:
    """None if Slack takes the message `args` of `method`, else Slack's error and why.

    `method` is the Web API method, or ``response_url``/``ack`` for a message sent through a
    response_url or in the HTTP answer to a command.
    """
    blocks = args.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return Refusal("invalid_blocks_format")
    text = args.get("text")
    if blocks is not None and not isinstance(blocks, list):
        return Refusal("invalid_blocks_format")
    if not text and not blocks and not args.get("attachments") and not args.get("delete_original"):
        return Refusal("no_text")
    if blocks:
        p = _Problems()
        _blocks(blocks, p, "/blocks", limit=MESSAGE_BLOCKS)
        if p.lines:
            return Refusal("invalid_blocks", tuple(p.lines))
        total = blocks_text_length(blocks)
        if method not in ("response_url", "ack") and total > MESSAGE_BLOCKS_TEXT:
            return Refusal(
                "msg_blocks_too_long",
                (
                    f"[ERROR] the text of the blocks adds up to {total} characters, "
                    f"more than {MESSAGE_BLOCKS_TEXT} [json-pointer:/blocks]",
                ),
            )
    if isinstance(text, str) and len(text) > MESSAGE_TEXT:
        return Refusal("msg_too_long")
    if args.get("metadata") is not None:
        return _metadata_refusal(args["metadata"])
    return None
