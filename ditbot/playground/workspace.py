"""The playground's Slack workspace: people, channels, DMs, ephemeral answers, modal stacks.

Slack's server side is `FakeSlack` (messages, views, triggers, limits); this is what a Slack
client shows on top of it: who the people are (one Slack user per collaborateur, Slack e-mail =
Mail 1, so ditbot links them the way it links real users), which channels exist, the ephemeral
answers each person sees where they are, and each person's stack of open modals. It learns
what ditbot did from the fake's calls (`on_call`).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from ditbot.playground import slack_rules as rules
from ditbot.playground.local import CHANNEL_DISPATCH, CHANNEL_GENERAL, CHANNEL_RELANCES
from ditbot.playground.slack_api import BOT_USER_ID, Call, FakeSlack

CHANNELS = (
    (CHANNEL_GENERAL, "general"),
    (CHANNEL_DISPATCH, "dispatch"),
    (CHANNEL_RELANCES, "relances"),
)
MODAL_OPENERS = ("views.open", "views.push")
REFUSALS_KEPT = 5


@dataclass
class Person:
    user_id: str
    name: str
    email: str | None
    locale: str  # Slack's form: fr-FR, en-US
    manager: bool = False


@dataclass
class Ephemeral:
    """An answer only `user` sees, in `channel` (chat.postEphemeral or a response_url)."""

    id: str
    user: str
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    ts: str


@dataclass
class Workspace:
    fake: FakeSlack = field(default_factory=FakeSlack)
    people: dict[str, Person] = field(default_factory=dict)
    ephemerals: list[Ephemeral] = field(default_factory=list)
    stacks: dict[str, list[str]] = field(default_factory=dict)  # user -> modal view ids
    view_errors: dict[str, dict[str, str]] = field(default_factory=dict)  # view -> field errors
    notices: dict[str, str] = field(default_factory=dict)  # user -> Slack's refusal shown
    refusals: list[str] = field(default_factory=list)  # payloads of ditbot's Slack refused
    _triggers: dict[str, str] = field(default_factory=dict)  # trigger_id -> user
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.fake._on_call = self.on_call
        for channel_id, name in CHANNELS:
            self.fake.add_channel(channel_id, name=name)

    # -- people -------------------------------------------------------------------------
    def add_person(self, person: Person) -> None:
        self.people[person.user_id] = person
        self.fake.add_user(
            person.user_id,
            email=person.email,
            real_name=person.name,
            name=person.name.split()[0].lower() if person.name else person.user_id.lower(),
            locale=person.locale,
        )

    def set_locale(self, user_id: str, locale: str) -> None:
        person = self.people[user_id]
        person.locale = locale
        self.add_person(person)

    def name_of(self, user_id: str) -> str:
        if user_id == BOT_USER_ID:
            return "ditbot"
        person = self.people.get(user_id)
        return person.name if person else user_id

    def channel_name(self, channel: str) -> str:
        for channel_id, name in CHANNELS:
            if channel_id == channel:
                return name
        return "ditbot" if channel.startswith("D") else channel

    @staticmethod
    def dm_of(user_id: str) -> str:
        return "D" + user_id[1:]

    # -- triggers and response URLs ---------------------------------------------------
    def trigger_for(self, user: str) -> str:
        stack = self.stacks.get(user) or []
        trigger = self.fake.new_trigger_id(from_view=stack[-1] if stack else None)
        with self._lock:
            self._triggers[trigger] = user
        return trigger

    def response_url(self, user: str, channel: str, replaces: str | None = None) -> str:
        """A response_url whose posts show as `user`'s ephemeral answers in `channel`
        (`replaces`: the ephemeral message the click came from)."""
        return self.fake.response_url(f"{user}~{channel}~{replaces or ''}")

    def add_ephemeral(self, user: str, channel: str, message: dict[str, Any]) -> Ephemeral:
        with self._lock:
            answer = Ephemeral(
                id=f"E{next(self._ids)}",
                user=user,
                channel=channel,
                text=str(message.get("text") or ""),
                blocks=list(message.get("blocks") or []),
                ts=f"{self.fake.clock.time():.6f}",
            )
            self.ephemerals.append(answer)
        self.fake.touch()
        return answer

    def ephemerals_for(self, user: str, channel: str) -> list[Ephemeral]:
        with self._lock:
            return [e for e in self.ephemerals if e.user == user and e.channel == channel]

    # -- modals -------------------------------------------------------------------------
    def stack(self, user: str) -> list[dict[str, Any]]:
        views = [self.fake.view(view_id) for view_id in self.stacks.get(user, [])]
        return [v for v in views if v is not None]

    def push(self, user: str, view_id: str) -> None:
        with self._lock:
            self.stacks.setdefault(user, []).append(view_id)

    def pop(self, user: str, *, everything: bool = False) -> list[str]:
        """Close the top modal (or all of them): the ids closed."""
        with self._lock:
            stack = self.stacks.get(user, [])
            closed = list(stack) if everything else stack[-1:]
            del stack[len(stack) - len(closed) :]
        for view_id in closed:
            self.view_errors.pop(view_id, None)
            self.fake.forget_view(view_id)
        return closed

    # -- what ditbot did ----------------------------------------------------------------
    def on_call(self, call: Call) -> None:
        """Take in one Web API call (or response_url post) ditbot made."""
        answer = call.response if isinstance(call.response, dict) else {}
        if call.method == "response_url" and call.status == 200:
            self._responded(call)
        elif not call.ok:
            self._refused(call, answer)
            trigger = str(call.args.get("trigger_id") or "")
            user = self._triggers.get(trigger) or str(call.args.get("user_id") or "")
            if user and call.method.startswith("views."):
                self.notices[user] = f"{call.method}: {answer.get('error') or call.status}"
        elif call.method in MODAL_OPENERS:
            opener = self._triggers.get(str(call.args.get("trigger_id") or ""))
            view = answer.get("view") or {}
            if opener and view.get("id"):
                with self._lock:
                    if call.method == "views.open":
                        self.stacks[opener] = []
                    self.stacks.setdefault(opener, []).append(view["id"])
        elif call.method == "chat.postEphemeral":
            self.add_ephemeral(str(call.args.get("user")), str(call.args.get("channel")), call.args)

    def _refused(self, call: Call, answer: dict[str, Any]) -> None:
        """A payload Slack refuses is a bug of ditbot's: the page says so, to everyone."""
        error = str(answer.get("error") or "")
        if call.method == "response_url" or error in rules.PAYLOAD_ERRORS:
            lines = (answer.get("response_metadata") or {}).get("messages") or []
            why = "; ".join([error or str(call.response), *map(str, lines)])
            with self._lock:
                self.refusals.append(f"{call.method}: {why}"[:500])
                del self.refusals[:-REFUSALS_KEPT]

    def refused(self) -> list[str]:
        with self._lock:
            return list(self.refusals)

    def _responded(self, call: Call) -> None:
        name = unquote(call.path.rsplit("/", 1)[-1])
        user, _, rest = name.partition("~")
        channel, _, replaces = rest.partition("~")
        if not user or not channel:
            return
        args = call.args
        with self._lock:
            if replaces and (
                args.get("replace_original") in (True, "true")
                or args.get("delete_original") in (True, "true")
            ):
                self.ephemerals = [e for e in self.ephemerals if e.id != replaces]
        if args.get("delete_original") in (True, "true"):
            self.fake.touch()
            return
        if args.get("response_type") == "in_channel":
            self.fake.post_as(BOT_USER_ID, channel, str(args.get("text") or ""))
            return
        self.add_ephemeral(user, channel, args)
