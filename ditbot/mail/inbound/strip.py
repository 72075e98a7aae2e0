"""The new text of a reply: HTML turned into text, quoted history and signature removed.

Quotes and signatures are found by mail-parser-reply, which knows the headers French and
English mail programs write above a quote ("Le … a écrit :", Outlook's "De : … Envoyé : …",
"On … wrote:") and the usual sign-offs. HTML-only mails lose the containers in which Gmail,
Thunderbird, Apple Mail and Outlook put the quoted mail before they become text (inscriptis),
since their quote headers may not survive the conversion on one line.
"""

from __future__ import annotations

import re

from inscriptis import get_text
from lxml import etree, html
from mailparser_reply import EmailReplyParser

LANGUAGES = ["fr", "en"]
# Where mail programs put the quoted mail in HTML replies.
QUOTE_CONTAINERS = (
    "//div[contains(concat(' ', normalize-space(@class), ' '), ' gmail_quote ')]"
    " | //blockquote[@type='cite']"
    " | //div[contains(@class, 'moz-cite-prefix')]"
    " | //div[@id='appendonsend']"
    " | //div[@id='divRplyFwdMsg']"
    " | //div[contains(@class, 'yahoo_quoted')]"
)
# Outlook's quote starts at a div with a top border (or at #divRplyFwdMsg): drop it and all
# that follows it.
OUTLOOK_SEPARATOR = (
    "//div[contains(translate(@style, 'BORDERTOP', 'bordertop'), 'border-top:solid')]"
    " | //div[@id='divRplyFwdMsg'] | //hr[@id='stopSpelling']"
)
_parser = EmailReplyParser(languages=LANGUAGES)


def html_to_text(markup: str) -> str:
    """Readable text of an HTML body (paragraphs, line breaks, lists), quotes removed."""
    if not markup.strip():
        return ""
    try:
        tree = html.fromstring(markup)
    except (etree.ParserError, ValueError):
        return str(get_text(markup))
    for separator in tree.xpath(OUTLOOK_SEPARATOR):
        _drop_from(separator)
    for container in tree.xpath(QUOTE_CONTAINERS):
        parent = container.getparent()
        if parent is not None:
            parent.remove(container)
    for hidden in tree.xpath("//style | //script | //head"):
        parent = hidden.getparent()
        if parent is not None:
            parent.remove(hidden)
    return str(get_text(etree.tostring(tree, encoding="unicode", method="html")))


def _drop_from(element: html.HtmlElement) -> None:
    """Remove `element` and everything after it in document order."""
    node: html.HtmlElement | None = element
    while node is not None:
        parent = node.getparent()
        for follower in list(node.itersiblings()):
            if parent is not None:
                parent.remove(follower)
        if parent is not None:
            parent.remove(node)
        node = parent
        if node is not None and node.tag in ("body", "html"):
            break


def new_text(text: str) -> str:
    """The part of a reply its author just wrote: no quoted history, no signature."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ").strip()
    if not text:
        return ""
    text = _join_wrapped_wrote_lines(text)
    replies = _parser.read(text).replies
    latest = replies[0].body if replies else text
    if not latest.strip() and replies:
        latest = replies[0].full_body  # a reply that is only a signature is still what was sent
    lines = latest.split("\n")
    while lines and lines[-1].lstrip().startswith(">"):  # a quote without its header line
        lines.pop()
    return _tidy("\n".join(lines))


def _join_wrapped_wrote_lines(text: str) -> str:
    """Gmail wraps "Le mer. 2 déc. 2026 à 10:15, Nom <adresse> a écrit :" over two lines; the
    reply parser reads that header on one line only."""
    return re.sub(
        r"^((?:Le|On) .{10,200}?)\n(.{0,80}?(?:écrit|wrote)\s?:)$",
        r"\1 \2",
        text,
        flags=re.MULTILINE,
    )


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
