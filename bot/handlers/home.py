"""App Home (`app_home_opened` -> views.publish). Event retries are dropped by middleware."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot.deps import Deps
from bot.errors import guarded
from bot.flows.home import publish_home
from bot.parsing import EventPayload
from bot.requester import Requester


def home_opened(event: EventPayload, client: WebClient, deps: Deps, requester: Requester) -> None:
    """Every visit of the Home tab redraws it (not the Messages or About tabs)."""
    if event.get("tab", "home") == "home":
        publish_home(deps, client, requester)


def register(app: App) -> None:
    app.event("app_home_opened")(guarded(home_opened))
