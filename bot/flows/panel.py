"""The exchanges panel of a DIT: build it, open / push / redraw it, and what it pushes.

The panel's private_metadata (`PanelMeta`) names its DIT; every action on the panel takes
the DIT from there, and checks that an exchange it touches belongs to it (`exchange_of`).
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.flows.stack import ensure_fresh, open_or_push
from bot.metadata import DeleteMeta, ForgedMetadata, PanelMeta, PanelRef, seal
from bot.requester import Requester
from bot.views.exchange import delete_modal, detail_modal
from bot.views.panel import PAGE_SIZE, Row, panel_view
from ditbot.core.i18n import Translator, _
from ditbot.domain.exchanges import Actor, delete_refusal, edit_refusal, get_dit, get_exchange
from storage import repositories as repo
from storage.models import Dit, Exchange


def build_panel(
    session: Session,
    secret: str,
    t: Translator,
    actor: Actor,
    number: str,
    page: int = 0,
    *,
    dit: Dit | None = None,
) -> View:
    """The panel view of DIT `number` (or of `dit`, already loaded) at `page` (clamped)."""
    if dit is None:
        dit = repo.dit_for_slack(session, number) or get_dit(session, number)
    total = dit.exchange_count
    last_page = max((total - 1) // PAGE_SIZE, 0)
    page = min(max(page, 0), last_page)
    exchanges = repo.exchanges_for_panel(session, dit.id, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
    rows = [
        Row(e, edit_refusal(e, actor) is None, delete_refusal(e, actor) is None) for e in exchanges
    ]
    metadata = seal(secret, PanelMeta(dit=dit.number, page=page))
    return panel_view(t, dit, rows, page=page, total=total, metadata=metadata)


def panel_for(deps: Deps, requester: Requester, number: str, page: int = 0) -> View:
    """The panel of DIT `number`, for an `ack(response_action="update")`."""
    with deps.unit_of_work() as session:
        actor = requester.actor(session)
        return build_panel(session, deps.secret, requester.t, actor, number, page)


def open_panel(
    deps: Deps,
    client: WebClient,
    requester: Requester,
    number: str,
    *,
    trigger_id: str,
    over: str | None = None,
) -> None:
    """Open the panel of DIT `number`; pushed on the modal `over` (a view id) when given.

    A modal stack holds 3 views: past that, the panel replaces the modal `over`.
    """
    ensure_fresh(deps, requester)
    view = panel_for(deps, requester, number)
    ensure_fresh(deps, requester)  # the unit of work may have waited for its slot
    open_or_push(client, view, trigger_id=trigger_id, over=over)


def refresh_panel(
    deps: Deps,
    client: WebClient,
    requester: Requester,
    panel: PanelRef,
    number: str,
    page: int | None = None,
) -> None:
    """Redraw a panel under a form after a save (a stale hash is retried without it).

    It stays at the page the user was on (`panel.page`) unless `page` says otherwise.
    """
    view = panel_for(deps, requester, number, panel.page if page is None else page)
    try:
        client.views_update(view_id=panel.view_id, hash=panel.hash, view=view)
    except SlackApiError as error:
        if error.response.get("error") != "hash_conflict":
            raise
        client.views_update(view_id=panel.view_id, view=view)


def exchange_of(session: Session, exchange_id: int, number: str) -> Exchange:
    """The exchange, refusing one that is not of DIT `number` (a forged request)."""
    exchange = get_exchange(session, exchange_id)
    if exchange.dit.number != number:
        raise ForgedMetadata(_("This exchange does not belong to this DIT."))
    return exchange


def push_detail(
    deps: Deps,
    client: WebClient,
    requester: Requester,
    number: str,
    exchange_id: int,
    *,
    trigger_id: str,
) -> None:
    """The read-only view of one exchange of the panel, pushed on it."""
    with deps.unit_of_work() as session:
        requester.actor(session)  # our staff only
        view = detail_modal(requester.t, exchange_of(session, exchange_id, number))
    client.views_push(trigger_id=trigger_id, view=view)


def push_delete_confirm(
    deps: Deps,
    client: WebClient,
    requester: Requester,
    number: str,
    exchange_id: int,
    *,
    trigger_id: str,
    panel: PanelRef,
) -> None:
    """The confirm dialog of a delete, pushed on the panel (refused where not allowed)."""
    with deps.unit_of_work() as session:
        actor = requester.actor(session)
        exchange = exchange_of(session, exchange_id, number)
        refusal = delete_refusal(exchange, actor)
        if refusal is not None:
            raise refusal
        sealed = seal(deps.secret, DeleteMeta(dit=number, exchange=exchange.id, panel=panel))
        view = delete_modal(requester.t, exchange, sealed)
    client.views_push(trigger_id=trigger_id, view=view)
