"""The playground wired together: its Slack (FakeSlack + workspace), its SMTP sink, ditbot's
runtime pointed at both, and the web client mounted at /playground, in one `ditbot serve`."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import Client

from ditbot.core.context import Context
from ditbot.core.settings import Settings
from ditbot.playground import local
from ditbot.playground.gestures import Answer, Gestures
from ditbot.playground.mailbox import Mailbox
from ditbot.playground.payloads import SignedRequest
from ditbot.playground.workspace import Person, Workspace
from storage.models import Collaborator
from storage.types import utcnow

log = logging.getLogger(__name__)


def slack_user_id(collaborator: Collaborator) -> str:
    """The collaborateur's Slack id in the playground: the one they have, else U + code."""
    if collaborator.slack_user_id:
        return collaborator.slack_user_id
    return "U" + (re.sub(r"[^A-Z0-9]", "", collaborator.code.upper()) or str(collaborator.id))


@dataclass
class Playground:
    """Start it, point ditbot's settings at it (`settings`), then `attach` ditbot's web app."""

    workspace: Workspace = field(default_factory=Workspace)
    mailbox: Mailbox = field(default_factory=Mailbox)

    def start(self) -> Playground:
        self.workspace.fake.enforce_rate_limit("chat.postMessage", 1.0)
        self.workspace.fake.start()
        self.mailbox.on_mail = lambda mail: self.workspace.fake.touch()
        self.mailbox.start()
        return self

    def stop(self) -> None:
        self.mailbox.stop()
        self.workspace.fake.stop()

    def settings(self, given: Settings, *, port: int) -> Settings:
        return local.playground_settings(
            given,
            slack_api_url=self.workspace.fake.base_url,
            smtp_port=self.mailbox.port,
            port=port,
        )

    def populate(self, ctx: Context, load_demo: Callable[[Session], Any]) -> bool:
        """Demo data in an empty database (True when loaded), and one Slack user per
        collaborateur, whose Slack e-mail is their Mail 1 so ditbot links them."""

        loaded = False
        with ctx.db.session() as session:
            if not session.scalar(select(func.count()).select_from(Collaborator)):
                load_demo(session)
                loaded = True
        locale = "fr-FR" if ctx.settings.locale == "fr" else "en-US"
        with ctx.db.session() as session:
            for person in session.scalars(select(Collaborator).order_by(Collaborator.id)):
                self.workspace.add_person(
                    Person(
                        user_id=slack_user_id(person),
                        name=person.name,
                        email=person.mail1 or person.mail2,
                        locale=locale if not person.locale else _slack_locale(person.locale),
                        manager=bool(person.manager),
                    )
                )
        return loaded

    def attach(self, web: Flask, ctx: Context) -> None:
        """Mount /playground on ditbot's web app; gestures go to its POST /slack/events."""
        from ditbot.playground.web import Wiring, playground

        client = Client(web)
        secret = str(ctx.settings.slack_signing_secret)

        def deliver(signed: SignedRequest) -> Answer:
            response = client.post(
                "/slack/events",
                data=signed.body,
                headers=signed.headers,
                content_type=signed.content_type,
            )
            return Answer(response.status_code, response.get_data())

        def relocalize(user_id: str, lang: str) -> None:
            """A new language for a person: ditbot keeps each one's language, so say it."""
            with ctx.db.session() as session:
                _set_locale(session, self.workspace, user_id, lang)

        def post_digest() -> list[str]:
            """The digest of the week just ended, posted now as `ditbot digest` would."""
            from bot.app import web_client
            from bot.workers.digest import DIGEST_RATE_LIMIT_RETRIES, build_digests, post

            client = web_client(ctx, DIGEST_RATE_LIMIT_RETRIES)
            return post(ctx, build_digests(ctx, utcnow(), None), client)

        web.config["PLAYGROUND"] = Wiring(
            workspace=self.workspace,
            gestures=Gestures(self.workspace, deliver, secret),
            mailbox=self.mailbox,
            default_locale=ctx.settings.locale,
            relocalize=relocalize,
            post_digest=post_digest,
        )
        web.register_blueprint(playground)


def _slack_locale(short: str) -> str:
    return "fr-FR" if short.startswith("fr") else "en-US"


def _set_locale(session: Any, workspace: Workspace, user_id: str, lang: str) -> None:
    person = workspace.people.get(user_id)
    for row in session.scalars(select(Collaborator)):
        if slack_user_id(row) == user_id or (person and person.email and row.mail1 == person.email):
            row.locale = lang
