"""`/dit <text>`: the panel of the DIT named, or an ephemeral list of the DITs that match."""

from __future__ import annotations

from slack_bolt import Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.flows.panel import build_panel
from bot.flows.stack import ensure_fresh
from bot.requester import Requester
from bot.views import search as search_view
from ditbot.core.i18n import _
from ditbot.domain.errors import NotFound
from ditbot.domain.exchanges import get_dit
from ditbot.domain.validation import clean_free_text
from storage import repositories as repo
from storage.models import Dit

SEARCH_LIMIT = 20


def open_or_search(
    deps: Deps,
    client: WebClient,
    respond: Respond,
    requester: Requester,
    text: str,
    *,
    trigger_id: str,
) -> None:
    """An exact DIT number opens its panel; one search match too; otherwise list or refuse.

    The hot path (an exact number) is one unit of work: DIT, page of exchanges.
    """
    t = requester.t
    ensure_fresh(deps, requester)
    text = clean_free_text(text, "dit")  # the domain's rule: NUL is refused, not a 500
    with deps.unit_of_work() as session:
        actor = requester.actor(session)
        dit = named_dit(session, text)
        panel = closed = None
        if dit is not None and dit.state.closed:
            closed = search_view.closed_dit(t, dit)
        elif dit is not None:
            panel = build_panel(session, deps.secret, t, actor, dit.number, dit=dit)
    if panel is not None:
        ensure_fresh(deps, requester)  # the unit of work may have waited for its slot
        client.views_open(trigger_id=trigger_id, view=panel)
    elif closed is not None:
        blocks, fallback = closed
        respond(text=fallback, blocks=blocks, response_type="ephemeral")
    else:
        answer_search(deps, respond, requester, text)


def named_dit(session: Session, text: str) -> Dit | None:
    """The DIT of number `text`, else the only one matching it; None when several match."""
    dit = repo.dit_for_slack(session, text)
    if dit is not None:
        return dit
    found = repo.search_dits(session, text, limit=2)
    if not found:
        get_dit(session, text)  # raises NotFound with the advice
    return found[0] if len(found) == 1 else None


def answer_search(deps: Deps, respond: Respond, requester: Requester, text: str) -> None:
    """The DITs matching `text` (number or client name), as an ephemeral list."""
    text = clean_free_text(text, "dit")
    with deps.unit_of_work() as session:
        requester.actor(session)  # DIT lists are for our staff only
        found = repo.search_dits(session, text, limit=SEARCH_LIMIT + 1)
        if not found:
            raise NotFound(
                _("No DIT matches “{query}”. Try a DIT number or part of a client's name."),
                "dit",
                query=text[:60],
            )
        blocks, fallback = search_view.results(requester.t, text, found[:SEARCH_LIMIT], len(found))
    respond(text=fallback, blocks=blocks, response_type="ephemeral")
