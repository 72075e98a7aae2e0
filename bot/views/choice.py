"""People to choose in a select (Envoyé par, Reçu par, the mail's To): one rule for all.

- The option's text is the name; its description (a second line Slack shows under the text)
  holds the address(es), so Mail 1 and Mail 2 are seen while choosing. Both are cut at 75
  characters (Slack's option object): an address cut there is whole in the context line
  under the select (`chosen_line`), which names the chosen person's Mail 1 and Mail 2 in full
  and follows the choice (the select dispatches its action; the form is redrawn).
- Up to 100 choices: a static_select. Beyond, an external_select whose options are searched
  as the user types (`matching`), for every select of people alike (SLACK.md: ≤ 100 static
  options).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import ExternalDataSelectElement, Option, StaticSelectElement

from bot.views.text import OPTION_MAX, PLACEHOLDER_MAX, escape, plain, truncate
from ditbot.core.i18n import Translator, _

STATIC_OPTIONS_MAX = 100  # beyond: external_select, options searched as the user types
SEARCH_MAX = 100  # options of one external_select answer (Slack shows at most 100)
SEP = " · "


@dataclass(frozen=True)
class Choice:
    """One choosable person (or one address of a person): `value` is what the form sends."""

    value: str
    name: str
    mails: tuple[tuple[int, str], ...] = ()  # (slot: 1 = Mail 1, 2 = Mail 2, address)
    code: str = ""  # searched too (the person's code)


def option(choice: Choice) -> Option:
    """The name as text, the address(es) as description (each at most 75 characters)."""
    addresses = SEP.join(address for _slot, address in choice.mails)
    return Option(
        text=plain(truncate(choice.name, OPTION_MAX), OPTION_MAX),
        value=choice.value,
        description=plain(truncate(addresses, OPTION_MAX), OPTION_MAX) if addresses else None,
    )


def select(
    action: str, choices: Sequence[Choice], chosen: str | None, t: Translator, placeholder: str
) -> StaticSelectElement | ExternalDataSelectElement:
    """A static_select of `choices` up to 100, else an external_select searched as typed.

    `choices` must not be empty (Slack refuses a static_select without options): say what is
    missing instead (see `bot.views.forms` and `bot.views.mail`).
    """
    initial = next((c for c in choices if c.value == chosen), None)
    initial_option = option(initial) if initial is not None else None
    hint = plain(placeholder, PLACEHOLDER_MAX)
    if len(choices) <= STATIC_OPTIONS_MAX:
        return StaticSelectElement(
            action_id=action,
            placeholder=hint,
            options=[option(c) for c in choices],
            initial_option=initial_option,
        )
    return ExternalDataSelectElement(
        action_id=action, placeholder=hint, min_query_length=1, initial_option=initial_option
    )


def matching(choices: Sequence[Choice], typed: str) -> list[Option]:
    """The options of an external_select for what the user typed (name, address or code)."""
    needle = typed.strip().lower()
    found = [
        c
        for c in choices
        if needle in c.name.lower()
        or needle in c.code.lower()
        or any(needle in address.lower() for _slot, address in c.mails)
    ]
    return [option(c) for c in found[:SEARCH_MAX]]


def chosen_line(t: Translator, choice: Choice) -> str:
    """mrkdwn naming the chosen person and each of their addresses in full (escaped)."""
    parts = [f"*{escape(truncate(choice.name, 200))}*"]
    for slot, address in choice.mails:
        parts.append(t(_("Mail {slot}: {address}"), slot=slot, address=escape(address)))
    if not choice.mails:
        parts.append(t(_("no e-mail address")))
    return ":e-mail: " + SEP.join(parts)
