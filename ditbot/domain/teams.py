"""Teams (agences): whose work goes to which channel.

A DIT belongs to the team of its client, else to the team of its technician. A team's own
channels win; a team without one (or a DIT of no team) falls back to the global
DITBOT_CHANNEL_PORTAL / DITBOT_CHANNEL_RELANCES, and with no channel at all the managers are
told directly, so that a DIT always reaches someone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Collaborator, Dit, Team
from storage.vocabulary import NoticeReason


class ChannelSettings(Protocol):
    @property
    def channel_portal(self) -> str | None: ...
    @property
    def channel_relances(self) -> str | None: ...


def team_of(session: Session, dit: Dit) -> Team | None:
    """The DIT's team: its client's, else its technician's (None: no team)."""
    for team_id in (dit.client.team_id, dit.technician.team_id if dit.technician else None):
        if team_id is not None:
            return session.get(Team, team_id)
    return None


def team_by_code(session: Session, code: str) -> Team | None:
    return session.scalar(select(Team).where(Team.code == code.strip()))


def managers_channel(session: Session, dit: Dit, settings: ChannelSettings) -> str | None:
    """Where relances and escalations of `dit` go: its team's managers' channel, else the
    global one (None: no channel is set at all)."""
    team = team_of(session, dit)
    return (team.channel_managers if team else None) or settings.channel_relances


def portal_channel(session: Session, dit: Dit, settings: ChannelSettings) -> str | None:
    """Where the client messages of `dit` go: its team's channel, else the global one."""
    team = team_of(session, dit)
    return (team.channel_portal if team else None) or settings.channel_portal


def managers_of(session: Session, team: Team | None) -> Sequence[Collaborator]:
    """The managers linked to Slack: those of `team` first, else every manager."""
    linked = select(Collaborator).where(
        Collaborator.manager.is_(True), Collaborator.slack_user_id.is_not(None)
    )
    if team is not None:
        mine = session.scalars(linked.where(Collaborator.team_id == team.id)).all()
        if mine:
            return mine
    return session.scalars(linked.order_by(Collaborator.code)).all()


def team_with_channel(session: Session, dit: Dit, reason: NoticeReason) -> str | None:
    """The code of the DIT's team when it has its own channel for `reason` (portal messages,
    relances), else None: the notice goes to the global channel."""
    team = team_of(session, dit)
    if team is None:
        return None
    channel = team.channel_portal if reason is NoticeReason.PORTAL else team.channel_managers
    return team.code if channel else None
