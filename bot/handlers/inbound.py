"""Unmatched mail in the dispatch channel: "Attach to a DIT" (a modal) and "Dismiss".

Attaching records the mail as the client's exchange on the chosen DIT, through the same
domain path as a mail matched on arrival (ditbot.domain.inbound.attach); dismissing keeps it,
set aside. Either way the post is rewritten to say who did it, and a second click (by
someone else meanwhile) is told the mail was already handled.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.deps import Deps
from bot.errors import guarded
from bot.ids import Action, Callback, Field
from bot.metadata import InboundAttachMeta, seal, unseal
from bot.middleware import ack_at_once
from bot.parsing import Body, ViewPayload, read_values
from bot.requester import Requester
from bot.views.inbound import attach_modal, handled_message
from ditbot.core.i18n import Translator, _
from ditbot.domain import inbound
from ditbot.domain.errors import DomainError


def _clicked(body: Body) -> tuple[int, str, str]:
    """(inbound mail id, channel, message ts) of a click on an unmatched mail's post."""
    actions = body.get("actions")
    action = dict(actions[0]) if isinstance(actions, list) and actions else {}
    found = body.get("container")
    container: dict[str, Any] = found if isinstance(found, dict) else {}
    try:
        inbound_id = int(str(action.get("value") or ""))
    except ValueError:
        raise DomainError(_("This mail is no longer kept."), "mail") from None
    return (
        inbound_id,
        str(container.get("channel_id") or ""),
        str(container.get("message_ts") or ""),
    )


def attach_clicked(
    body: Body, client: WebClient, deps: Deps, requester: Requester, t: Translator
) -> None:
    inbound_id, channel, ts = _clicked(body)
    with deps.unit_of_work() as session:
        requester.actor(session)  # only a collaborateur may sort mail
        row = inbound.unmatched(session, inbound_id)
        meta = seal(deps.secret, InboundAttachMeta(inbound=inbound_id, channel=channel, ts=ts))
        view = attach_modal(t, row, meta)
    client.views_open(trigger_id=str(body.get("trigger_id") or ""), view=view)


def attach_submitted(
    ack: Ack, view: ViewPayload, client: WebClient, deps: Deps, requester: Requester, t: Translator
) -> None:
    meta = unseal(deps.secret, view.get("private_metadata"), InboundAttachMeta)
    number = read_values(view).text(Field.DIT)
    if not number:
        raise DomainError(_("Choose the DIT of this exchange."), Field.DIT)
    settings = deps.settings
    with deps.unit_of_work() as session:
        row = inbound.attach(
            session,
            meta.inbound,
            number,
            requester.actor(session),
            window_days=settings.portal_window_days,
            relance_after_hours=settings.relance_after_hours,
            locale=settings.locale,
        )
        message = handled_message(
            t, row, requester.name or requester.user_id, row.dit.number if row.dit else number
        )
    ack()
    deps.ctx.wake_delivery()
    _rewrite(client, meta.channel, meta.ts, message)


def dismiss_clicked(
    body: Body, client: WebClient, deps: Deps, requester: Requester, t: Translator
) -> None:
    inbound_id, channel, ts = _clicked(body)
    with deps.unit_of_work() as session:
        row = inbound.dismiss(session, inbound_id, requester.actor(session))
        message = handled_message(t, row, requester.name or requester.user_id, None)
    _rewrite(client, channel, ts, message)


def _rewrite(client: WebClient, channel: str, ts: str, message: dict[str, Any]) -> None:
    if channel and ts:
        client.chat_update(channel=channel, ts=ts, parse="none", **message)


def register(app: App) -> None:
    app.action(Action.INBOUND_ATTACH, middleware=[ack_at_once])(guarded(attach_clicked))
    app.action(Action.INBOUND_DISMISS, middleware=[ack_at_once])(guarded(dismiss_clicked))
    app.view(Callback.INBOUND_ATTACH)(guarded(attach_submitted))
