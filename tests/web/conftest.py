"""Fixtures of the HTTP tests: ditbot's whole web app served by `ditbot serve`'s HTTP server.

`served` binds ditbot/cli/http_server.py's waitress on 127.0.0.1, port 0, in a thread, in
front of the real Flask app with the real bolt app (on the Slack fake of tests/slack/harness.py).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from ditbot.cli.http_server import http_server
from ditbot.core.context import Context
from tests.slack.harness import *  # noqa: F403  (fixtures: slack, slack_app, slack_web...)
from tests.slack.harness import (  # noqa: F401  (fixtures not in the harness's __all__)
    env,
    fake_slack,
    slack,
    slack_app,
    slack_executor,
    slack_web,
)


@dataclass
class Served:
    host: str
    port: int
    server: Any

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def connect(self, timeout: float = 5.0) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=timeout)

    def open_connections(self) -> int:
        """Connections the server holds (its map also has its listener and its trigger)."""
        return len(self.server._map) - 2


@pytest.fixture
def served(ctx: Context, slack_web: Flask) -> Iterator[Served]:  # noqa: F811
    settings = ctx.settings.model_copy(update={"host": "127.0.0.1", "port": 0})
    server = http_server(slack_web, settings)
    thread = threading.Thread(target=server.run, name="waitress-test", daemon=True)
    thread.start()
    yield Served("127.0.0.1", int(server.effective_port), server)
    server.close()
    thread.join(timeout=5)


def wait_until(condition: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    """Poll `condition` until it holds (no fixed sleep); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.01)
