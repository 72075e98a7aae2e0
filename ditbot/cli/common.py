"""What every `ditbot` command that touches the database shares."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from ditbot.core.context import Context
from ditbot.core.i18n import Text, normalize_locale


def command_context(args: argparse.Namespace) -> Context:
    """A migrated database for this command; `main` closes its connections at the end."""
    ctx = Context.from_settings(args.settings)
    args.opened = [*getattr(args, "opened", []), ctx]
    ctx.db.upgrade()
    return ctx


def environment_locale(environ: Mapping[str, str] | None = None) -> str:
    """DITBOT_LOCALE from the environment or `.env`, for when the settings cannot be read: fr
    when it is unset or not a language of ditbot (the settings error then says so)."""
    value = (os.environ if environ is None else environ).get("DITBOT_LOCALE")
    if value is None and Path(".env").is_file():
        value = dotenv_values(".env", encoding="utf-8-sig", interpolate=False).get("DITBOT_LOCALE")
    return normalize_locale((value or "").strip(), "fr")


def locale_of(args: argparse.Namespace) -> str:
    """The language of the command's words: DITBOT_LOCALE (settings, else environment)."""
    settings = getattr(args, "settings", None)
    return str(settings.locale) if settings is not None else environment_locale()


def say(args: argparse.Namespace, message: str, **params: Any) -> str:
    """`message` in the command's language, its placeholders filled (Texts said too)."""
    return Text(message, **params).say(locale_of(args))
