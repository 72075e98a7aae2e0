"""The mail form (`mail_compose`): build it (filled from a draft), open or push it, redraw it.

Its private_metadata (`MailFormMeta`) names the DIT and the panel it was pushed from. It is
refused before it opens when the client has nobody with an address to write to; its To list
is the one rule of bot/views/choice.py (an external select past 100 addresses, searched by
`recipient_options`), redrawn when the choice changes to name the chosen address in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.utils import parseaddr

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Option
from slack_sdk.models.views import View
from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.flows.stack import open_or_push
from bot.ids import Field
from bot.metadata import MailFormMeta, PanelRef, seal, unseal
from bot.parsing import Body, ViewPayload, read_values
from bot.requester import Requester
from bot.views import mail as views
from bot.views.choice import matching
from ditbot.core.i18n import _
from ditbot.domain import drafts
from ditbot.domain.errors import Conflict
from ditbot.domain.exchanges import ensure_open, get_dit
from ditbot.domain.mail import (
    Recipient,
    check_can_send,
    default_recipient,
    default_subject,
    recipients_of,
)
from storage import repositories as repo
from storage.models import Collaborator, Dit, Draft
from storage.types import utcnow


def _sender_label(deps: Deps, collaborator: Collaborator) -> str:
    _, address = parseaddr(deps.settings.mail_from or "")
    return f"{collaborator.name} <{address}>"


def build_mail_form(
    session: Session,
    deps: Deps,
    requester: Requester,
    number: str,
    *,
    panel: PanelRef | None,
    draft: Draft | None = None,
    saved_at: datetime | None = None,
    metadata: str | None = None,
    to: str | None = None,
) -> View:
    """The mail form of DIT `number`, filled from the user's draft when there is one.

    `saved_at` (the keep-as-draft button) redraws the same form, with its own sealed
    `metadata`, and a "draft saved" note; `to` is the recipient just chosen (a redraw).
    Refused before it opens when the client has nobody with an e-mail address to write to.
    """
    me = requester.collaborator(session)
    dit = get_dit(session, number)
    check_can_send(deps.settings.mail_from)
    ensure_open(dit)
    recipients = recipients_of(session, dit)
    ensure_someone_to_mail(session, dit, recipients)
    if draft is None:
        draft = repo.draft_of(session, me.id, dit.id)
    default = default_recipient(dit)
    form = views.MailForm(
        dit=dit,
        recipients=recipients,
        to=to
        or (draft.to_email if draft and draft.to_email else None)
        or (default.value if default else None),
        subject=(draft.subject if draft and draft.subject else None) or default_subject(dit),
        detail=draft.detail if draft else "",
        metadata=metadata or seal(deps.secret, MailFormMeta(dit=dit.number, panel=panel)),
        sender=_sender_label(deps, me),
        draft_saved_at=saved_at,
        resumed=draft is not None and saved_at is None and to is None,  # not on a redraw
    )
    return views.mail_form(requester.t, form)


def ensure_someone_to_mail(session: Session, dit: Dit, recipients: Sequence[Recipient]) -> None:
    """Say what is missing, and what to do, when the client has no address to write to."""
    if recipients:
        return
    if not repo.contacts_of_client(session, dit.client_id):
        raise Conflict(
            _(
                "{client} has no contact yet, so there is nobody to write to: add the "
                "client's contacts with their e-mail addresses (REST API or `ditbot import`), "
                "then write the mail."
            ),
            client=dit.client.name,
        )
    raise Conflict(
        _(
            "No contact of {client} has an e-mail address: give one a Mail 1 or a Mail 2 "
            "(REST API or `ditbot import`), then write the mail."
        ),
        client=dit.client.name,
    )


def recipient_options(deps: Deps, requester: Requester, body: Body) -> list[Option]:
    """The options of the To external_select (a client with more than 100 addresses)."""
    view = body.get("view") or {}
    meta = unseal(deps.secret, view.get("private_metadata"), MailFormMeta)
    with deps.unit_of_work() as session:
        requester.collaborator(session)  # our staff only: contacts' addresses are private
        dit = get_dit(session, meta.dit)
        choices = [views.recipient_choice(r) for r in recipients_of(session, dit)]
        return matching(choices, str(body.get("value") or ""))


def show_recipient(
    deps: Deps, client: WebClient, requester: Requester, view: ViewPayload, meta: MailFormMeta
) -> None:
    """Redraw the mail form after To changed: the line under it names the chosen address."""
    with deps.unit_of_work() as session:
        updated = build_mail_form(
            session,
            deps,
            requester,
            meta.dit,
            panel=meta.panel,
            metadata=view.get("private_metadata"),
            to=read_values(view).text(Field.TO),
        )
    try:
        client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=updated)
    except SlackApiError as error:  # redrawn meanwhile: the next change redraws it again
        if error.response.get("error") != "hash_conflict":
            raise


def open_mail_form(
    deps: Deps,
    client: WebClient,
    requester: Requester,
    number: str,
    *,
    trigger_id: str,
    panel: PanelRef | None = None,
    draft_id: int | None = None,
) -> None:
    """Open the mail form of DIT `number` (of draft `draft_id`), pushed on `panel` when given.

    A modal stack holds 3 views: past that, the form replaces the panel.
    """
    with deps.unit_of_work() as session:
        draft = None
        if draft_id is not None:
            draft = drafts.get_draft(session, draft_id, requester.collaborator(session))
            number = draft.dit.number
        view = build_mail_form(session, deps, requester, number, panel=panel, draft=draft)

    def alone() -> View:
        """The form without its way back to the panel it replaces."""
        with deps.unit_of_work() as session:
            return build_mail_form(session, deps, requester, number, panel=None)

    over = panel.view_id if panel else None
    open_or_push(client, view, trigger_id=trigger_id, over=over, instead=alone)


def show_draft_saved(
    deps: Deps,
    client: WebClient,
    requester: Requester,
    view: ViewPayload,
    meta: MailFormMeta,
) -> None:
    """Redraw the mail form `view` with a "draft saved" note (same form, same metadata)."""
    with deps.unit_of_work() as session:
        updated = build_mail_form(
            session,
            deps,
            requester,
            meta.dit,
            panel=meta.panel,
            saved_at=utcnow(),
            metadata=view.get("private_metadata"),
        )
    try:
        client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=updated)
    except SlackApiError as error:  # the user typed meanwhile: the note can wait
        if error.response.get("error") != "hash_conflict":
            raise
