"""The received / sent forms: build them (new, edit, from the shortcut), open, push, redraw.

Their private_metadata (`ExchangeFormMeta`) is sealed; it names the DIT, the exchange when
editing, and the panel the form was pushed from (redrawn after the save).
"""

from __future__ import annotations

import re
from dataclasses import replace

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Option
from slack_sdk.models.views import View
from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.flows.panel import exchange_of
from bot.ids import Field
from bot.metadata import ExchangeFormMeta, PanelRef, seal, unseal
from bot.parsing import Body, ViewPayload, block_suffix, read_values
from bot.requester import Requester
from bot.views.choice import matching
from bot.views.forms import FormSpec, Person, Values, dit_option, exchange_form
from ditbot.core.i18n import Translator, _
from ditbot.domain.errors import Conflict, NotLinked
from ditbot.domain.exchanges import (
    Actor,
    Party,
    defaults_for,
    edit_refusal,
    ensure_open,
    get_dit,
    preferred_email,
    version_of,
)
from ditbot.domain.validation import text_fault
from storage import repositories as repo
from storage.models import Dit, Exchange
from storage.types import utcnow
from storage.vocabulary import Direction

OPTIONS_MAX = 100
NUMBER_LIKE = re.compile(r"\b[A-Za-z]{2,6}-\d{2,4}-\d{1,8}\b")


# -- building -----------------------------------------------------------------------------
def people(session: Session, dit: Dit, direction: Direction) -> tuple[list[Person], list[Person]]:
    """(senders, receivers): a received exchange goes client contact -> collaborateur."""
    staff = [Person.of(c) for c in repo.all_collaborators(session)]
    contacts = [Person.of(c) for c in repo.contacts_of_client(session, dit.client_id)]
    return (contacts, staff) if direction == Direction.RECEIVED else (staff, contacts)


def _code(party: Party | None) -> str | None:
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
    secret: str,
    t: Translator,
    dit: Dit | None,
    values: Values,
    meta: ExchangeFormMeta,
    *,
    recipient_suffix: int = 0,
) -> View:
    """The form of `meta` on `dit` (None: the shortcut's form, no DIT chosen yet)."""
    senders, receivers = people(session, dit, meta.direction) if dit is not None else ([], [])
    spec = FormSpec(
        direction=meta.direction,
        dit=dit,
        types=repo.exchange_types(session),
        senders=senders,
        receivers=receivers,
        values=values,
        metadata=seal(secret, replace(meta, dit=dit.number if dit is not None else None)),
        editing=meta.exchange is not None,
        choose_dit=meta.choose_dit,
        recipient_suffix=recipient_suffix,
    )
    return exchange_form(t, spec)


def new_form(
    deps: Deps, requester: Requester, number: str, direction: Direction, panel: PanelRef | None
) -> View:
    with deps.unit_of_work() as session:
        actor = requester.actor(session)
        dit = get_dit(session, number)
        ensure_open(dit)
        ensure_has_contacts(session, dit)
        values = new_values(dit, direction, actor)
        meta = ExchangeFormMeta(direction=direction, panel=panel)
        return form_view(session, deps.secret, requester.t, dit, values, meta)


def ensure_has_contacts(session: Session, dit: Dit) -> None:
    """Refuse, before a form opens, an exchange with a client who has no contact to name."""
    if not repo.contacts_of_client(session, dit.client_id):
        raise Conflict(
            _(
                "{client} has no contact yet, so no exchange can name one: add the client's "
                "contacts (REST API or `ditbot import`), then try again."
            ),
            client=dit.client.name,
        )


# -- opening --------------------------------------------------------------------------------
def open_new_form(
    deps: Deps,
    client: WebClient,
    requester: Requester,
    number: str,
    direction: Direction,
    *,
    trigger_id: str,
) -> None:
    """`/dit recu|envoye <number>`: the form alone (the panel replaces it after the save)."""
    view = new_form(deps, requester, number, direction, None)
    client.views_open(trigger_id=trigger_id, view=view)


def push_new_form(
    deps: Deps,
    client: WebClient,
    requester: Requester,
    number: str,
    direction: Direction,
    *,
    trigger_id: str,
    panel: PanelRef,
) -> None:
    """A panel button: the form on top of the panel."""
    view = new_form(deps, requester, number, direction, panel)
    client.views_push(trigger_id=trigger_id, view=view)


def push_edit_form(
    deps: Deps,
    client: WebClient,
    requester: Requester,
    number: str,
    exchange_id: int,
    *,
    trigger_id: str,
    panel: PanelRef,
) -> None:
    """The panel's menu: the form of one exchange, filled, on top of the panel."""
    with deps.unit_of_work() as session:
        actor = requester.actor(session)
        exchange = exchange_of(session, exchange_id, number)
        refusal = edit_refusal(exchange, actor)
        if refusal is not None:
            raise refusal
        meta = ExchangeFormMeta(
            direction=exchange.direction,
            exchange=exchange.id,
            panel=panel,
            version=version_of(session, exchange),
        )
        view = form_view(
            session, deps.secret, requester.t, exchange.dit, edit_values(exchange), meta
        )
    client.views_push(trigger_id=trigger_id, view=view)


def dit_named_in(session: Session, text: str) -> Dit | None:
    """The first open DIT whose number is written in `text`, to preselect it."""
    for candidate in NUMBER_LIKE.findall(text)[:5]:
        dit = repo.dit_by_number(session, candidate.upper())
        if dit is not None:
            return None if dit.state.closed else dit
    return None


def open_shortcut_form(
    deps: Deps, client: WebClient, requester: Requester, text: str, *, trigger_id: str
) -> None:
    """The received form of the `log_exchange` shortcut: detail = the message, DIT to choose."""
    with deps.unit_of_work() as session:
        actor = requester.actor(session)
        dit = dit_named_in(session, text)
        if dit is not None:
            values = new_values(dit, Direction.RECEIVED, actor, detail=text)
        else:
            values = Values(type_code="appel", detail=text, occurred_at=utcnow())
        meta = ExchangeFormMeta(direction=Direction.RECEIVED, choose_dit=True)
        view = form_view(session, deps.secret, requester.t, dit, values, meta)
    client.views_open(trigger_id=trigger_id, view=view)


# -- following a field ----------------------------------------------------------------------
def update_form(
    deps: Deps, client: WebClient, requester: Requester, view: ViewPayload, *, follow: Field
) -> None:
    """The form again after Reçu par (or the shortcut's DIT) changed, keeping typed values."""
    meta = unseal(deps.secret, view.get("private_metadata"), ExchangeFormMeta)
    values = read_values(view)
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
            mine = contact is not None and contact.client_id == dit.client_id
            kept = replace(kept, recipient_email=preferred_email(contact) if mine else None)
            suffix += 1
        elif follow == Field.DIT and dit is not None:
            fresh = new_values(dit, meta.direction, actor)
            kept = replace(
                kept,
                sent_by=fresh.sent_by,
                received_by=fresh.received_by,
                recipient_email=fresh.recipient_email,
            )
        updated = form_view(
            session, deps.secret, requester.t, dit, kept, meta, recipient_suffix=suffix
        )
    try:
        client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=updated)
    except SlackApiError as error:  # redrawn meanwhile by a later choice: that one stands
        if error.response.get("error") != "hash_conflict":
            raise


# -- options of external selects -------------------------------------------------------------
def suggestions(deps: Deps, body: Body, requester: Requester) -> list[Option]:
    """The options of an external select of a form (DIT chooser, Envoyé par, Reçu par).

    None for a Slack user who is not a linked collaborateur, nor for typed text that holds a
    character no database can compare (NUL): an options answer has no room for a message.
    """
    typed = str(body.get("value") or "")
    field = body.get("action_id")
    view = body.get("view") or {}
    if text_fault(typed, single_line=False) is not None:
        return []
    with deps.unit_of_work() as session:
        try:
            requester.actor(session)
        except NotLinked:
            return []
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
        chosen = senders if field == Field.SENT_BY else receivers
        return matching([p.choice for p in chosen], typed)
