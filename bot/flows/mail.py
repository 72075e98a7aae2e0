"""The mail form (`mail_compose`): build it (filled from a draft), open or push it, redraw it.

Its private_metadata (`MailFormMeta`) names the DIT and the panel it was pushed from.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.flows.stack import open_or_push
from bot.metadata import MailFormMeta, PanelRef, seal
from bot.parsing import ViewPayload
from bot.requester import Requester
from bot.views import mail as views
from ditbot.domain import drafts
from ditbot.domain.exchanges import ensure_open, get_dit
from ditbot.domain.mail import check_can_send, default_recipient, default_subject, recipients_of
from storage import repositories as repo
from storage.models import Collaborator, Draft
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
) -> View:
    """The mail form of DIT `number`, filled from the user's draft when there is one.

    `saved_at` (the keep-as-draft button) redraws the same form, with its own sealed
    `metadata`, and a "draft saved" note.
    """
    me = requester.collaborator(session)
    dit = get_dit(session, number)
    check_can_send(deps.settings.mail_from)
    ensure_open(dit)
    if draft is None:
        draft = repo.draft_of(session, me.id, dit.id)
    default = default_recipient(dit)
    form = views.MailForm(
        dit=dit,
        recipients=recipients_of(session, dit),
        to=(draft.to_email if draft and draft.to_email else None)
        or (default.value if default else None),
        subject=(draft.subject if draft and draft.subject else None) or default_subject(dit),
        detail=draft.detail if draft else "",
        metadata=metadata or seal(deps.secret, MailFormMeta(dit=dit.number, panel=panel)),
        sender=_sender_label(deps, me),
        draft_saved_at=saved_at,
        resumed=draft is not None and saved_at is None,
    )
    return views.mail_form(requester.t, form)


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
