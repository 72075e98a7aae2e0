"""The exchanges panel: open it, page it, its buttons and its per-exchange menu.

The panel's private_metadata is sealed (bot/metadata.py) and names its DIT; every action on
the panel takes the DIT from there, and checks that an exchange it touches belongs to it.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from sqlalchemy.orm import Session

from bot.deps import Deps, PanelRef
from bot.errors import guarded
from bot.ids import Action, MenuVerb, parse_menu_value
from bot.metadata import ForgedMetadata, seal, unseal
from bot.middleware import Who, ack_at_once
from bot.views.exchange import delete_modal, detail_modal
from bot.views.panel import PAGE_SIZE, Row, panel_view
from ditbot.core.i18n import Translator, _
from ditbot.domain.errors import NotFound
from ditbot.domain.exchanges import Actor, delete_refusal, edit_refusal, get_dit, get_exchange
from storage import repositories as repo
from storage.models import Dit, Exchange
from storage.vocabulary import Direction

log = logging.getLogger(__name__)


def build_panel(
    session: Session,
    deps: Deps,
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
    metadata = seal(deps.secret, {"dit": dit.number, "page": page})
    return panel_view(t, dit, rows, page=page, total=total, metadata=metadata)


def open_panel(
    deps: Deps,
    client: WebClient,
    who: Who,
    number: str,
    *,
    trigger_id: str,
    push: bool = False,
) -> None:
    """Open (or push, from inside a modal) the panel of DIT `number`."""
    with deps.unit_of_work() as session:
        actor = who.actor(session)  # first: resolves the user in this unit of work
        view = build_panel(session, deps, who.t, actor, number)
    if push:
        client.views_push(trigger_id=trigger_id, view=view)
    else:
        client.views_open(trigger_id=trigger_id, view=view)


def refresh_panel(
    deps: Deps, client: WebClient, who: Who, panel: PanelRef, number: str, page: int = 0
) -> None:
    """Redraw a panel under a form after a save (a stale hash is retried without it)."""
    with deps.unit_of_work() as session:
        actor = who.actor(session)
        view = build_panel(session, deps, who.t, actor, number, page)
    try:
        client.views_update(view_id=panel.view_id, hash=panel.hash, view=view)
    except SlackApiError as error:
        if error.response.get("error") != "hash_conflict":
            raise
        client.views_update(view_id=panel.view_id, view=view)


def panel_of(deps: Deps, body: dict[str, Any]) -> tuple[dict[str, Any], PanelRef]:
    """(sealed metadata, reference) of the panel a block_actions came from."""
    view = body.get("view") or {}
    data = unseal(deps.secret, view.get("private_metadata"))
    return data, PanelRef(view_id=view["id"], hash=view.get("hash"))


def exchange_of(session: Session, exchange_id: int, number: str) -> Exchange:
    """The exchange, refusing one that is not of DIT `number` (a forged request)."""
    exchange = get_exchange(session, exchange_id)
    if exchange.dit.number != number:
        raise ForgedMetadata(_("This exchange does not belong to this DIT."))
    return exchange


def register(app: App, deps: Deps) -> None:
    from bot.handlers import forms

    @app.action(Action.OPEN_PANEL, middleware=[ack_at_once])
    @guarded
    def on_open_panel(body: dict[str, Any], client: WebClient, who: Who) -> None:
        number = str(body["actions"][0].get("value") or "")
        in_modal = (body.get("view") or {}).get("type") == "modal"
        try:
            open_panel(deps, client, who, number, trigger_id=body["trigger_id"], push=in_modal)
        except SlackApiError as error:
            if not in_modal or error.response.get("error") != "push_limit_reached":
                raise
            with deps.unit_of_work() as session:
                actor = who.actor(session)
                view = build_panel(session, deps, who.t, actor, number)
            client.views_update(view_id=body["view"]["id"], view=view)

    @app.action(Action.PANEL_PAGE, middleware=[ack_at_once])
    @guarded
    def on_page(body: dict[str, Any], client: WebClient, who: Who) -> None:
        data, panel = panel_of(deps, body)
        page = int(body["actions"][0].get("value") or 0)
        refresh_panel(deps, client, who, panel, data["dit"], page)

    @app.action(Action.ADD_RECEIVED, middleware=[ack_at_once])
    @guarded
    def on_add_received(body: dict[str, Any], client: WebClient, who: Who) -> None:
        data, panel = panel_of(deps, body)
        forms.push_new_form(
            deps, client, who, data["dit"], Direction.RECEIVED, body["trigger_id"], panel
        )

    @app.action(Action.ADD_SENT, middleware=[ack_at_once])
    @guarded
    def on_add_sent(body: dict[str, Any], client: WebClient, who: Who) -> None:
        data, panel = panel_of(deps, body)
        forms.push_new_form(
            deps, client, who, data["dit"], Direction.SENT, body["trigger_id"], panel
        )

    @app.action(Action.EXCHANGE_MENU, middleware=[ack_at_once])
    @guarded
    def on_menu(body: dict[str, Any], client: WebClient, who: Who) -> None:
        data, panel = panel_of(deps, body)
        choice = parse_menu_value(body["actions"][0]["selected_option"]["value"])
        if choice is None:
            raise NotFound(_("Unknown menu choice."))
        verb, exchange_id = choice
        trigger = body["trigger_id"]
        if verb == MenuVerb.EDIT:
            forms.push_edit_form(deps, client, who, data["dit"], exchange_id, trigger, panel)
            return
        with deps.unit_of_work() as session:
            actor = who.actor(session)
            t = who.t
            exchange = exchange_of(session, exchange_id, data["dit"])
            if verb == MenuVerb.VIEW:
                view = detail_modal(t, exchange)
            else:
                refusal = delete_refusal(exchange, actor)
                if refusal is not None:
                    raise refusal
                sealed = seal(
                    deps.secret,
                    {
                        "dit": data["dit"],
                        "exchange": exchange.id,
                        "panel": panel.view_id,
                        "hash": panel.hash,
                    },
                )
                view = delete_modal(t, exchange, sealed)
        client.views_push(trigger_id=trigger, view=view)
