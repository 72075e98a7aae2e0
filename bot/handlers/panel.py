"""Listeners: panel (being built)."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps


def register(app: App, deps: Deps) -> None:
    """Register the listeners of this surface."""


def open_panel(deps: Deps, client: object, who: object, number: str, *, trigger_id: str) -> None:
    """Open the exchanges panel of DIT `number` (being built)."""
    raise NotImplementedError
