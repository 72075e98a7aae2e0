"""Listeners of the mail form (`mail_compose`) and of drafts.

- open the form: the panel's `compose_mail` button (pushed on the panel), `/dit mail <number>`
  (through `deps.hooks.open_mail_form`), a draft's `draft_resume` button;
- Send: the mail is recorded and queued in one transaction (ditbot/domain/mail.py), the modal closes
  (or becomes the DIT's panel when it was opened alone), the panel underneath is redrawn, and
  delivery happens in the background: the ack never waits for SMTP;
- drafts: Slack sends no input values on close, so what is typed reaches us while typing
  (`dispatch_action` on the message, `on_character_entered`) and through the "keep as draft"
  button; on close with text begun the user gets a DM with `draft_resume` / `draft_discard`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from sqlalchemy.orm import Session

from bot.deps import Deps, MailFormRequest, PanelRef
from bot.errors import guarded
from bot.handlers.home import publish_home
from bot.handlers.panel import build_panel, panel_of, refresh_panel
from bot.ids import Action, Callback, Field
from bot.metadata import seal, unseal
from bot.middleware import Who, ack_at_once
from bot.parsing import read_values
from bot.views import mail as views
from ditbot.core.i18n import Translator
from ditbot.domain import drafts
from ditbot.domain.exchanges import ensure_open, get_dit
from ditbot.domain.mail import (
    MailInput,
    check_can_send,
    default_recipient,
    default_subject,
    recipients_of,
    send_mail,
)
from storage import repositories as repo
from storage.models import Collaborator, Draft
from storage.outbox import enqueue
from storage.types import utcnow
from storage.vocabulary import OutboxKind

log = logging.getLogger(__name__)


def submission_key(view: dict[str, Any]) -> str:
    """One mail per mail form: Slack delivering the same Send twice sends one mail."""
    return f"slack-mail:{view['id']}"


def _sender_label(deps: Deps, collaborator: Collaborator) -> str:
    from email.utils import parseaddr

    _, address = parseaddr(deps.settings.mail_from or "")
    return f"{collaborator.name} <{address}>"


def build_form(
    session: Session,
    deps: Deps,
    who: Who,
    number: str,
    *,
    panel: PanelRef | None,
    draft: Draft | None = None,
    saved_at: Any = None,
) -> View:
    """The mail form of DIT `number`, filled from the user's draft when there is one.

    `saved_at` (the keep-as-draft button) redraws the same form with a "draft saved" note.
    """
    check_can_send(deps.settings.mail_from)
    actor = who.actor(session)
    assert actor.collaborator is not None
    dit = get_dit(session, number)
    ensure_open(dit)
    if draft is None:
        draft = repo.draft_of(session, actor.collaborator.id, dit.id)
    choices = recipients_of(session, dit)
    default = default_recipient(dit)
    metadata: dict[str, Any] = {"dit": dit.number}
    if panel is not None:
        metadata.update(panel=panel.view_id, hash=panel.hash)
    form = views.MailForm(
        dit=dit,
        recipients=choices,
        to=(draft.to_email if draft and draft.to_email else None)
        or (default.value if default else None),
        subject=(draft.subject if draft and draft.subject else None) or default_subject(dit),
        detail=draft.detail if draft else "",
        metadata=seal(deps.secret, metadata),
        sender=_sender_label(deps, actor.collaborator),
        draft_saved_at=saved_at,
        resumed=draft is not None and saved_at is None,
    )
    return views.mail_form(who.t, form)


def open_form(
    deps: Deps,
    client: WebClient,
    who: Who,
    number: str,
    *,
    trigger_id: str,
    panel: PanelRef | None = None,
    draft_id: int | None = None,
) -> None:
    """Open the mail form (pushed on `panel` when given)."""
    with deps.unit_of_work() as session:
        draft = None
        if draft_id is not None:
            actor = who.actor(session)
            assert actor.collaborator is not None
            draft = drafts.get_draft(session, draft_id, actor.collaborator)
            number = draft.dit.number
        view = build_form(session, deps, who, number, panel=panel, draft=draft)
    if panel is None:
        client.views_open(trigger_id=trigger_id, view=view)
        return
    try:
        client.views_push(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        if error.response.get("error") != "push_limit_reached":
            raise
        # The panel is already the third view: the form replaces it instead.
        with deps.unit_of_work() as session:
            view = build_form(session, deps, who, number, panel=None)
        client.views_update(view_id=panel.view_id, view=view)


def keep_draft(deps: Deps, who: Who, view: dict[str, Any]) -> tuple[str, bool]:
    """Keep what the form holds as the user's draft: (DIT number, kept).

    Concurrent keystroke batches of one form are serialised by the DIT's lock in keep_typed.
    """
    data = unseal(deps.secret, view.get("private_metadata"))
    values = read_values(view)
    number = str(data["dit"])
    with deps.unit_of_work() as session:
        actor = who.actor(session)
        assert actor.collaborator is not None
        dit = get_dit(session, number)
        kept = drafts.keep_typed(
            session,
            actor.collaborator,
            number,
            form_key=submission_key(view),
            to=values.get(Field.TO),
            subject=values.get(Field.SUBJECT),
            detail=values.get(Field.DETAIL),
            default_subject=default_subject(dit),
        )
    return number, kept is not None


def record_then_ack(deps: Deps) -> Callable[..., Any]:
    """Listener middleware of Send: record and queue the mail, then ack, in the HTTP thread.

    The ack needs the domain's verdict (field errors come back on the form) and nothing from
    SMTP. Doing this here answers Slack without queueing on bolt's listener pool and its 10 ms
    ack polling. A refusal raised here reaches bot.errors.handle_error unacked, which turns it
    into field errors.
    """

    def middleware(ack: Ack, body: dict[str, Any], context: BoltContext, next: Any) -> Any:
        who: Who = context["who"]
        view = body["view"]
        data = unseal(deps.secret, view.get("private_metadata"))
        values = read_values(view)
        with deps.unit_of_work() as session:
            exchange, created = send_mail(
                session,
                str(data["dit"]),
                MailInput(
                    detail=values.get(Field.DETAIL) or "",
                    to=values.get(Field.TO),
                    subject=values.get(Field.SUBJECT),
                ),
                who.actor(session),
                mail_from=deps.settings.mail_from,
                external_key=submission_key(view),
            )
            number = exchange.dit.number
        if created:
            deps.ctx.wake_delivery()
        if data.get("panel"):
            ack()  # the form closes; the panel underneath is redrawn after the ack
        else:
            # Opened alone (/dit mail, a draft): the form becomes the DIT's panel.
            with deps.unit_of_work() as session:
                panel_view = build_panel(session, deps, who.t, who.actor(session), number)
            ack(response_action="update", view=panel_view)
        return next()

    return middleware


def home_drafts(
    session: Session, collaborator: Collaborator, t: Translator
) -> list[dict[str, Any]]:
    """The drafts section of the App Home (`deps.hooks.home_drafts`)."""
    return [
        block.to_dict() for block in views.home_drafts(t, drafts.drafts_of(session, collaborator))
    ]


def _in_mail_form(body: dict[str, Any]) -> bool:
    return (body.get("view") or {}).get("callback_id") == Callback.MAIL_COMPOSE


def register(app: App, deps: Deps) -> None:
    deps.hooks.open_mail_form = lambda request: _open_for_command(deps, request)
    deps.hooks.home_drafts = home_drafts

    @app.action(Action.COMPOSE_MAIL, middleware=[ack_at_once])
    @guarded
    def on_compose(body: dict[str, Any], client: WebClient, who: Who) -> None:
        view = body.get("view") or {}
        if view.get("type") == "modal":
            data, panel = panel_of(deps, body)
            open_form(deps, client, who, data["dit"], trigger_id=body["trigger_id"], panel=panel)
            return
        number = str(body["actions"][0].get("value") or "")
        open_form(deps, client, who, number, trigger_id=body["trigger_id"])

    @app.view(Callback.MAIL_COMPOSE, middleware=[record_then_ack(deps)])
    @guarded
    def on_send(body: dict[str, Any], client: WebClient, who: Who) -> None:
        """After the ack: redraw the panel the form was pushed from."""
        data = unseal(deps.secret, body["view"].get("private_metadata"))
        if data.get("panel"):
            panel = PanelRef(data["panel"], data.get("hash"))
            refresh_panel(deps, client, who, panel, str(data["dit"]))

    @app.view_closed(Callback.MAIL_COMPOSE, middleware=[ack_at_once])
    @guarded
    def on_close(body: dict[str, Any], client: WebClient, who: Who) -> None:
        data = unseal(deps.secret, (body.get("view") or {}).get("private_metadata"))
        with deps.unit_of_work() as session:
            actor = who.actor(session)
            assert actor.collaborator is not None
            draft = drafts.draft_for(session, actor.collaborator, str(data["dit"]))
            if draft is None or not drafts.has_text(draft.detail, draft.subject, None):
                return
            enqueue(
                session,
                OutboxKind.SLACK_DM,
                {"reason": "draft_kept", "user": who.user_id, "draft_id": draft.id},
            )
        deps.ctx.wake_delivery()
        publish_home(deps, client, who)

    @app.action(Field.DETAIL, matchers=[_in_mail_form], middleware=[ack_at_once])
    @guarded
    def on_typing(body: dict[str, Any], who: Who) -> None:
        keep_draft(deps, who, body["view"])

    @app.action(Action.DRAFT_SAVE, middleware=[ack_at_once])
    @guarded
    def on_keep(body: dict[str, Any], client: WebClient, who: Who) -> None:
        view = body["view"]
        number, _kept = keep_draft(deps, who, view)
        data = unseal(deps.secret, view.get("private_metadata"))
        panel = PanelRef(data["panel"], data.get("hash")) if data.get("panel") else None
        with deps.unit_of_work() as session:
            updated = build_form(session, deps, who, number, panel=panel, saved_at=utcnow())
        updated.private_metadata = view.get("private_metadata")  # same form, same key
        try:
            client.views_update(view_id=view["id"], hash=view.get("hash"), view=updated)
        except SlackApiError as error:  # the user typed meanwhile: the note can wait
            if error.response.get("error") != "hash_conflict":
                raise

    @app.action(Action.DRAFT_RESUME, middleware=[ack_at_once])
    @guarded
    def on_resume(body: dict[str, Any], client: WebClient, who: Who) -> None:
        draft_id = int(body["actions"][0].get("value") or 0)
        open_form(deps, client, who, "", trigger_id=body["trigger_id"], draft_id=draft_id)

    @app.action(Action.DRAFT_DISCARD, middleware=[ack_at_once])
    @guarded
    def on_discard(body: dict[str, Any], client: WebClient, respond: Respond, who: Who) -> None:
        draft_id = int(body["actions"][0].get("value") or 0)
        with deps.unit_of_work() as session:
            actor = who.actor(session)
            assert actor.collaborator is not None
            number = drafts.discard_draft(session, draft_id, actor.collaborator)
        if body.get("response_url"):  # the DM: the message says it is gone
            respond(replace_original=True, **views.draft_gone_message(who.t, number))
        publish_home(deps, client, who)


def _open_for_command(deps: Deps, request: MailFormRequest) -> None:
    open_form(deps, request.client, request.who, request.dit_number, trigger_id=request.trigger_id)
