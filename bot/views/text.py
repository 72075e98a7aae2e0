"""Safe text for Block Kit: escape client text, truncate after escaping, keep within limits."""

from __future__ import annotations

from typing import Any

TEXT_MAX = 3000
OPTION_MAX = 75
TITLE_MAX = 24
BUTTON_MAX = 75
HEADER_MAX = 150


def escape(text: str | None) -> str:
    """Escape `&`, `<`, `>` (ampersand first) so text can never form a mention or a link."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str | None, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when cut."""
    value = text or ""
    if len(value) <= limit:
        return value
    cut = value[: max(limit - 1, 0)]
    amp = cut.rfind("&", max(len(cut) - 5, 0))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]  # never leave half an escape (`&am`) behind
    return cut.rstrip() + "…"


def one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def plain(text: str | None, limit: int = TEXT_MAX) -> dict[str, Any]:
    """A plain_text object (Slack never formats or links it), emoji off."""
    return {"type": "plain_text", "text": truncate(text or " ", limit) or " ", "emoji": False}


def mrkdwn(text: str, limit: int = TEXT_MAX) -> dict[str, Any]:
    """A mrkdwn object with `verbatim: true`: our markup works, client text cannot ping.

    `text` must already have its untrusted parts escaped (see `escape`).
    """
    return {"type": "mrkdwn", "text": truncate(text or " ", limit) or " ", "verbatim": True}


def title(text: str) -> dict[str, Any]:
    """A modal title/submit/close (24 characters)."""
    return {"type": "plain_text", "text": truncate(text, TITLE_MAX), "emoji": False}
