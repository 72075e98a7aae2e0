"""Block Kit of the response timers: the technician's reminder DM, the managers' escalation.

Pure functions: a `WaitCard` in, message dicts (`text` + `slack_sdk.models` blocks) out. Names
and titles are client or back-office text: escaped, shown verbatim.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot.ids import Action
from bot.views.text import BUTTON_MAX, OPTION_MAX, escape, mrkdwn, one_line, plain, truncate
from ditbot.core.i18n import N_, Translator, _
from ditbot.domain.timers import WaitCard

SNOOZE_HOURS = (1, 2, 4)
SNOOZE_MORNING = "morning"


def when(moment: datetime) -> str:
    """A Slack date token: shown in the reader's own time zone (fallback: UTC)."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def duration(t: Translator, span: timedelta) -> str:
    """`2 h 05 min`, `45 min`, `3 d 2 h` (working hours are counted, not days of 24 h)."""
    minutes = max(0, int(span.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    if hours == 0:
        return t(_("{minutes} min"), minutes=minutes)
    return t(_("{hours} h {minutes} min"), hours=hours, minutes=f"{minutes:02d}")


def _button(label: str, action: str, value: str, style: str | None = None) -> ButtonElement:
    return ButtonElement(action_id=action, text=plain(label, BUTTON_MAX), value=value, style=style)


def _subject(card: WaitCard) -> str:
    client, subject = escape(one_line(card.client)), escape(one_line(card.title))
    return f"*{escape(card.number)}* · {client} · {subject}"


def _timer_line(t: Translator, card: WaitCard) -> str:
    over = card.waited - card.target
    if over > timedelta(0):
        return t(
            _(
                "Waiting since {since}: {waited} of business time, "
                "{over} over the target of {target}."
            ),
            since=when(card.since),
            waited=duration(t, card.waited),
            over=duration(t, over),
            target=duration(t, card.target),
        )
    return t(
        _(
            "Waiting since {since}: {waited} of business time, "
            "{left} left of the target of {target}."
        ),
        since=when(card.since),
        waited=duration(t, card.waited),
        left=duration(t, -over),
        target=duration(t, card.target),
    )


def snooze_options(t: Translator, wait_id: int) -> list[Option]:
    options = [
        Option(
            value=f"{wait_id}:{hours}",
            text=plain(t(N_("In {count} hour", "In {count} hours"), count=hours), OPTION_MAX),
        )
        for hours in SNOOZE_HOURS
    ]
    options.append(
        Option(
            value=f"{wait_id}:{SNOOZE_MORNING}",
            text=plain(t(_("Next working morning")), OPTION_MAX),
        )
    )
    return options


def reminder_message(t: Translator, card: WaitCard, *, snoozed: bool = False) -> dict[str, Any]:
    """The DM to the technician: the DIT, the timer, and what to do now."""
    heading = (
        t(
            _(":alarm_clock: Reminder, as you asked: a client is still waiting on DIT {number}."),
            number=escape(card.number),
        )
        if snoozed
        else t(
            _(":hourglass: A client is waiting for an answer on DIT {number}."),
            number=escape(card.number),
        )
    )
    fallback = t(
        _("Client waiting on DIT {number} since {since}"),
        number=card.number,
        since=card.since.strftime("%Y-%m-%d %H:%M UTC"),
    )
    blocks: list[Block] = [
        SectionBlock(text=mrkdwn(f"{heading}\n{_subject(card)}\n{_timer_line(t, card)}")),
        ActionsBlock(
            block_id=f"reminder.{card.wait_id}",
            elements=[
                _button(t(_("I'm on it")), Action.REMINDER_ACK, str(card.wait_id), "primary"),
                _button(t(_("Log a call now")), Action.REMINDER_CALL, card.number),
                _button(t(_("Open the DIT")), Action.OPEN_PANEL, card.number),
                StaticSelectElement(
                    action_id=Action.REMINDER_SNOOZE,
                    placeholder=plain(t(_("Snooze")), OPTION_MAX),
                    options=snooze_options(t, card.wait_id),
                ),
            ],
        ),
    ]
    return {"text": escape(truncate(fallback, 300)), "blocks": blocks}


def handled_message(t: Translator, card: WaitCard) -> dict[str, Any]:
    """The reminder DM once acted on: who took it, or until when it sleeps."""
    message = reminder_message(t, card)
    if card.acked_by is not None and card.acked_at is not None:
        note = t(
            _(":white_check_mark: Taken by {name} at {at}."),
            name=escape(card.acked_by),
            at=when(card.acked_at),
        )
    elif card.snoozed_until is not None:
        note = t(_(":zzz: Snoozed: you will be reminded at {at}."), at=when(card.snoozed_until))
    else:
        return message
    blocks: list[Block] = list(message["blocks"])
    blocks.insert(1, ContextBlock(elements=[mrkdwn(note)]))
    return {"text": message["text"], "blocks": blocks}


def answered_message(t: Translator, number: str) -> dict[str, Any]:
    text = t(
        _("The client of DIT {number} has been answered: nothing left to do."),
        number=escape(number),
    )
    return {"text": text, "blocks": [SectionBlock(text=mrkdwn(text))]}


def escalation_message(t: Translator, card: WaitCard) -> dict[str, Any]:
    """The post in the DIT's thread of the managers' channel."""
    if card.relance:
        heading = t(
            _(":rotating_light: Follow-up on DIT {number}: the client chased us."),
            number=escape(card.number),
        )
    else:
        heading = t(
            _(":rotating_light: DIT {number} is past its response target."),
            number=escape(card.number),
        )
    who = (
        t(_("Technician: {name}."), name=escape(card.technician))
        if card.technician
        else t(_("No technician on this DIT."))
    )
    if card.acked_by is not None and card.acked_at is not None:
        who += " " + t(
            _("Taken by {name} at {at}."), name=escape(card.acked_by), at=when(card.acked_at)
        )
    else:
        who += " " + t(_("Nobody has taken it yet."))
    fallback = t(_("DIT {number}: the client is still waiting"), number=card.number)
    blocks: list[Block] = [
        SectionBlock(text=mrkdwn(f"{heading}\n{_subject(card)}\n{_timer_line(t, card)}\n{who}")),
        ActionsBlock(elements=[_button(t(_("Open the DIT")), Action.OPEN_PANEL, card.number)]),
    ]
    return {"text": escape(truncate(fallback, 300)), "blocks": blocks}


def parse_snooze(value: str) -> tuple[int, str] | None:
    """`<wait id>:<hours>` or `<wait id>:morning` -> (wait id, choice); None if not one."""
    wait, _sep, choice = value.partition(":")
    if not wait.isdigit() or not (
        choice == SNOOZE_MORNING or choice in {str(h) for h in SNOOZE_HOURS}
    ):
        return None
    return int(wait), choice
