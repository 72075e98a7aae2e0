"""What each outbox kind carries: one typed payload per kind, stored as the item's JSON.

The payload's type gives the item its kind (and, for a channel notice, its lane), so an
enqueuer never names a kind or a JSON key. The JSON keys and the `reason` strings are those
earlier versions wrote: items already in a database load as they were written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from storage.vocabulary import Lane, NoticeReason, OutboxKind, WaitStep


class UnreadablePayload(ValueError):
    """An outbox item whose JSON is not a payload of its kind."""


class OutboxPayload(BaseModel):
    """The base of the payloads: immutable, one outbox kind per class."""

    model_config = ConfigDict(frozen=True)
    kind: ClassVar[OutboxKind]

    @property
    def lane(self) -> str | None:
        """The lane that orders the item among others (None: no order to keep)."""
        return None


class MailDelivery(OutboxPayload):
    """Send the mail recorded as exchange `exchange_id` (of DIT `dit`) over SMTP."""

    kind = OutboxKind.MAIL
    exchange_id: int
    dit: str


class ChannelNotice(OutboxPayload):
    """Tell a Slack channel of exchange `exchange_id` of DIT `dit`, for `reason`."""

    kind = OutboxKind.NOTIFY
    exchange_id: int
    dit: str
    reason: NoticeReason
    # The team whose own channel is told (None: the global DITBOT_CHANNEL_* of the reason).
    team: str | None = None

    @property
    def lane(self) -> str:
        return team_lane(self.reason.lane, self.team)


def team_lane(lane: Lane, team: str | None) -> str:
    """The lane of a team's notices (`relances@NORD`), or the global lane itself."""
    return str(lane) if team is None else f"{lane}@{team}"


def lane_base(lane: str) -> str:
    """The global lane a team lane belongs to (`relances@NORD` -> `relances`)."""
    return lane.split("@", 1)[0]


class AuthorDm(OutboxPayload):
    """A direct message to the Slack user `user`; one subclass per message."""

    kind = OutboxKind.SLACK_DM
    user: str


class MailFailed(AuthorDm):
    """Tell the author that the mail of exchange `exchange_id` was not delivered."""

    exchange_id: int
    reason: Literal["mail_failed"] = "mail_failed"


class DraftKept(AuthorDm):
    """Tell the user that the mail form they closed was kept as draft `draft_id`."""

    draft_id: int
    reason: Literal["draft_kept"] = "draft_kept"


class DraftGone(AuthorDm):
    """Turn the "draft kept" DM (`channel`, `ts`) of a draft of DIT `dit` into a line saying
    it is no more: emptied, discarded or sent (the draft row is gone)."""

    channel: str
    ts: str
    dit: str
    why: Literal["emptied", "discarded", "sent"]
    reason: Literal["draft_gone"] = "draft_gone"


class UnmatchedMail(OutboxPayload):
    """Post the mail kept as `inbound_id` (no DIT found) in the dispatch channel, for triage."""

    kind = OutboxKind.UNMATCHED_MAIL
    inbound_id: int


class WaitNotice(OutboxPayload):
    """Say `step` about the client's wait `wait_id` on DIT `dit` (a reminder DM to its
    technician, or an escalation in the managers' channel)."""

    kind = OutboxKind.REMINDER
    wait_id: int
    dit: str
    step: WaitStep


Payload: TypeAlias = (
    MailDelivery | ChannelNotice | MailFailed | DraftKept | DraftGone | UnmatchedMail | WaitNotice
)

_author_dm: TypeAdapter[MailFailed | DraftKept | DraftGone] = TypeAdapter(
    Annotated[MailFailed | DraftKept | DraftGone, Field(discriminator="reason")]
)
_PARSERS: dict[OutboxKind, Callable[[Any], Payload]] = {
    OutboxKind.MAIL: MailDelivery.model_validate,
    OutboxKind.NOTIFY: ChannelNotice.model_validate,
    OutboxKind.SLACK_DM: _author_dm.validate_python,
    OutboxKind.UNMATCHED_MAIL: UnmatchedMail.model_validate,
    OutboxKind.REMINDER: WaitNotice.model_validate,
}


def dump(payload: Payload) -> dict[str, Any]:
    """The JSON object stored for `payload`."""
    data = payload.model_dump(mode="json")
    if isinstance(payload, ChannelNotice) and payload.team is None:
        del data["team"]  # a notice of no team is stored as before teams existed
    return data


def parse(kind: str, data: Any) -> Payload:
    """The payload of kind `kind` stored as `data`; raises UnreadablePayload if it is not one."""
    try:
        parser = _PARSERS[OutboxKind(kind)]
    except ValueError:
        raise UnreadablePayload(f"unknown outbox kind {kind!r}") from None
    try:
        return parser(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'payload'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise UnreadablePayload(f"not a {kind} payload ({problems}): {data!r}"[:500]) from None
