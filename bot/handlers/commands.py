"""`/dit`: help, open the panel, open a form, search (CONTRACT.md section 4).

Every branch acks at once (empty), then works: trigger_id lives 3 s, so `views.open` goes out
right after the DIT is read. Refusals (unknown DIT, unlinked user, closed DIT) raise
DomainError; bot/errors.py answers them ephemerally through response_url.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient

from bot.deps import Deps, MailFormRequest
from bot.errors import guarded
from bot.handlers import forms, panel
from bot.ids import COMMAND
from bot.middleware import Who, ack_at_once
from bot.views import search as search_view
from bot.views.help import help_blocks
from ditbot.core.i18n import _
from ditbot.domain.errors import Conflict, NotFound
from ditbot.domain.exchanges import get_dit
from storage import repositories as repo
from storage.vocabulary import Direction


class Verb(StrEnum):
    """What `/dit …` asks for."""

    HELP = "help"
    OPEN = "open"
    RECEIVED = "received"
    SENT = "sent"
    MAIL = "mail"
    SEARCH = "search"


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
}
FORM_OF = {Verb.RECEIVED: Direction.RECEIVED, Verb.SENT: Direction.SENT}
LOOKS_LIKE_NUMBER = re.compile(r"^\S*\d\S*$")
SEARCH_LIMIT = 20


@dataclass(frozen=True)
class DitCommand:
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
    if verb is not None:
        return DitCommand(verb, rest) if rest else DitCommand(Verb.HELP, head)
    whole = (text or "").strip()
    return DitCommand(Verb.OPEN if LOOKS_LIKE_NUMBER.match(whole) else Verb.SEARCH, whole)


def register(app: App, deps: Deps) -> None:
    @app.command(COMMAND, middleware=[ack_at_once])
    @guarded
    def dit_command(
        command: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
        who: Who,
    ) -> None:
        request = parse(command.get("text"))
        trigger = command["trigger_id"]
        if request.verb == Verb.HELP:
            blocks, text = help_blocks(who.t, unknown_verb=request.argument or None)
            respond(text=text, blocks=blocks, response_type="ephemeral")
            return
        # Every other branch resolves the user first: an unlinked user learns it before anything.
        if request.verb in FORM_OF:
            direction = FORM_OF[request.verb]
            forms.open_new_form(deps, client, who, request.argument, direction, trigger)
        elif request.verb == Verb.MAIL:
            open_mail(deps, client, who, request.argument, trigger)
        elif request.verb == Verb.OPEN:
            open_or_search(deps, client, who, respond, request.argument, trigger)
        else:
            answer_search(deps, who, respond, request.argument)


def open_mail(deps: Deps, client: WebClient, who: Who, number: str, trigger: str) -> None:
    with deps.unit_of_work() as session:
        who.actor(session)
        dit = get_dit(session, number)
        number = dit.number
    if deps.hooks.open_mail_form is None:
        raise Conflict(_("Sending a mail from Slack is coming soon."))
    deps.hooks.open_mail_form(MailFormRequest(client, trigger, who, number))


def open_or_search(
    deps: Deps, client: WebClient, who: Who, respond: Respond, text: str, trigger: str
) -> None:
    """An exact DIT number opens its panel; one search match too; otherwise list or refuse.

    The hot path (an exact number) is one unit of work: user, DIT, page of exchanges.
    """
    with deps.unit_of_work() as session:
        actor = who.actor(session)
        dit = repo.dit_for_slack(session, text)
        if dit is None:
            found = repo.search_dits(session, text, limit=2)
            if not found:
                get_dit(session, text)  # raises NotFound with the advice
            dit = found[0] if len(found) == 1 else None
        if dit is None:
            view = closed = None
        elif dit.state.closed:
            view, closed = None, search_view.closed_dit(who.t, dit)
        else:
            view = panel.build_panel(session, deps, who.t, actor, dit.number, dit=dit)
            closed = None
    if view is not None:
        client.views_open(trigger_id=trigger, view=view)
    elif closed is not None:
        respond(text=closed[1], blocks=closed[0], response_type="ephemeral")
    else:
        answer_search(deps, who, respond, text)


def answer_search(deps: Deps, who: Who, respond: Respond, text: str) -> None:
    with deps.unit_of_work() as session:
        who.actor(session)  # DIT lists are for our staff only
        found = repo.search_dits(session, text, limit=SEARCH_LIMIT + 1)
        if not found:
            raise NotFound(
                _("No DIT matches “{query}”. Try a DIT number or part of a client's name."),
                "dit",
                query=text[:60],
            )
        blocks, fallback = search_view.results(who.t, text, found[:SEARCH_LIMIT], len(found))
    respond(text=fallback, blocks=blocks, response_type="ephemeral")
