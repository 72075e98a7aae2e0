"""The received / sent forms: open (new, edit, from the shortcut), follow Reçu par, save.

A save is idempotent: the exchange's `external_key` is derived from the modal's id and the
submitted values, so a double click or a Slack retry logs one exchange. private_metadata is
sealed; an edit also checks that the exchange belongs to the DIT it names.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.errors import guarded
from bot.handlers.panel import build_panel, exchange_of, refresh_panel
from bot.ids import Callback, Field
from bot.metadata import DeleteMeta, ExchangeFormMeta, PanelRef, seal, unseal
from bot.middleware import ack_at_once
from bot.parsing import Body, ViewPayload, block_suffix, exchange_input, read_values, submission_key
from bot.requester import Requester
from bot.views.forms import FormSpec, Person, Values, dit_option, exchange_form, option_text
from bot.views.text import OPTION_MAX, plain
from ditbot.core.i18n import Translator, _
from ditbot.domain.errors import DomainError
from ditbot.domain.exchanges import (
    Actor,
    defaults_for,
    delete_exchange,
    edit_exchange,
    edit_refusal,
    ensure_open,
    get_dit,
    log_exchange,
    preferred_email,
)
from storage import repositories as repo
from storage.models import Dit, Exchange
from storage.types import utcnow
from storage.vocabulary import Direction

log = logging.getLogger(__name__)
OPTIONS_MAX = 100


# -- building -----------------------------------------------------------------------------
def people(session: Session, dit: Dit, direction: Direction) -> tuple[list[Person], list[Person]]:
    """(senders, receivers): a received exchange goes client contact -> collaborateur."""
    staff = [Person.of(c) for c in repo.all_collaborators(session)]
    contacts = [Person.of(c) for c in repo.contacts_of_client(session, dit.client_id)]
    return (contacts, staff) if direction == Direction.RECEIVED else (staff, contacts)


def _code(party: Any) -> str | None:
    return party.code if party is not None else None


def new_values(dit: Dit, direction: Direction, actor: Actor, detail: str | None = None) -> Values:
    defaults = defaults_for(dit, direction, actor)
    return Values(
        type_code=defaults.type_code,
        sent_by=_code(defaults.sent_by),
        received_by=_code(defaults.received_by),
        recipient_email=defaults.recipient_email,
        detail=detail,
        occurred_at=utcnow(),
    )


def edit_values(exchange: Exchange) -> Values:
    sent = exchange.sent_by_collaborator or exchange.sent_by_contact
    received = exchange.received_by_collaborator or exchange.received_by_contact
    return Values(
        type_code=exchange.type_code,
        sent_by=sent.code if sent else None,
        received_by=received.code if received else None,
        recipient_email=exchange.recipient_email,
        subject=exchange.subject,
        detail=exchange.detail,
        occurred_at=exchange.occurred_at,
    )


def form_view(
    session: Session,
    deps: Deps,
    t: Translator,
    dit: Dit | None,
    direction: Direction,
    values: Values,
    *,
    exchange_id: int | None = None,
    panel: PanelRef | None = None,
    choose_dit: bool = False,
    recipient_suffix: int = 0,
) -> dict[str, Any]:
    senders, receivers = people(session, dit, direction) if dit is not None else ([], [])
    meta = ExchangeFormMeta(
        direction=direction,
        dit=dit.number if dit is not None else None,
        exchange=exchange_id,
        panel=panel,
        choose_dit=choose_dit,
    )
    spec = FormSpec(
        direction=direction,
        dit=dit,
        types=repo.exchange_types(session),
        senders=senders,
        receivers=receivers,
        values=values,
        metadata=seal(deps.secret, meta),
        editing=exchange_id is not None,
        choose_dit=choose_dit,
        recipient_suffix=recipient_suffix,
    )
    return exchange_form(t, spec)


def new_form(
    deps: Deps, requester: Requester, number: str, direction: Direction, panel: PanelRef | None
) -> dict[str, Any]:
    with deps.unit_of_work() as session:
        actor = requester.actor(session)
        dit = get_dit(session, number)
        ensure_open(dit)
        values = new_values(dit, direction, actor)
        return form_view(session, deps, requester.t, dit, direction, values, panel=panel)


def open_new_form(
    deps: Deps,
    client: WebClient,
    requester: Requester,
    number: str,
    direction: Direction,
    trigger_id: str,
) -> None:
    """`/dit recu|envoye <number>`: the form alone (the panel replaces it after the save)."""
    client.views_open(
        trigger_id=trigger_id, view=new_form(deps, requester, number, direction, None)
    )


def push_new_form(
    deps: Deps,
    client: WebClient,
    requester: Requester,
    number: str,
    direction: Direction,
    trigger_id: str,
    panel: PanelRef,
) -> None:
    """A panel button: the form on top of the panel."""
    client.views_push(
        trigger_id=trigger_id, view=new_form(deps, requester, number, direction, panel)
    )


def push_edit_form(
    deps: Deps,
    client: WebClient,
    requester: Requester,
    number: str,
    exchange_id: int,
    trigger_id: str,
    panel: PanelRef,
) -> None:
    with deps.unit_of_work() as session:
        actor = requester.actor(session)
        exchange = exchange_of(session, exchange_id, number)
        refusal = edit_refusal(exchange, actor)
        if refusal is not None:
            raise refusal
        view = form_view(
            session,
            deps,
            requester.t,
            exchange.dit,
            exchange.direction,
            edit_values(exchange),
            exchange_id=exchange.id,
            panel=panel,
        )
    client.views_push(trigger_id=trigger_id, view=view)


def shortcut_form(
    deps: Deps, requester: Requester, text: str, number: str | None
) -> dict[str, Any]:
    """The received form of the `log_exchange` shortcut: detail = the message, DIT to choose."""
    with deps.unit_of_work() as session:
        actor = requester.actor(session)
        dit = repo.dit_by_number(session, number) if number else None
        if dit is not None and dit.state.closed:
            dit = None
        if dit is not None:
            values = new_values(dit, Direction.RECEIVED, actor, detail=text)
        else:
            values = Values(type_code="appel", detail=text, occurred_at=utcnow())
        return form_view(
            session, deps, requester.t, dit, Direction.RECEIVED, values, choose_dit=True
        )


# -- following a field ----------------------------------------------------------------------
def rebuild(deps: Deps, requester: Requester, view: ViewPayload, *, follow: str) -> dict[str, Any]:
    """The form again after Reçu par (or the shortcut's DIT) changed, keeping typed values."""
    meta = unseal(deps.secret, view.get("private_metadata"), ExchangeFormMeta)
    values = read_values(view)
    direction = meta.direction
    with deps.unit_of_work() as session:
        actor = requester.actor(session)
        number = values.text(Field.DIT) if meta.choose_dit else meta.dit
        dit = get_dit(session, number) if number else None
        if dit is not None and meta.choose_dit:
            ensure_open(dit)
        kept = Values(
            type_code=values.text(Field.TYPE),
            sent_by=values.text(Field.SENT_BY),
            received_by=values.text(Field.RECEIVED_BY),
            recipient_email=values.text(Field.RECIPIENT_EMAIL),
            subject=values.text(Field.SUBJECT),
            detail=values.text(Field.DETAIL),
            occurred_at=values.moment(Field.OCCURRED_AT),
        )
        suffix = block_suffix(view, Field.RECIPIENT_EMAIL)
        if follow == Field.RECEIVED_BY and dit is not None:
            contact = repo.contact_by_code(session, kept.received_by or "")
            mail = (
                preferred_email(contact) if contact and contact.client_id == dit.client_id else None
            )
            kept = Values(**{**kept.__dict__, "recipient_email": mail})
            suffix += 1
        elif follow == Field.DIT and dit is not None:
            fresh = new_values(dit, direction, actor)
            kept = Values(
                **{
                    **kept.__dict__,
                    "sent_by": fresh.sent_by,
                    "received_by": fresh.received_by,
                    "recipient_email": fresh.recipient_email,
                }
            )
        return form_view(
            session,
            deps,
            requester.t,
            dit,
            direction,
            kept,
            exchange_id=meta.exchange,
            panel=meta.panel,
            choose_dit=meta.choose_dit,
            recipient_suffix=suffix,
        )


# -- options of external selects -------------------------------------------------------------
def _search_people(people_list: Sequence[Person], typed: str) -> list[dict[str, Any]]:
    needle = typed.strip().lower()
    found = [
        p
        for p in people_list
        if needle in p.name.lower()
        or needle in (p.mail1 or "").lower()
        or needle in (p.mail2 or "").lower()
        or needle in p.code.lower()
    ]
    return [
        {"text": plain(option_text(p), OPTION_MAX), "value": p.code} for p in found[:OPTIONS_MAX]
    ]


def suggestions(deps: Deps, body: Body) -> list[dict[str, Any]]:
    typed = str(body.get("value") or "")
    field = body.get("action_id")
    view = body.get("view") or {}
    with deps.unit_of_work() as session:
        if field == Field.DIT:
            return [
                dit_option(d)
                for d in repo.search_dits(session, typed, limit=OPTIONS_MAX)
                if not d.state.closed
            ]
        meta = unseal(deps.secret, view.get("private_metadata"), ExchangeFormMeta)
        number = read_values(view).text(Field.DIT) if meta.choose_dit else meta.dit
        dit = repo.dit_by_number(session, number) if number else None
        if dit is None:
            return []
        senders, receivers = people(session, dit, meta.direction)
        return _search_people(senders if field == Field.SENT_BY else receivers, typed)


# -- saving ---------------------------------------------------------------------------------
def save(deps: Deps, requester: Requester, view: ViewPayload) -> tuple[str, PanelRef | None, bool]:
    """Log or edit the exchange of a submitted form: (DIT number, panel under it, shortcut)."""
    meta = unseal(deps.secret, view.get("private_metadata"), ExchangeFormMeta)
    values = read_values(view)
    number = values.text(Field.DIT) if meta.choose_dit else meta.dit
    if not number:
        raise DomainError(_("Choose the DIT of this exchange."), Field.DIT)
    form = exchange_input(meta.direction, values)
    with deps.unit_of_work() as session:
        actor = requester.actor(session)
        if meta.exchange is not None:
            exchange_of(session, meta.exchange, number)
            edit_exchange(session, meta.exchange, form, actor)
        else:
            log_exchange(session, number, form, actor, external_key=submission_key(view))
    return number, meta.panel, meta.choose_dit


def register(app: App, deps: Deps) -> None:
    @app.view(Callback.EXCHANGE_RECEIVED)
    @app.view(Callback.EXCHANGE_SENT)
    @guarded
    def on_submit(ack: Ack, body: Body, client: WebClient, requester: Requester) -> None:
        view = body["view"]
        number, panel, _shortcut = save(deps, requester, view)
        if panel is None:
            # Opened alone (/dit recu, the shortcut): the form becomes the DIT's panel.
            with deps.unit_of_work() as session:
                actor = requester.actor(session)
                panel_view = build_panel(session, deps, requester.t, actor, number)
            ack(response_action="update", view=panel_view)
            return
        ack()
        refresh_panel(deps, client, requester, panel, number)

    @app.action(Field.RECEIVED_BY, middleware=[ack_at_once])
    @guarded
    def on_received_by(body: Body, client: WebClient, requester: Requester) -> None:
        view = body["view"]
        if view.get("callback_id") != Callback.EXCHANGE_SENT:
            return
        client.views_update(
            view_id=view["id"],
            hash=view.get("hash"),
            view=rebuild(deps, requester, view, follow=Field.RECEIVED_BY),
        )

    @app.action(Field.DIT, middleware=[ack_at_once])
    @guarded
    def on_dit(body: Body, client: WebClient, requester: Requester) -> None:
        view = body["view"]
        client.views_update(
            view_id=view["id"],
            hash=view.get("hash"),
            view=rebuild(deps, requester, view, follow=Field.DIT),
        )

    @app.options(Field.DIT)
    @app.options(Field.SENT_BY)
    @app.options(Field.RECEIVED_BY)
    @guarded
    def on_options(ack: Ack, body: Body) -> None:
        ack(options=suggestions(deps, body))

    @app.view(Callback.EXCHANGE_DELETE)
    @guarded
    def on_delete(ack: Ack, body: Body, client: WebClient, requester: Requester) -> None:
        view = body["view"]
        meta = unseal(deps.secret, view.get("private_metadata"), DeleteMeta)
        reason = read_values(view).text(Field.REASON)
        with deps.unit_of_work() as session:
            actor = requester.actor(session)
            exchange = exchange_of(session, meta.exchange, meta.dit)
            if exchange.deleted_at is None:  # a double click confirms once
                delete_exchange(session, exchange.id, actor, reason)
        ack()
        refresh_panel(deps, client, requester, meta.panel, meta.dit)
