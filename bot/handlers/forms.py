"""The received / sent forms' listeners: save, follow Reçu par and the DIT chosen, options.

A save is idempotent: the exchange's `external_key` is derived from the modal's id and the
submitted values, so a double click or a Slack retry logs one exchange. private_metadata is
sealed; an edit also checks that the exchange belongs to the DIT it names.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.deps import Deps
from bot.errors import guarded
from bot.flows import forms, panel
from bot.ids import Callback, Field
from bot.metadata import ExchangeFormMeta, unseal
from bot.middleware import ack_at_once
from bot.parsing import Body, ViewPayload, exchange_input, read_values, submission_key
from bot.requester import Requester
from ditbot.core.i18n import _
from ditbot.domain.errors import DomainError
from ditbot.domain.exchanges import ExchangeInput, edit_exchange, log_exchange


@dataclass(frozen=True)
class Submission:
    """A submitted received / sent form, read."""

    meta: ExchangeFormMeta
    dit: str
    exchange: ExchangeInput
    key: str  # the same submission delivered twice logs once


def read_submission(secret: str, view: ViewPayload) -> Submission:
    meta = unseal(secret, view.get("private_metadata"), ExchangeFormMeta)
    values = read_values(view)
    number = values.text(Field.DIT) if meta.choose_dit else meta.dit
    if not number:
        raise DomainError(_("Choose the DIT of this exchange."), Field.DIT)
    return Submission(meta, number, exchange_input(meta.direction, values), submission_key(view))


def form_submitted(
    ack: Ack, view: ViewPayload, client: WebClient, deps: Deps, requester: Requester
) -> None:
    """Log (or edit) the exchange; acked after the domain's verdict (field errors)."""
    submitted = read_submission(deps.secret, view)
    meta, number = submitted.meta, submitted.dit
    with deps.unit_of_work() as session:
        actor = requester.actor(session)
        if meta.exchange is not None:
            panel.exchange_of(session, meta.exchange, number)
            edit_exchange(
                session, meta.exchange, submitted.exchange, actor, expected_version=meta.version
            )
        else:
            log_exchange(session, number, submitted.exchange, actor, external_key=submitted.key)
    if meta.panel is None:
        # Opened alone (/dit recu, the shortcut): the form becomes the DIT's panel.
        ack(response_action="update", view=panel.panel_for(deps, requester, number))
        return
    ack()
    panel.refresh_panel(deps, client, requester, meta.panel, number)


def received_by_changed(body: Body, client: WebClient, deps: Deps, requester: Requester) -> None:
    """Reçu par chosen: its addresses are shown; on the sent form Mail destinataire follows."""
    forms.update_form(deps, client, requester, body.get("view") or {}, follow=Field.RECEIVED_BY)


def sent_by_changed(body: Body, client: WebClient, deps: Deps, requester: Requester) -> None:
    """Envoyé par chosen: the form shows the chosen person's addresses in full."""
    forms.update_form(deps, client, requester, body.get("view") or {}, follow=Field.SENT_BY)


def dit_chosen(body: Body, client: WebClient, deps: Deps, requester: Requester) -> None:
    """On the shortcut's form, the people follow the DIT chosen."""
    forms.update_form(deps, client, requester, body.get("view") or {}, follow=Field.DIT)


def options_asked(ack: Ack, body: Body, deps: Deps, requester: Requester) -> None:
    """The options of an external select: only for a linked collaborateur (the DIT list and
    the contacts' e-mails are our staff's), none for anyone else."""
    ack(options=forms.suggestions(deps, body, requester))


def register(app: App) -> None:
    submitted = guarded(form_submitted)
    app.view(Callback.EXCHANGE_RECEIVED)(submitted)
    app.view(Callback.EXCHANGE_SENT)(submitted)
    app.action(Field.RECEIVED_BY, middleware=[ack_at_once])(guarded(received_by_changed))
    app.action(Field.SENT_BY, middleware=[ack_at_once])(guarded(sent_by_changed))
    app.action(Field.DIT, middleware=[ack_at_once])(guarded(dit_chosen))
    options = guarded(options_asked)
    for field in (Field.DIT, Field.SENT_BY, Field.RECEIVED_BY):
        app.options(field)(options)
