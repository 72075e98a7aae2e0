"""What every listener module gets from `create_app`: the context and the extension hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ditbot.context import Context
from ditbot.settings import Settings
from storage.db import Database

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from sqlalchemy.orm import Session

    from bot.middleware import Who
    from ditbot.i18n import Translator
    from storage.models import Collaborator


@dataclass(frozen=True)
class PanelRef:
    """The exchanges panel a form was pushed from, to refresh it after a save."""

    view_id: str
    hash: str | None = None


@dataclass(frozen=True)
class MailFormRequest:
    """Open the mail form of one DIT (`/dit mail <number>`): `views.open` with `trigger_id`."""

    client: WebClient
    trigger_id: str
    who: Who
    dit_number: str


# Blocks of the App Home "drafts" section for one collaborateur (mail helper fills it).
HomeSection = Callable[["Session", "Collaborator", "Translator"], list[dict[str, Any]]]


@dataclass
class Hooks:
    """Where another module plugs into the Slack surface without editing it.

    - `open_mail_form`: `/dit mail <number>` calls it (set by bot/handlers/mail.py).
    - `home_drafts`: the blocks of the drafts section of the App Home.
    """

    open_mail_form: Callable[[MailFormRequest], None] | None = None
    home_drafts: HomeSection | None = None


@dataclass
class Deps:
    """Handed to every `register(app, deps)`."""

    ctx: Context
    hooks: Hooks = field(default_factory=Hooks)

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def db(self) -> Database:
        return self.ctx.db

    @property
    def secret(self) -> str:
        """Key of sealed private_metadata (the signing secret; a fixed key in Socket Mode)."""
        s = self.ctx.settings
        return s.slack_signing_secret or s.portal_secret or s.slack_bot_token or "ditbot"
