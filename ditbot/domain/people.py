"""Who a Slack user is: the collaborateur linked to them (DOMAIN.md, People)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from ditbot.core.i18n import _
from ditbot.domain.errors import NotLinked
from storage import repositories as repo
from storage.models import Collaborator


def collaborator_for_slack_user(
    session: Session, slack_user_id: str, slack_email: Callable[[], str | None]
) -> Collaborator:
    """The collaborateur linked to `slack_user_id`, linking them by e-mail the first time.

    `slack_email` is called (a `users.info` round trip) only when no link exists yet.
    """
    collaborator = repo.collaborator_by_slack_id(session, slack_user_id)
    if collaborator is not None:
        return collaborator
    email = slack_email()
    candidates = (
        [c for c in repo.collaborators_by_email(session, email) if c.slack_user_id is None]
        if email
        else []
    )
    if len(candidates) == 1:
        candidates[0].slack_user_id = slack_user_id
        session.flush()
        return candidates[0]
    raise NotLinked(
        _(
            "Your Slack account is not linked to a collaborator. Ask an administrator to set "
            "your Slack id ({user}) on your collaborator, or to give it your Slack e-mail "
            "({email}) as Mail 1 or Mail 2."
        ),
        "user",
        user=slack_user_id,
        email=email or "?",
    )
