"""The App Home tab: the user's open DITs, the DITs waiting on us, the user's drafts."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.requester import Requester
from bot.views.home import SECTION_MAX, home_view, unlinked_home_view
from bot.views.mail import home_drafts
from bot.views.stats import MANAGER_ROWS, manager_blocks
from ditbot.core.i18n import Translator
from ditbot.domain import drafts, stats
from ditbot.domain.business_time import BusinessCalendar
from ditbot.domain.errors import NotLinked
from storage import repositories as repo
from storage.models import Collaborator
from storage.types import utcnow


def build_home(deps: Deps, requester: Requester) -> View:
    t = requester.t
    try:
        with deps.unit_of_work() as session:
            me = requester.collaborator(session)
            mine = repo.dits_of_technician(session, me.id, limit=SECTION_MAX)
            waiting = repo.dits_waiting_on_us(session, limit=SECTION_MAX)
            kept = home_drafts(t, drafts.drafts_of(session, me))
            managed = _manager_section(deps, session, t, me) if me.manager else []
            return home_view(t, me.name, mine, waiting, kept, managed)
    except NotLinked as error:
        return unlinked_home_view(t, error.message(t.locale))


def _manager_section(deps: Deps, session: Session, t: Translator, me: Collaborator) -> list[Block]:
    """The team's longest waits and last week's relances (issue 12)."""
    settings = deps.ctx.settings
    calendar = BusinessCalendar.of(settings)
    team = stats.team_of_manager(session, me)
    now = utcnow()
    waits = stats.longest_waits(session, now, calendar, settings, team, limit=MANAGER_ROWS)
    relances = stats.recent_relances(session, now, team, limit=MANAGER_ROWS)
    return manager_blocks(t, team.name if team else None, waits, relances)


def publish_home(deps: Deps, client: WebClient, requester: Requester) -> None:
    """(Re)draw the Home tab of the requester (after a visit, or a draft changed)."""
    client.views_publish(user_id=requester.user_id, view=build_home(deps, requester))
