"""How a DIT and its indicators read in Slack (counter, red, who spoke last)."""

from __future__ import annotations

from datetime import datetime

from bot.views.text import escape, one_line, slack_date, truncate
from ditbot.core.i18n import N_, Translator, _
from ditbot.domain import labels
from ditbot.domain.exchanges import Indicators
from storage.models import Dit
from storage.vocabulary import Direction, DitState

RED = ":red_circle:"


def state_label(t: Translator, state: DitState) -> str:
    return t(labels.STATE[state])


def counter(t: Translator, indicators: Indicators) -> str:
    """`3 exchanges`, red with a relance: `:red_circle: *3 exchanges* (relance)`."""
    if indicators.count == 0:
        return t(_("no exchange yet"))
    text = t(N_("{count} exchange", "{count} exchanges"), count=indicators.count)
    if indicators.relance:
        return f"{RED} *{text}* " + t(_("(follow-up)"))
    return text


def last_speaker(t: Translator, indicators: Indicators) -> str:
    if indicators.last_direction == Direction.RECEIVED:
        text = t(_("the client spoke last: waiting on us"))
        if indicators.last_is_relance:
            text += " " + t(_("(a follow-up)"))
        return text
    if indicators.last_direction == Direction.SENT:
        return t(_("we spoke last"))
    return ""


def when(t: Translator, moment: datetime | None) -> str:
    """A date Slack shows in the reader's own time zone (`<!date^...>`), with a UTC fallback."""
    return slack_date(moment)


def dit_line(t: Translator, dit: Dit) -> str:
    """`*DIT-2026-0001* · Acme SA · Copieur en panne` + counter and last speaker."""
    indicators = Indicators.of(dit)
    parts = [
        f"*{escape(dit.number)}*",
        escape(truncate(one_line(dit.client.name), 60)),
        escape(truncate(one_line(dit.title), 80)),
    ]
    second = [counter(t, indicators)]
    speaker = last_speaker(t, indicators)
    if speaker:
        second.append(speaker)
    if dit.state != DitState.EN_COURS:
        second.append(state_label(t, dit.state))
    return " · ".join(parts) + "\n" + " · ".join(second)
