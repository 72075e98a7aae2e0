"""Who is acting: the Slack user of a request, resolved once into a frozen `Requester`.

`identify(context, body)` resolves the user to a collaborateur (ditbot/domain/people.py) in one
unit of work and keeps the answer in the request's context (`requester`, and `t` in their
language), so listeners receive both as arguments and the error handler answers in the
user's language. `users.info` (e-mail and locale) is called only when the user is not linked
yet or its cached locale is missing or older than LOCALE_TTL (a user who switches Slack to
English sees English within the hour), at most once per request; the locale is cached on
`Collaborator.locale`, with the time Slack was asked (`locale_checked_at`). An unlinked user
is a Requester too (help and the Home still answer them): `actor()` raises their NotLinked.

It runs on the listener's thread after an ack at once (bot/errors.py `guarded`), and before the
domain call of a view submission: the ack never waits for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta

from slack_bolt import BoltContext
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.deps import RECEIVED_AT, Deps
from bot.parsing import Body, user_id_of
from ditbot.core.i18n import Translator, _, normalize_locale
from ditbot.domain.errors import NotLinked
from ditbot.domain.exchanges import Actor
from ditbot.domain.people import collaborator_for_slack_user
from storage.models import Collaborator
from storage.types import utcnow
from storage.vocabulary import Source

log = logging.getLogger(__name__)

REQUESTER = "requester"  # context keys
TRANSLATOR = "t"
PROFILE = "slack_profile"
LOCALE_TTL = timedelta(hours=1)  # how long a user's Slack language is trusted before asking again


@dataclass(frozen=True)
class SlackProfile:
    """What `users.info` says of a user (None where Slack did not answer)."""

    email: str | None = None
    locale: str | None = None


@dataclass(frozen=True)
class Requester:
    """The Slack user behind a request, and the collaborateur they are (when linked)."""

    user_id: str
    locale: str  # "fr" or "en": the collaborateur's, else their Slack locale, else DITBOT_LOCALE
    collaborator_id: int | None = None
    code: str | None = None
    name: str | None = None
    manager: bool = False
    unlinked: NotLinked | None = None  # why an unknown Slack user is no collaborateur
    received_at: float | None = None  # `deps.clock()` when the request arrived (bot/deps.py)

    @property
    def t(self) -> Translator:
        return Translator(self.locale)

    def actor(self, session: Session) -> Actor:
        """The domain Actor of this user, bound to `session` (raises NotLinked)."""
        return Actor(source=Source.SLACK, collaborator=self.collaborator(session))

    def collaborator(self, session: Session) -> Collaborator:
        """The collaborateur of this user in `session` (raises NotLinked)."""
        if self.unlinked is not None:
            raise self.unlinked
        found = session.get(Collaborator, self.collaborator_id)
        if found is None:  # removed since this request resolved them
            raise NotLinked(_("Your collaborator was removed: ask an administrator."), "user")
        return found


def slack_profile(context: BoltContext, user_id: str) -> SlackProfile:
    """`users.info` of `user_id`, once per request; empty when Slack refuses."""
    known = context.get(PROFILE)
    if isinstance(known, SlackProfile):
        return known
    profile = SlackProfile()
    try:
        user = context.client.users_info(user=user_id, include_locale=True)["user"]
        profile = SlackProfile((user.get("profile") or {}).get("email"), user.get("locale"))
    except SlackApiError as error:
        log.warning("users.info %s failed: %s", user_id, error.response.get("error"))
    context[PROFILE] = profile
    return profile


def identify(context: BoltContext, body: Body) -> Requester:
    """The requester of this request: resolved on the first call, then read from `context`."""
    known = context.get(REQUESTER)
    if isinstance(known, Requester):
        return known
    deps: Deps = context["deps"]
    user_id = user_id_of(body) or context.user_id or ""
    try:
        requester = _resolve(deps, context, user_id)
    except IntegrityError:  # linked concurrently by a parallel request: read again
        requester = _resolve(deps, context, user_id)
    received_at = context.get(RECEIVED_AT)
    if isinstance(received_at, float):
        requester = replace(requester, received_at=received_at)
    context[REQUESTER] = requester
    context[TRANSLATOR] = requester.t
    return requester


def _resolve(deps: Deps, context: BoltContext, user_id: str) -> Requester:
    default = deps.settings.locale
    with deps.unit_of_work() as session:
        try:
            collaborator = collaborator_for_slack_user(
                session, user_id, lambda: slack_profile(context, user_id).email
            )
        except NotLinked as refusal:
            locale = normalize_locale(slack_profile(context, user_id).locale, default)
            return Requester(user_id=user_id, locale=locale, unlinked=refusal)
        now = utcnow()
        checked = collaborator.locale_checked_at
        if not collaborator.locale or checked is None or now - checked >= LOCALE_TTL:
            slack_locale = slack_profile(context, user_id).locale
            collaborator.locale_checked_at = now
            if slack_locale:
                collaborator.locale = slack_locale[:10]
        return Requester(
            user_id=user_id,
            locale=normalize_locale(collaborator.locale, default),
            collaborator_id=collaborator.id,
            code=collaborator.code,
            name=collaborator.name,
            manager=collaborator.manager,
        )
