"""Settings from the environment and a `.env` file (CONTRACT.md section 2).

Every problem is collected, so that one run names every bad or missing variable at once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlparse

HOW_TO_GET = {
    "SLACK_BOT_TOKEN": (
        "the Bot User OAuth Token (xoxb-...) under OAuth & Permissions of your Slack app"
    ),
    "SLACK_SIGNING_SECRET": "the Signing Secret under Basic Information of your Slack app",
    "SLACK_APP_TOKEN": (
        "an App-Level Token (xapp-...) with connections:write, under Basic Information"
    ),
    "DITBOT_PORTAL_SECRET": (
        "any long random string, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`"
    ),
    "DITBOT_MAIL_FROM": "the sender address of your mails, e.g. `DIT <sav@example.com>`",
}


class SettingsError(Exception):
    """One or more settings are missing or invalid; `problems` names each of them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a `.env` file: `KEY=value` lines, `#` comments, optional quotes and `export`."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8-sig").splitlines():  # -sig: Notepad's BOM
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:  # an unquoted value ends where a comment starts
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


@dataclass(frozen=True)
class Settings:
    """Every setting of CONTRACT.md section 2, already parsed."""

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///ditbot.db"
    host: str = "127.0.0.1"
    port: int = 3000
    public_url: str = "http://localhost:3000"
    api_token: str | None = None
    portal_secret: str | None = None
    channel_portal: str | None = None
    channel_relances: str | None = None
    locale: str = "fr"
    mail_from: str | None = None
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_security: str = "none"
    mail_templates_dir: str | None = None
    portal_window_days: int = 7
    portal_link_days: int = 30
    relance_after_hours: float = 24.0
    extra: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        dotenv: Path | None = None,
        required: Sequence[str] = (),
    ) -> Settings:
        """Build settings from `environ` (default: os.environ) over `.env` (default: ./.env).

        `required` names variables the caller needs (see HOW_TO_GET): a missing one is reported
        in the same SettingsError as the invalid ones, so one run names every problem.
        """
        env: dict[str, str] = {}
        env.update(read_dotenv(dotenv if dotenv is not None else Path.cwd() / ".env"))
        env.update(os.environ if environ is None else environ)
        problems: list[str] = []

        def text(name: str, default: str | None = None) -> str | None:
            value = env.get(name, "").strip()
            return value or default

        for name in required:
            if not text(name):
                problems.append(f"{name} is not set: {HOW_TO_GET[name]}.")

        def integer(name: str, default: int, low: int, high: int) -> int:
            value = text(name)
            if value is None:
                return default
            try:
                number = int(value)
            except ValueError:
                problems.append(f"{name}={value!r} is not a whole number.")
                return default
            if not low <= number <= high:
                problems.append(f"{name}={number} must be between {low} and {high}.")
            return number

        def url(name: str, default: str) -> str:
            value = text(name, default) or default
            parsed = urlparse(value)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                problems.append(f"{name}={value!r} is not an http(s) URL.")
            return value

        bot_token = text("SLACK_BOT_TOKEN")
        if bot_token and not bot_token.startswith("xoxb-"):
            problems.append("SLACK_BOT_TOKEN must start with 'xoxb-' (the Bot User OAuth Token).")
        app_token = text("SLACK_APP_TOKEN")
        if app_token and not app_token.startswith("xapp-"):
            problems.append("SLACK_APP_TOKEN must start with 'xapp-' (an App-Level Token).")
        api_url = url("SLACK_API_URL", "https://slack.com/api/")
        if not api_url.endswith("/"):
            api_url += "/"
        locale = (text("DITBOT_LOCALE", "fr") or "fr").lower()
        if locale not in ("fr", "en"):
            problems.append(f"DITBOT_LOCALE={locale!r} must be 'fr' or 'en'.")
            locale = "fr"
        security = (text("SMTP_SECURITY", "none") or "none").lower()
        if security not in ("none", "starttls", "tls"):
            problems.append(f"SMTP_SECURITY={security!r} must be 'none', 'starttls' or 'tls'.")
        mail_from = text("DITBOT_MAIL_FROM")
        if mail_from and "@" not in parseaddr(mail_from)[1]:
            problems.append(
                f"DITBOT_MAIL_FROM={mail_from!r} is not an address, e.g. 'DIT <sav@example.com>'."
            )
        database_url = text("DATABASE_URL", "sqlite:///ditbot.db") or "sqlite:///ditbot.db"
        if not re.match(r"^[a-z0-9+]+://", database_url):
            problems.append(
                f"DATABASE_URL={database_url!r} is not a database URL, "
                "e.g. sqlite:///ditbot.db or postgresql+psycopg://user@host/db."
            )
        for channel in ("DITBOT_CHANNEL_PORTAL", "DITBOT_CHANNEL_RELANCES"):
            value = text(channel)
            if value and not re.fullmatch(r"[CGD][A-Z0-9]{2,}", value):
                problems.append(
                    f"{channel}={value!r} must be a channel id such as C0123ABCD "
                    "(channel details > About, at the bottom), not a channel name."
                )
        settings = cls(
            slack_bot_token=bot_token,
            slack_signing_secret=text("SLACK_SIGNING_SECRET"),
            slack_app_token=app_token,
            slack_api_url=api_url,
            database_url=normalize_database_url(database_url),
            host=text("DITBOT_HOST", "127.0.0.1") or "127.0.0.1",
            port=integer("DITBOT_PORT", 3000, 0, 65535),
            public_url=url("DITBOT_PUBLIC_URL", "http://localhost:3000").rstrip("/"),
            api_token=text("DITBOT_API_TOKEN"),
            portal_secret=text("DITBOT_PORTAL_SECRET"),
            channel_portal=text("DITBOT_CHANNEL_PORTAL"),
            channel_relances=text("DITBOT_CHANNEL_RELANCES"),
            locale=locale,
            mail_from=mail_from,
            smtp_host=text("SMTP_HOST", "localhost") or "localhost",
            smtp_port=integer("SMTP_PORT", 25, 1, 65535),
            smtp_username=text("SMTP_USERNAME"),
            smtp_password=text("SMTP_PASSWORD"),
            smtp_security=security,
            mail_templates_dir=text("DITBOT_MAIL_TEMPLATES"),
            portal_window_days=integer("DITBOT_PORTAL_WINDOW_DAYS", 7, 0, 3650),
            portal_link_days=integer("DITBOT_PORTAL_LINK_DAYS", 30, 1, 3650),
            relance_after_hours=float(integer("DITBOT_RELANCE_AFTER_HOURS", 24, 1, 24 * 365)),
        )
        if problems:
            raise SettingsError(problems)
        return settings

    def require(self, *names: str) -> None:
        """Raise SettingsError naming each variable of `names` that is unset, and how to get it."""
        attribute = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
            "SLACK_APP_TOKEN": self.slack_app_token,
            "DITBOT_PORTAL_SECRET": self.portal_secret,
            "DITBOT_MAIL_FROM": self.mail_from,
        }
        missing = [
            f"{name} is not set: {HOW_TO_GET[name]}." for name in names if not attribute[name]
        ]
        if missing:
            raise SettingsError(missing)


def normalize_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain `postgresql://` URLs (the driver we install)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
