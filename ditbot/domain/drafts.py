"""Drafts (brouillons) of mails: one per collaborateur and DIT, kept until sent or discarded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ditbot.core.i18n import _
from ditbot.domain.errors import NotFound
from ditbot.domain.exchanges import get_dit
from ditbot.domain.validation import SUBJECT_MAX
from storage import repositories as repo
from storage.models import Collaborator, Draft, Exchange
from storage.outbox import enqueue
from storage.outbox_payloads import DraftGone, DraftKept

Why = Literal["emptied", "discarded", "sent"]
DETAIL_KEEP = 20_000  # a draft may be longer than a mail; Slack's input stops at 3000 anyway


def has_text(detail: str | None, subject: str | None, default_subject: str | None) -> bool:
    """Whether something worth keeping was typed (a message, or a subject of one's own)."""
    if detail and detail.strip():
        return True
    typed = (subject or "").strip()
    return bool(typed) and typed != (default_subject or "").strip()


def save_draft(
    session: Session,
    collaborator: Collaborator,
    dit_number: str,
    *,
    to: str | None,
    subject: str | None,
    detail: str | None,
) -> Draft:
    """Create or overwrite the collaborateur's draft for this DIT."""
    dit = get_dit(session, dit_number)
    draft = repo.draft_of(session, collaborator.id, dit.id)
    if draft is None:
        draft = Draft(collaborator_id=collaborator.id, dit_id=dit.id, dit=dit)
        session.add(draft)
    draft.to_email = (to or "").strip()[:254] or None
    draft.subject = (subject or "").strip()[:SUBJECT_MAX] or None
    draft.detail = (detail or "")[:DETAIL_KEEP]
    session.flush()
    return draft


def keep_typed(
    session: Session,
    collaborator: Collaborator,
    dit_number: str,
    *,
    form_key: str,
    to: str | None,
    subject: str | None,
    detail: str | None,
    default_subject: str | None,
) -> Draft | None:
    """Keep what a mail form holds while the user types; None when nothing is kept.

    Nothing is kept once the form `form_key` was sent (a keystroke arriving after the Send
    must not bring the draft back), nor when nothing was typed and there is no draft yet.
    """
    dit = get_dit(session, dit_number)
    _lock(session, dit.id)
    if session.scalar(select(Exchange.id).where(Exchange.external_key == form_key)) is not None:
        return None
    if repo.draft_of(session, collaborator.id, dit.id) is None and not has_text(
        detail, subject, default_subject
    ):
        return None
    return save_draft(session, collaborator, dit.number, to=to, subject=subject, detail=detail)


def _lock(session: Session, dit_id: int) -> None:
    """Take the DIT's row lock without changing the row, to serialise with a Send.

    Sending takes the same lock (ditbot.domain.exchanges.log_exchange) before it removes the draft;
    on SQLite a first write also takes the database's write lock before anything is read.
    """
    session.execute(text("UPDATE dits SET id = id WHERE id = :id"), {"id": dit_id})


def get_draft(session: Session, draft_id: int, collaborator: Collaborator) -> Draft:
    """One of the collaborateur's own drafts; another user's draft does not exist for them."""
    draft = session.get(Draft, draft_id)
    if draft is None or draft.collaborator_id != collaborator.id:
        raise NotFound(
            _("This draft no longer exists: it was sent or discarded."), "draft", id=draft_id
        )
    return draft


def discard_draft(
    session: Session, draft_id: int, collaborator: Collaborator, *, tell_dm: bool = True
) -> str:
    """Delete the draft; returns its DIT number. Its "draft kept" DM is updated to say so
    (`tell_dm`: False when the click came from that DM, which the caller replaces itself)."""
    draft = get_draft(session, draft_id, collaborator)
    number = draft.dit.number
    _forget(session, draft, collaborator.slack_user_id if tell_dm else None, "discarded")
    return number


def _forget(session: Session, draft: Draft, user: str | None, why: Why) -> None:
    """Delete `draft`; its "draft kept" DM, if one was posted, is updated to say `why`."""
    if user and draft.dm_channel and draft.dm_ts:
        number = draft.dit.number
        enqueue(
            session,
            DraftGone(user=user, channel=draft.dm_channel, ts=draft.dm_ts, dit=number, why=why),
        )
    session.delete(draft)
    session.flush()


def draft_for(session: Session, collaborator: Collaborator, dit_number: str) -> Draft | None:
    dit = repo.dit_by_number(session, dit_number)
    return repo.draft_of(session, collaborator.id, dit.id) if dit else None


def offer_kept_draft(
    session: Session,
    collaborator: Collaborator,
    dit_number: str,
    *,
    default_subject: str | None = None,
) -> bool:
    """After a mail form closed unsent: its author's one "draft kept" DM, when it has text.

    The DM is posted once per draft and updated in place on later closes (the worker keeps
    its channel and ts on the draft). A draft emptied of its text is no draft: it is deleted,
    and a DM it had says so. False when nothing changed (no draft, no Slack user to tell).
    """
    draft = draft_for(session, collaborator, dit_number)
    user = collaborator.slack_user_id
    if draft is None or user is None:
        return False
    if not has_text(draft.detail, draft.subject, default_subject):
        _forget(session, draft, user, "emptied")
        return True
    enqueue(session, DraftKept(user=user, draft_id=draft.id))
    return True


def drafts_of(session: Session, collaborator: Collaborator) -> Sequence[Draft]:
    """The collaborateur's drafts, the latest first (App Home)."""
    return repo.drafts_of(session, collaborator.id)


def remove_for(session: Session, collaborator_id: int, dit_id: int) -> None:
    """Forget the draft of this collaborateur on this DIT (its mail was sent)."""
    draft = repo.draft_of(session, collaborator_id, dit_id)
    if draft is not None:
        collaborator = session.get(Collaborator, collaborator_id)
        _forget(session, draft, collaborator.slack_user_id if collaborator else None, "sent")
