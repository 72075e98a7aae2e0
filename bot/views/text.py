"""Safe text for Block Kit: one escaping rule, truncation after escaping, Slack's limits.

The one rule (Slack's "Formatting text for app surfaces" reference, text object reference):
- `mrkdwn` text objects and a message's top-level `text` are parsed by Slack: `&`, `<` and `>`
  are control characters there (`<!channel>`, `<@U…>`, `<http…|…>`), written `&amp;`, `&lt;`,
  `&gt;`. Untrusted text put in them goes through `escape`, and `mrkdwn()` sets `verbatim: true`
  so that plain `@here`, `#channel` or URLs are not turned into mentions and links either.
- `plain_text` objects are never parsed: Slack shows their text as given, so an escaped `<`
  would show as `&lt;`. Untrusted text put in them is NOT escaped (`plain()` takes it raw), and
  it can never ping or link there.

The text objects are `slack_sdk.models` (STYLE.md): they refuse over-long texts when a view
or block is serialised, and these helpers cut first so that long user data never raises.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import MarkdownTextObject, PlainTextObject

TEXT_MAX = 3000
OPTION_MAX = 75
TITLE_MAX = 24
BUTTON_MAX = 75
HEADER_MAX = 150
PLACEHOLDER_MAX = 150
LABEL_MAX = 2000  # input label and hint


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


def plain(text: str | None, limit: int = TEXT_MAX) -> PlainTextObject:
    """A plain_text object of raw `text` (never escaped: Slack shows it as given), emoji off."""
    return PlainTextObject(text=truncate(text or " ", limit) or " ", emoji=False)


def mrkdwn(text: str, limit: int = TEXT_MAX) -> MarkdownTextObject:
    """A mrkdwn object with `verbatim: true`: our markup works, client text cannot ping.

    `text` must already have its untrusted parts escaped (see `escape`).
    """
    return MarkdownTextObject(text=truncate(text or " ", limit) or " ", verbatim=True)


def title(text: str) -> PlainTextObject:
    """A modal title/submit/close (24 characters)."""
    return PlainTextObject(text=truncate(text, TITLE_MAX), emoji=False)


def slack_date(moment: datetime | None) -> str:
    """A date token for mrkdwn: Slack shows it in the reader's own time zone and language
    (`<!date^…>`), with a UTC fallback for clients that cannot."""
    if moment is None:
        return ""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"
