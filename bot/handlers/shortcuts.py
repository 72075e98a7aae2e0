"""Listeners: shortcuts (being built)."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps


def register(app: App, deps: Deps) -> None:
    """Register the listeners of this surface."""
