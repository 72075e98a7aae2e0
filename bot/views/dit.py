"""How a DIT and its indicators read in Slack (counter, red, who spoke last)."""

from __future__ import annotations

from datetime import datetime

from bot.views.text import escape, one_line, truncate
from ditbot.core.i18n import N_, Translator, _
from ditbot.domain.exchanges import Indicators
from storage.models import Dit

STATES = {
    "saisie_externe": _("registered"),
    "en_cours": _("in progress"),
    "travail_termine": _("work finished"),
    "travail_non_termine": _("work not finished"),
    "cloturee": _("closed"),
    "annulee": _("cancelled"),
}
RED = ":red_circle:"


def state_label(t: Translator, state: str) -> str:
    return t(STATES[state]) if state in STATES else state


def counter(t: Translator, indicators: Indicators) -> str:
    """`3 exchanges`, red with a relance: `:red_circle: *3 exchanges* (relance)`."""
    if indicators.count == 0:
        return t(_("no exchange yet"))
    text = t(N_("{count} exchange", "{count} exchanges"), count=indicators.count)
    if indicators.relance:
        return f"{RED} *{text}* " + t(_("(relance)"))
    return text


def last_speaker(t: Translator, indicators: Indicators) -> str:
    if indicators.last_direction == "received":
        text = t(_("the client spoke last: waiting on us"))
        if indicators.last_is_relance:
            text += " " + t(_("(a relance)"))
        return text
    if indicators.last_direction == "sent":
        return t(_("we spoke last"))
    return ""


def when(t: Translator, moment: datetime | None) -> str:
    """A date Slack shows in the reader's own time zone (`<!date^...>`), with a UTC fallback."""
    if moment is None:
        return ""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


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
    if dit.state not in ("en_cours",):
        second.append(state_label(t, dit.state))
    return " · ".join(parts) + "\n" + " · ".join(second)
