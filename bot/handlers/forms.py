"""Listeners: forms (being built)."""

from __future__ import annotations

from slack_bolt import App

from bot.deps import Deps


def register(app: App, deps: Deps) -> None:
    """Register the listeners of this surface."""


def open_new_form(
    deps: Deps, client: object, who: object, number: str, direction: str, trigger_id: str
) -> None:
    """Open the received/sent form of DIT `number` (being built)."""
    raise NotImplementedError
