"""The exchanges panel's listeners: open it, page it, its buttons, its menu, delete confirm.

Every action on the panel takes the DIT from the panel's sealed metadata (bot/metadata.py),
never from a button's value; the flows check that an exchange belongs to that DIT.
"""

from __future__ import annotations

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.deps import Deps
from bot.errors import guarded
from bot.flows import forms, panel
from bot.ids import Action, Callback, Field, MenuVerb, parse_menu_value
from bot.metadata import DeleteMeta, unseal
from bot.middleware import ack_at_once
from bot.parsing import (
    ActionPayload,
    Body,
    ViewPayload,
    action_value,
    in_modal,
    panel_of,
    read_values,
)
from bot.requester import Requester
from ditbot.core.i18n import _
from ditbot.domain.errors import NotFound
from ditbot.domain.exchanges import delete_exchange
from storage.vocabulary import Direction


def open_panel_clicked(
    body: Body, action: ActionPayload, client: WebClient, deps: Deps, requester: Requester
) -> None:
    """`open_panel` on a message, the Home or a modal (pushed on the modal)."""
    over = (body.get("view") or {}).get("id") if in_modal(body) else None
    panel.open_panel(
        deps,
        client,
        requester,
        action_value(action),
        trigger_id=body.get("trigger_id", ""),
        over=over,
    )


def page_clicked(
    body: Body, action: ActionPayload, client: WebClient, deps: Deps, requester: Requester
) -> None:
    """Older / newer exchanges of the panel (`panel_older`, `panel_newer`: value = page)."""
    meta, ref = panel_of(deps.secret, body.get("view") or {})
    page = int(action_value(action) or 0)
    panel.refresh_panel(deps, client, requester, ref, meta.dit, page)


def add_received_clicked(body: Body, client: WebClient, deps: Deps, requester: Requester) -> None:
    _add(body, client, deps, requester, Direction.RECEIVED)


def add_sent_clicked(body: Body, client: WebClient, deps: Deps, requester: Requester) -> None:
    _add(body, client, deps, requester, Direction.SENT)


def _add(
    body: Body, client: WebClient, deps: Deps, requester: Requester, direction: Direction
) -> None:
    meta, ref = panel_of(deps.secret, body.get("view") or {})
    trigger_id = body.get("trigger_id", "")
    forms.push_new_form(
        deps, client, requester, meta.dit, direction, trigger_id=trigger_id, panel=ref
    )


def menu_chosen(
    body: Body, action: ActionPayload, client: WebClient, deps: Deps, requester: Requester
) -> None:
    """The per-exchange overflow menu: `view:<id>`, `edit:<id>`, `delete:<id>`."""
    meta, ref = panel_of(deps.secret, body.get("view") or {})
    choice = parse_menu_value(action_value(action))
    if choice is None:
        raise NotFound(_("Unknown menu choice."))
    verb, exchange_id = choice
    trigger_id = body.get("trigger_id", "")
    if verb == MenuVerb.EDIT:
        forms.push_edit_form(
            deps, client, requester, meta.dit, exchange_id, trigger_id=trigger_id, panel=ref
        )
    elif verb == MenuVerb.VIEW:
        panel.push_detail(deps, client, requester, meta.dit, exchange_id, trigger_id=trigger_id)
    else:
        panel.push_delete_confirm(
            deps, client, requester, meta.dit, exchange_id, trigger_id=trigger_id, panel=ref
        )


def delete_confirmed(
    ack: Ack, view: ViewPayload, client: WebClient, deps: Deps, requester: Requester
) -> None:
    """The delete confirm dialog submitted: delete (once), close it, redraw the panel."""
    meta = unseal(deps.secret, view.get("private_metadata"), DeleteMeta)
    reason = read_values(view).text(Field.REASON)
    with deps.unit_of_work() as session:
        actor = requester.actor(session)
        exchange = panel.exchange_of(session, meta.exchange, meta.dit)
        if exchange.deleted_at is None:  # a double click confirms once
            delete_exchange(session, exchange.id, actor, reason)
    ack()
    panel.refresh_panel(deps, client, requester, meta.panel, meta.dit)


def register(app: App) -> None:
    app.action(Action.OPEN_PANEL, middleware=[ack_at_once])(guarded(open_panel_clicked))
    for paging in (Action.PANEL_NEWER, Action.PANEL_OLDER, Action.PANEL_PAGE):
        app.action(paging, middleware=[ack_at_once])(guarded(page_clicked))
    app.action(Action.ADD_RECEIVED, middleware=[ack_at_once])(guarded(add_received_clicked))
    app.action(Action.ADD_SENT, middleware=[ack_at_once])(guarded(add_sent_clicked))
    app.action(Action.EXCHANGE_MENU, middleware=[ack_at_once])(guarded(menu_chosen))
    app.view(Callback.EXCHANGE_DELETE)(guarded(delete_confirmed))
