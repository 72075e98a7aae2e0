"""Serving for the Slack benchmarks: ditbot and a bare bolt baseline, each in its own process.

Both are served the same way as `ditbot serve` (Flask under waitress, HTTP_THREADS threads), so
a ratio between them measures ditbot's own work. The bare app only acks one kind of request:
`/dit` (`bare="command"`) or the mail form's submission (`bare="mail"`).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.process
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, request
from slack_bolt import Ack, App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient
from waitress.server import create_server

from ditbot.cli.http_server import HTTP_THREADS
from ditbot.cli.serve import build
from ditbot.core.settings import Settings

# Fixed, not drawn at random: spawned children import this module again. Slack's format.
SECRET = "6265e6368a1c4f1b9d0e2a7c5b3f8d41"


@dataclass
class Served:
    name: str
    port: int
    process: multiprocessing.process.BaseProcess

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)


def bare_app(slack_api_url: str, bare: str) -> Flask:
    """A bolt App that only acks, mounted like ditbot's."""
    app = App(
        client=WebClient(token="xoxb-bench", base_url=slack_api_url),
        signing_secret=SECRET,
        process_before_response=False,
    )

    def ack_only(ack: Ack) -> None:
        ack()

    if bare == "mail":
        app.view("mail_compose")(ack_only)
    else:
        app.command("/dit")(ack_only)
    handler = SlackRequestHandler(app)
    web = Flask("bare")

    @web.post("/slack/events")
    def events() -> Any:
        return handler.handle(request)

    return web


def _serve_child(kind: str, bare: str, env: dict[str, str], dotenv: str, conn: Any) -> None:
    """In a child process, like `ditbot serve`: build the app, serve it with waitress."""
    if kind == "ditbot":
        runtime = build(Settings.from_env(env, dotenv=Path(dotenv)))
        runtime.dispatcher.start()
        web = runtime.web
    else:
        web = bare_app(env["SLACK_API_URL"], bare)
    server = create_server(web, host="127.0.0.1", port=0, threads=HTTP_THREADS, ident=kind)
    conn.send(int(server.effective_port))  # type: ignore[union-attr]
    server.run()


def serve(kind: str, env: dict[str, str], dotenv: Path, bare: str = "command") -> Served:
    """Start `kind` ("ditbot" or "bare") in its own process, as a deployment would."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(
        target=_serve_child, args=(kind, bare, env, str(dotenv), child), name=kind, daemon=True
    )
    process.start()
    if not parent.poll(120):
        process.terminate()
        raise RuntimeError(f"{kind} did not start")
    return Served(kind, parent.recv(), process)


def _fake_child(channels: dict[str, str], paced: bool, conn: Any) -> None:
    """In a child process: the Slack Web API fake with `channels` (id → name), until told."""
    from ditbot.playground.slack_api import FakeSlack

    with FakeSlack() as fake:
        for channel, name in channels.items():
            fake.add_channel(channel, name=name)
        if not paced:
            fake.enforce_rate_limit("chat.postMessage", None)
        conn.send(fake.base_url)
        conn.recv()  # anything: stop


@dataclass
class RemoteSlack:
    """The Slack fake in its own process: Slack's work is not ditbot's CPU, as in production."""

    base_url: str
    process: multiprocessing.process.BaseProcess
    conn: Any

    def stop(self) -> None:
        self.conn.send("stop")
        self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()


def remote_slack(channels: dict[str, str], *, paced: bool = True) -> RemoteSlack:
    """Start the fake with `channels` in a child process; `paced=False` lifts Slack's one
    chat.postMessage per second per channel (to measure ditbot, not the pacing)."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(
        target=_fake_child, args=(channels, paced, child), name="slack", daemon=True
    )
    process.start()
    if not parent.poll(120):
        process.terminate()
        raise RuntimeError("the Slack fake did not start")
    return RemoteSlack(parent.recv(), process, parent)
