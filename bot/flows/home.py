"""The App Home tab: the user's open DITs, the DITs waiting on us, the user's drafts."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.models.views import View

from bot.deps import Deps
from bot.requester import Requester
from bot.views.home import SECTION_MAX, home_view, unlinked_home_view
from bot.views.mail import home_drafts
from ditbot.domain import drafts
from ditbot.domain.errors import NotLinked
from storage import repositories as repo


def build_home(deps: Deps, requester: Requester) -> View:
    t = requester.t
    try:
        with deps.unit_of_work() as session:
            me = requester.collaborator(session)
            mine = repo.dits_of_technician(session, me.id, limit=SECTION_MAX)
            waiting = repo.dits_waiting_on_us(session, limit=SECTION_MAX)
            kept = home_drafts(t, drafts.drafts_of(session, me))
            return home_view(t, me.name, mine, waiting, kept)
    except NotLinked as error:
        return unlinked_home_view(t, error.message(t.locale))


def publish_home(deps: Deps, client: WebClient, requester: Requester) -> None:
    """(Re)draw the Home tab of the requester (after a visit, or a draft changed)."""
    client.views_publish(user_id=requester.user_id, view=build_home(deps, requester))
