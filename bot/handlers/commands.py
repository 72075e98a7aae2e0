"""`/dit`: help, open the panel, open a form, search (CONTRACT.md section 4).

Every branch acks at once (empty), then works: trigger_id lives 3 s, so `views.open` goes out
right after the DIT is read. Refusals (unknown DIT, unlinked user, closed DIT) raise
DomainError; bot/errors.py answers them ephemerally through response_url.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from slack_bolt import App, Respond
from slack_sdk import WebClient

from bot.deps import Deps
from bot.errors import guarded
from bot.flows import forms, mail, search, stats
from bot.ids import COMMAND
from bot.middleware import ack_at_once
from bot.parsing import CommandPayload
from bot.requester import Requester
from bot.views.help import help_blocks
from ditbot.core.i18n import Translator
from storage.vocabulary import Direction


class Verb(StrEnum):
    """What `/dit …` asks for."""

    HELP = "help"
    OPEN = "open"
    RECEIVED = "received"
    SENT = "sent"
    MAIL = "mail"
    SEARCH = "search"
    STATS = "stats"  # the manager's figures (bot/flows/stats.py)


VERBS: dict[str, Verb] = {
    "help": Verb.HELP,
    "aide": Verb.HELP,
    "?": Verb.HELP,
    "recu": Verb.RECEIVED,
    "reçu": Verb.RECEIVED,
    "received": Verb.RECEIVED,
    "envoye": Verb.SENT,
    "envoyé": Verb.SENT,
    "sent": Verb.SENT,
    "mail": Verb.MAIL,
    "stats": Verb.STATS,
    "statistiques": Verb.STATS,
}
FORM_OF = {Verb.RECEIVED: Direction.RECEIVED, Verb.SENT: Direction.SENT}
LOOKS_LIKE_NUMBER = re.compile(r"^\S*\d\S*$")


@dataclass(frozen=True)
class DitCommand:
    """What `/dit <text>` asks for, and of what (a DIT number, a search, an unknown verb)."""

    verb: Verb
    argument: str = ""


def parse(text: str | None) -> DitCommand:
    """`/dit` text -> what to do. `open` is tried as an exact number, then as a search."""
    words = (text or "").strip().split(None, 1)
    if not words:
        return DitCommand(Verb.HELP)
    head = words[0].lower()
    rest = words[1].strip() if len(words) > 1 else ""
    verb = VERBS.get(head)
    if verb == Verb.HELP:
        return DitCommand(Verb.HELP)
    if verb == Verb.STATS:
        return DitCommand(Verb.STATS, rest)
    if verb is not None:
        return DitCommand(verb, rest) if rest else DitCommand(Verb.HELP, head)
    whole = (text or "").strip()
    return DitCommand(Verb.OPEN if LOOKS_LIKE_NUMBER.match(whole) else Verb.SEARCH, whole)


def dit_command(
    command: CommandPayload,
    client: WebClient,
    respond: Respond,
    deps: Deps,
    requester: Requester,
    t: Translator,
) -> None:
    """`/dit <text>`, acked at once: the help, a form, the mail form, a panel or a search."""
    request = parse(command.get("text"))
    trigger_id = command.get("trigger_id", "")
    if request.verb == Verb.HELP:
        blocks, text = help_blocks(t, unknown_verb=request.argument or None)
        respond(text=text, blocks=blocks, response_type="ephemeral")
    elif request.verb in FORM_OF:
        direction = FORM_OF[request.verb]
        forms.open_new_form(
            deps, client, requester, request.argument, direction, trigger_id=trigger_id
        )
    elif request.verb == Verb.STATS:
        stats.answer_stats(deps, respond, requester, request.argument)
    elif request.verb == Verb.MAIL:
        mail.open_mail_form(deps, client, requester, request.argument, trigger_id=trigger_id)
    elif request.verb == Verb.OPEN:
        search.open_or_search(
            deps, client, respond, requester, request.argument, trigger_id=trigger_id
        )
    else:
        search.answer_search(deps, respond, requester, request.argument)


def register(app: App) -> None:
    app.command(COMMAND, middleware=[ack_at_once])(guarded(dit_command))
