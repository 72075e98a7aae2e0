"""Playground settings: ditbot on one laptop, its Slack and its SMTP server built in.

`ditbot serve` runs in playground mode when no SLACK_BOT_TOKEN is configured (or with
`--playground`). The settings the user gave are kept (database, locale, port...); what needs a
real Slack or a real mail server is replaced by the playground's own: the Slack Web API of
`ditbot.playground.slack_api`, the SMTP sink of `ditbot.playground.mailbox`, and secrets
generated once and kept in a file beside the database, so links and drafts survive restarts.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from ditbot.core.i18n import Text, _
from ditbot.core.settings import Settings

SECRETS_SUFFIX = ".playground-secrets.json"
DEFAULT_SECRETS = Path("ditbot" + SECRETS_SUFFIX)
#: The channels of the playground's workspace (DITBOT_CHANNEL_PORTAL / _RELANCES there).
CHANNEL_DISPATCH = "C0DISPATCH"
CHANNEL_RELANCES = "C0RELANCES"
CHANNEL_GENERAL = "C0GENERAL"
MAIL_FROM = "DIT SAV <sav@playground.example>"
LEAVE = (
    "to leave playground mode, set SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and "
    'DITBOT_PORTAL_SECRET (README, "Create the Slack app")'
)


class NotLoopback(Exception):
    """The playground answers anyone who can reach it: it listens on loopback only."""

    def __init__(self, host: str) -> None:
        text = _(
            "DITBOT_HOST={host} is not a loopback address: the playground (no Slack token) "
            "only listens on 127.0.0.1, ::1 or localhost. To serve on other addresses, set "
            "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and DITBOT_PORTAL_SECRET of a real Slack app."
        )
        self.said = Text(text, host=repr(host))
        super().__init__(str(self.said))
        self.host = host


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class LocalSecrets:
    """The playground's own secrets (random, generated on the first start)."""

    bot_token: str
    signing_secret: str
    portal_secret: str
    api_token: str

    @classmethod
    def generate(cls) -> LocalSecrets:
        return cls(
            bot_token="xoxb-playground-" + secrets.token_hex(16),
            signing_secret=secrets.token_hex(32),
            portal_secret=secrets.token_urlsafe(32),
            api_token=secrets.token_urlsafe(32),
        )


def secrets_path(database_url: str) -> Path:
    """Beside the SQLite file (`ditbot.db` -> `ditbot.playground-secrets.json`); for any
    other database, in the working folder."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database)
        return db.with_name(db.stem + SECRETS_SUFFIX)
    return DEFAULT_SECRETS


def load_secrets(path: Path) -> LocalSecrets:
    """The secrets kept in `path`, made (readable by the owner only) when absent or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return LocalSecrets(**{key: str(data[key]) for key in LocalSecrets.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        pass
    made = LocalSecrets.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(made.__dict__, file, indent=2)
    return made


def playground_settings(
    settings: Settings, *, slack_api_url: str, smtp_port: int, port: int
) -> Settings:
    """`settings` with Slack, SMTP, secrets, channels and the public URL of the playground."""
    if not is_loopback(settings.host):
        raise NotLoopback(settings.host)
    kept = load_secrets(secrets_path(settings.database_url))
    host = "127.0.0.1" if settings.host in ("localhost", "localhost.") else settings.host
    where = f"[{host}]" if ":" in host else host
    return settings.model_copy(
        update={
            "slack_bot_token": kept.bot_token,
            "slack_signing_secret": kept.signing_secret,
            "slack_app_token": None,
            "slack_api_url": slack_api_url,
            "portal_secret": kept.portal_secret,
            "api_token": settings.api_token or kept.api_token,
            "channel_portal": CHANNEL_DISPATCH,
            "channel_relances": CHANNEL_RELANCES,
            "mail_from": settings.mail_from or MAIL_FROM,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_username": None,
            "smtp_password": None,
            "smtp_security": "none",
            "imap_host": None,
            "port": port,
            "public_url": f"http://{where}:{port}",
        }
    )
