"""App Home (`app_home_opened` -> views.publish). Event retries are dropped by middleware."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.models.views import View
from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.errors import guarded
from bot.middleware import Who
from bot.views.home import SECTION_MAX, home_view, unlinked_home_view
from ditbot.core.i18n import Translator
from ditbot.domain.errors import NotLinked
from storage import repositories as repo
from storage.models import Collaborator

log = logging.getLogger(__name__)


def drafts_section(
    deps: Deps, session: Session, collaborator: Collaborator, t: Translator
) -> list[dict[str, Any]]:
    """The drafts of the user: blocks from the mail module's hook (none until it plugs in)."""
    if deps.hooks.home_drafts is None:
        return []
    return deps.hooks.home_drafts(session, collaborator, t)


def build_home(deps: Deps, who: Who) -> View:
    try:
        with deps.unit_of_work() as session:
            actor = who.actor(session)
            t = who.t
            me = actor.collaborator
            assert me is not None
            mine = repo.dits_of_technician(session, me.id, limit=SECTION_MAX)
            waiting = repo.dits_waiting_on_us(session, limit=SECTION_MAX)
            drafts = drafts_section(deps, session, me, t)
            return home_view(t, me.name, mine, waiting, drafts)
    except NotLinked as error:
        t = who.t
        return unlinked_home_view(t, error.message(t.locale))


def publish_home(deps: Deps, client: WebClient, who: Who) -> None:
    """(Re)draw the Home tab of `who` (the mail module calls it after a draft changes)."""
    client.views_publish(user_id=who.user_id, view=build_home(deps, who))


def register(app: App, deps: Deps) -> None:
    @app.event("app_home_opened")
    @guarded
    def on_home_opened(event: dict[str, Any], client: WebClient, who: Who) -> None:
        if event.get("tab", "home") != "home":
            return
        publish_home(deps, client, who)
