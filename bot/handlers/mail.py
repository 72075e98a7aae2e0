"""Listeners of the mail form (`mail_compose`) and of drafts.

- open the form: the panel's `compose_mail` button (pushed on the panel), `/dit mail <number>`
  (bot/handlers/commands.py), a draft's `draft_resume` button;
- Send: the mail is recorded and queued in one transaction (ditbot/domain/mail.py), the modal closes
  (or becomes the DIT's panel when it was opened alone), the panel underneath is redrawn, and
  delivery happens in the background: the ack never waits for SMTP;
- drafts: Slack sends no input values on close, so what is typed reaches us while typing
  (`dispatch_action` on the message, `on_character_entered`) and through the "keep as draft"
  button, and the subject and the To as they change; on close with text begun the user gets
  one DM per draft with `draft_resume` / `draft_discard`, updated on later closes, and told
  when the draft is emptied, discarded or sent.
"""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext, BoltResponse, Respond
from slack_sdk import WebClient

from bot.deps import Deps
from bot.errors import guarded
from bot.flows.home import publish_home
from bot.flows.mail import open_mail_form, recipient_options, show_draft_saved, show_recipient
from bot.flows.panel import panel_for, refresh_panel
from bot.ids import Action, Callback, Field
from bot.metadata import MailFormMeta, unseal
from bot.middleware import Next, ack_at_once
from bot.parsing import (
    ActionPayload,
    Body,
    ViewPayload,
    action_value,
    in_modal,
    panel_of,
    read_values,
)
from bot.requester import Requester, identify
from bot.views import mail as views
from ditbot.core.i18n import Translator
from ditbot.domain import drafts
from ditbot.domain.exchanges import get_dit
from ditbot.domain.mail import MailInput, default_subject, send_mail


def form_key(view: ViewPayload) -> str:
    """One mail per mail form: Slack delivering the same Send twice sends one mail."""
    return f"slack-mail:{view.get('id')}"


def keep_draft(deps: Deps, requester: Requester, view: ViewPayload) -> MailFormMeta:
    """Keep what the mail form holds as the user's draft of its DIT.

    Concurrent keystroke batches of one form are serialised by the DIT's lock in keep_typed.
    """
    meta = unseal(deps.secret, view.get("private_metadata"), MailFormMeta)
    values = read_values(view)
    with deps.unit_of_work() as session:
        me = requester.collaborator(session)
        dit = get_dit(session, meta.dit)
        drafts.keep_typed(
            session,
            me,
            meta.dit,
            form_key=form_key(view),
            to=values.text(Field.TO),
            subject=values.text(Field.SUBJECT),
            detail=values.text(Field.DETAIL),
            default_subject=default_subject(dit),
        )
    return meta


def compose_clicked(
    body: Body, action: ActionPayload, client: WebClient, deps: Deps, requester: Requester
) -> None:
    """`compose_mail`: on the panel, the form pushed on it; elsewhere, the form alone."""
    trigger_id = body.get("trigger_id", "")
    if in_modal(body):
        meta, ref = panel_of(deps.secret, body.get("view") or {})
        open_mail_form(deps, client, requester, meta.dit, trigger_id=trigger_id, panel=ref)
    else:
        open_mail_form(deps, client, requester, action_value(action), trigger_id=trigger_id)


def record_then_ack(
    ack: Ack, body: Body, context: BoltContext, deps: Deps, next: Next
) -> BoltResponse | None:
    """Listener middleware of Send: record and queue the mail, then ack, in the HTTP thread.

    The ack needs the domain's verdict (field errors come back on the form) and nothing from
    SMTP. Doing this here answers Slack without queueing on bolt's listener pool and its 10 ms
    ack polling. A refusal raised here reaches bot.errors.handle_error unacked, which turns it
    into field errors.
    """
    requester = identify(context, body)
    view = body.get("view") or {}
    meta = unseal(deps.secret, view.get("private_metadata"), MailFormMeta)
    values = read_values(view)
    mail = MailInput(
        detail=values.text(Field.DETAIL) or "",
        to=values.text(Field.TO),
        subject=values.text(Field.SUBJECT),
    )
    with deps.unit_of_work() as session:
        exchange, created = send_mail(
            session,
            meta.dit,
            mail,
            requester.actor(session),
            mail_from=deps.settings.mail_from,
            external_key=form_key(view),
        )
        number = exchange.dit.number
    if created:
        deps.ctx.wake_delivery()
    if meta.panel is not None:
        ack()  # the form closes; the panel underneath is redrawn after the ack
    else:
        # Opened alone (/dit mail, a draft): the form becomes the DIT's panel.
        ack(response_action="update", view=panel_for(deps, requester, number))
    return next()


def mail_sent(view: ViewPayload, client: WebClient, deps: Deps, requester: Requester) -> None:
    """After the ack: redraw the panel the form was pushed from."""
    meta = unseal(deps.secret, view.get("private_metadata"), MailFormMeta)
    if meta.panel is not None:
        refresh_panel(deps, client, requester, meta.panel, meta.dit)


def mail_closed(view: ViewPayload, client: WebClient, deps: Deps, requester: Requester) -> None:
    """Cancel or X: a draft with text begun is offered back by DM, and shown on the Home."""
    meta = unseal(deps.secret, view.get("private_metadata"), MailFormMeta)
    with deps.unit_of_work() as session:
        me = requester.collaborator(session)
        subject = default_subject(get_dit(session, meta.dit))
        if not drafts.offer_kept_draft(session, me, meta.dit, default_subject=subject):
            return
    deps.ctx.wake_delivery()
    publish_home(deps, client, requester)


def _in_mail_form(body: Body) -> bool:
    return (body.get("view") or {}).get("callback_id") == Callback.MAIL_COMPOSE


def typed(body: Body, deps: Deps, requester: Requester) -> None:
    """A batch of keystrokes in the message or the subject: kept as the draft."""
    keep_draft(deps, requester, body.get("view") or {})


def recipient_chosen(body: Body, client: WebClient, deps: Deps, requester: Requester) -> None:
    """To changed: kept in the draft, and the form names the chosen address in full."""
    view = body.get("view") or {}
    meta = keep_draft(deps, requester, view)
    show_recipient(deps, client, requester, view, meta)


def recipients_asked(ack: Ack, body: Body, deps: Deps, requester: Requester) -> None:
    """The To list of a client with more than 100 addresses, searched as the user types."""
    ack(options=recipient_options(deps, requester, body))


def keep_clicked(body: Body, client: WebClient, deps: Deps, requester: Requester) -> None:
    """The "keep as draft" button: kept, and the form says so."""
    view = body.get("view") or {}
    meta = keep_draft(deps, requester, view)
    show_draft_saved(deps, client, requester, view, meta)


def resume_clicked(
    body: Body, action: ActionPayload, client: WebClient, deps: Deps, requester: Requester
) -> None:
    """`draft_resume` (DM or Home): the mail form of that draft."""
    draft_id = int(action_value(action) or 0)
    trigger_id = body.get("trigger_id", "")
    open_mail_form(deps, client, requester, "", trigger_id=trigger_id, draft_id=draft_id)


def discard_clicked(
    body: Body,
    action: ActionPayload,
    client: WebClient,
    respond: Respond,
    deps: Deps,
    requester: Requester,
    t: Translator,
) -> None:
    """`draft_discard` (DM or Home): the draft is deleted, the DM says so, the Home forgets it."""
    draft_id = int(action_value(action) or 0)
    in_dm = bool(body.get("response_url"))  # the DM itself: replaced here, at once
    with deps.unit_of_work() as session:
        me = requester.collaborator(session)
        number = drafts.discard_draft(session, draft_id, me, tell_dm=not in_dm)
    if in_dm:
        respond(replace_original=True, **views.draft_gone_message(t, number))
    else:  # from the Home: the draft's DM, if any, is updated by the DM worker
        deps.ctx.wake_delivery()
    publish_home(deps, client, requester)


def register(app: App) -> None:
    app.action(Action.COMPOSE_MAIL, middleware=[ack_at_once])(guarded(compose_clicked))
    app.view(Callback.MAIL_COMPOSE, middleware=[record_then_ack])(guarded(mail_sent))
    app.view_closed(Callback.MAIL_COMPOSE, middleware=[ack_at_once])(guarded(mail_closed))
    app.action(Field.DETAIL, matchers=[_in_mail_form], middleware=[ack_at_once])(guarded(typed))
    app.action(Field.SUBJECT, matchers=[_in_mail_form], middleware=[ack_at_once])(guarded(typed))
    app.action(Field.TO, matchers=[_in_mail_form], middleware=[ack_at_once])(
        guarded(recipient_chosen)
    )
    app.options(Field.TO)(guarded(recipients_asked))
    app.action(Action.DRAFT_SAVE, middleware=[ack_at_once])(guarded(keep_clicked))
    app.action(Action.DRAFT_RESUME, middleware=[ack_at_once])(guarded(resume_clicked))
    app.action(Action.DRAFT_DISCARD, middleware=[ack_at_once])(guarded(discard_clicked))
