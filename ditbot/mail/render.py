"""Render the text and HTML bodies of a mail from jinja2 templates.

Templates live in `ditbot/mail/templates/<locale>/` (`message.txt`, `message.html`, and the
`signature.*` partials they include). An admin may override any of them, without touching the
code, by pointing `DITBOT_MAIL_TEMPLATES` at a folder with the same layout: a file found there
wins over the built-in one. HTML templates are autoescaped; every template runs under
`StrictUndefined`, so a misspelt variable is an error instead of a silent blank.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    select_autoescape,
)
from markupsafe import Markup, escape

from ditbot.core.i18n import normalize_locale

BUILTIN = Path(__file__).parent / "templates"


class TemplateProblem(Exception):
    """A mail template is missing or broken (often an admin override); says which and why."""


@dataclass(frozen=True)
class MailContext:
    """Everything a mail template may use (the variables of `message.*` and `signature.*`)."""

    subject: str
    message: str
    dit_number: str
    dit_title: str
    contact_name: str | None
    sender_name: str
    sender_email: str | None
    company: str | None
    portal_url: str | None


@dataclass(frozen=True)
class RenderedMail:
    text: str
    html: str


def paragraphs(text: str) -> Markup:
    """Plain text to HTML: blank lines separate paragraphs, single newlines become <br>."""
    blocks = [b for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()) if b.strip()]
    html = [
        Markup("<p>")
        + Markup("<br>\n").join(escape(line) for line in block.split("\n"))
        + Markup("</p>")
        for block in blocks
    ]
    return Markup("\n").join(html)


@lru_cache(maxsize=8)
def environment(override_dir: str | None = None) -> Environment:
    """The jinja2 environment: the admin folder first, then the built-in templates."""
    loaders: list[BaseLoader] = []
    if override_dir:
        loaders.append(FileSystemLoader(override_dir))
    loaders.append(FileSystemLoader(str(BUILTIN)))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(enabled_extensions=("html", "htm"), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        auto_reload=True,
    )
    env.filters["paragraphs"] = paragraphs
    return env


def render(context: MailContext, locale: str, override_dir: str | None = None) -> RenderedMail:
    """Both bodies of one mail, in `locale` ('fr' or 'en')."""
    env = environment(override_dir)
    folder = normalize_locale(locale)
    values = asdict(context)
    try:
        text = env.get_template(f"{folder}/message.txt").render(values)
        html = env.get_template(f"{folder}/message.html").render(values)
    except TemplateError as error:
        where = getattr(error, "name", None) or getattr(error, "filename", None) or ""
        raise TemplateProblem(
            f"mail template {where or folder + '/message.*'}: {type(error).__name__}: {error}"
        ) from error
    return RenderedMail(text=_tidy(text), html=html)


def _tidy(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    tidy = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return tidy + "\n"
