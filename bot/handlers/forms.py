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
from slack_sdk.models.views import View
from sqlalchemy.orm import Session

from bot.deps import Deps, PanelRef
from bot.errors import guarded
from bot.handlers.panel import build_panel, exchange_of, refresh_panel
from bot.ids import Callback, Field
from bot.metadata import seal, unseal
from bot.middleware import Who, ack_at_once
from bot.parsing import exchange_input, read_values, submission_key
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
) -> View:
    senders, receivers = people(session, dit, direction) if dit is not None else ([], [])
    metadata = seal(
        deps.secret,
        {
            "dit": dit.number if dit is not None else None,
            "direction": direction,
            "exchange": exchange_id,
            "panel": panel.view_id if panel else None,
            "hash": panel.hash if panel else None,
            "choose": choose_dit,
        },
    )
    spec = FormSpec(
        direction=direction,
        dit=dit,
        types=repo.exchange_types(session),
        senders=senders,
        receivers=receivers,
        values=values,
        metadata=metadata,
        editing=exchange_id is not None,
        choose_dit=choose_dit,
        recipient_suffix=recipient_suffix,
    )
    return exchange_form(t, spec)


def new_form(
    deps: Deps, who: Who, number: str, direction: Direction, panel: PanelRef | None
) -> View:
    with deps.unit_of_work() as session:
        actor = who.actor(session)
        dit = get_dit(session, number)
        ensure_open(dit)
        values = new_values(dit, direction, actor)
        return form_view(session, deps, who.t, dit, direction, values, panel=panel)


def open_new_form(
    deps: Deps, client: WebClient, who: Who, number: str, direction: Direction, trigger_id: str
) -> None:
    """`/dit recu|envoye <number>`: the form alone (the panel replaces it after the save)."""
    client.views_open(trigger_id=trigger_id, view=new_form(deps, who, number, direction, None))


def push_new_form(
    deps: Deps,
    client: WebClient,
    who: Who,
    number: str,
    direction: Direction,
    trigger_id: str,
    panel: PanelRef,
) -> None:
    """A panel button: the form on top of the panel."""
    client.views_push(trigger_id=trigger_id, view=new_form(deps, who, number, direction, panel))


def push_edit_form(
    deps: Deps,
    client: WebClient,
    who: Who,
    number: str,
    exchange_id: int,
    trigger_id: str,
    panel: PanelRef,
) -> None:
    with deps.unit_of_work() as session:
        actor = who.actor(session)
        exchange = exchange_of(session, exchange_id, number)
        refusal = edit_refusal(exchange, actor)
        if refusal is not None:
            raise refusal
        view = form_view(
            session,
            deps,
            who.t,
            exchange.dit,
            exchange.direction,
            edit_values(exchange),
            exchange_id=exchange.id,
            panel=panel,
        )
    client.views_push(trigger_id=trigger_id, view=view)


def shortcut_form(deps: Deps, who: Who, text: str, number: str | None) -> View:
    """The received form of the `log_exchange` shortcut: detail = the message, DIT to choose."""
    with deps.unit_of_work() as session:
        actor = who.actor(session)
        dit = repo.dit_by_number(session, number) if number else None
        if dit is not None and dit.state.closed:
            dit = None
        if dit is not None:
            values = new_values(dit, Direction.RECEIVED, actor, detail=text)
        else:
            values = Values(type_code="appel", detail=text, occurred_at=utcnow())
        return form_view(session, deps, who.t, dit, Direction.RECEIVED, values, choose_dit=True)


# -- following a field ----------------------------------------------------------------------
def _suffix(view: dict[str, Any], field: str) -> int:
    for block in view.get("blocks", []):
        name, _sep, suffix = str(block.get("block_id", "")).partition(".")
        if name == field:
            return int(suffix) if suffix.isdigit() else 0
    return 0


def rebuild(deps: Deps, who: Who, view: dict[str, Any], *, follow: str) -> View:
    """The form again after Reçu par (or the shortcut's DIT) changed, keeping typed values."""
    data = unseal(deps.secret, view.get("private_metadata"))
    values = read_values(view)
    direction = Direction(data["direction"])
    panel = PanelRef(data["panel"], data.get("hash")) if data.get("panel") else None
    with deps.unit_of_work() as session:
        actor = who.actor(session)
        number = values.get(Field.DIT) if data.get("choose") else data["dit"]
        dit = get_dit(session, number) if number else None
        if dit is not None and data.get("choose"):
            ensure_open(dit)
        kept = Values(
            type_code=values.get(Field.TYPE),
            sent_by=values.get(Field.SENT_BY),
            received_by=values.get(Field.RECEIVED_BY),
            recipient_email=values.get(Field.RECIPIENT_EMAIL),
            subject=values.get(Field.SUBJECT),
            detail=values.get(Field.DETAIL),
            occurred_at=values.get(Field.OCCURRED_AT),
        )
        suffix = _suffix(view, Field.RECIPIENT_EMAIL)
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
            who.t,
            dit,
            direction,
            kept,
            exchange_id=data.get("exchange"),
            panel=panel,
            choose_dit=bool(data.get("choose")),
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
        {"text": plain(option_text(p), OPTION_MAX).to_dict(), "value": p.code}
        for p in found[:OPTIONS_MAX]
    ]


def suggestions(deps: Deps, body: dict[str, Any]) -> list[dict[str, Any]]:
    typed = str(body.get("value") or "")
    field = body.get("action_id")
    view = body.get("view") or {}
    with deps.unit_of_work() as session:
        if field == Field.DIT:
            return [
                dit_option(d).to_dict()
                for d in repo.search_dits(session, typed, limit=OPTIONS_MAX)
                if not d.state.closed
            ]
        data = unseal(deps.secret, view.get("private_metadata"))
        number = read_values(view).get(Field.DIT) if data.get("choose") else data.get("dit")
        dit = repo.dit_by_number(session, number) if number else None
        if dit is None:
            return []
        senders, receivers = people(session, dit, Direction(data["direction"]))
        return _search_people(senders if field == Field.SENT_BY else receivers, typed)


# -- saving ---------------------------------------------------------------------------------
def save(deps: Deps, who: Who, view: dict[str, Any]) -> tuple[str, PanelRef | None, bool]:
    """Log or edit the exchange of a submitted form: (DIT number, panel under it, shortcut)."""
    data = unseal(deps.secret, view.get("private_metadata"))
    values = read_values(view)
    direction = Direction(data["direction"])
    number = values.get(Field.DIT) if data.get("choose") else data.get("dit")
    if not number:
        raise DomainError(_("Choose the DIT of this exchange."), Field.DIT)
    panel = PanelRef(data["panel"], data.get("hash")) if data.get("panel") else None
    form = exchange_input(direction, values)
    with deps.unit_of_work() as session:
        actor = who.actor(session)
        if data.get("exchange"):
            exchange_of(session, int(data["exchange"]), number)
            edit_exchange(session, int(data["exchange"]), form, actor)
        else:
            log_exchange(session, number, form, actor, external_key=submission_key(view))
    return number, panel, bool(data.get("choose"))


def register(app: App, deps: Deps) -> None:
    @app.view(Callback.EXCHANGE_RECEIVED)
    @app.view(Callback.EXCHANGE_SENT)
    @guarded
    def on_submit(ack: Ack, body: dict[str, Any], client: WebClient, who: Who) -> None:
        view = body["view"]
        number, panel, _shortcut = save(deps, who, view)
        if panel is None:
            # Opened alone (/dit recu, the shortcut): the form becomes the DIT's panel.
            with deps.unit_of_work() as session:
                actor = who.actor(session)
                view = build_panel(session, deps, who.t, actor, number)
            ack(response_action="update", view=view)
            return
        ack()
        refresh_panel(deps, client, who, panel, number)

    @app.action(Field.RECEIVED_BY, middleware=[ack_at_once])
    @guarded
    def on_received_by(body: dict[str, Any], client: WebClient, who: Who) -> None:
        view = body["view"]
        if view.get("callback_id") != Callback.EXCHANGE_SENT:
            return
        client.views_update(
            view_id=view["id"],
            hash=view.get("hash"),
            view=rebuild(deps, who, view, follow=Field.RECEIVED_BY),
        )

    @app.action(Field.DIT, middleware=[ack_at_once])
    @guarded
    def on_dit(body: dict[str, Any], client: WebClient, who: Who) -> None:
        view = body["view"]
        client.views_update(
            view_id=view["id"],
            hash=view.get("hash"),
            view=rebuild(deps, who, view, follow=Field.DIT),
        )

    @app.options(Field.DIT)
    @app.options(Field.SENT_BY)
    @app.options(Field.RECEIVED_BY)
    @guarded
    def on_options(ack: Ack, body: dict[str, Any]) -> None:
        ack(options=suggestions(deps, body))

    @app.view(Callback.EXCHANGE_DELETE)
    @guarded
    def on_delete(ack: Ack, body: dict[str, Any], client: WebClient, who: Who) -> None:
        view = body["view"]
        data = unseal(deps.secret, view.get("private_metadata"))
        reason = read_values(view).get(Field.REASON)
        with deps.unit_of_work() as session:
            actor = who.actor(session)
            exchange = exchange_of(session, int(data["exchange"]), data["dit"])
            if exchange.deleted_at is None:  # a double click confirms once
                delete_exchange(session, exchange.id, actor, reason)
        ack()
        refresh_panel(deps, client, who, PanelRef(data["panel"], data.get("hash")), data["dit"])
