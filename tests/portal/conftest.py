"""Fixtures of the portal tests: the web app, signed webhook requests, a live server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from ditbot.core.context import Context
from ditbot.portal import signing
from ditbot.web.app import create_web_app
from storage.db import Database
from storage.models import Exchange, OutboxItem
from tests.credentials import PORTAL_SECRET

WEBHOOK = "/api/v1/portal/messages"


@pytest.fixture
def app(ctx: Context, seeded: dict[str, Any]) -> Flask:
    return create_web_app(ctx)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def body_of(message: dict[str, Any] | bytes) -> bytes:
    return message if isinstance(message, bytes) else json.dumps(message).encode()


def signed_post(
    client: FlaskClient,
    message: dict[str, Any] | bytes,
    *,
    secret: str = PORTAL_SECRET,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """POST `message` to the webhook, signed like an external portal signs it."""
    raw = body_of(message)
    sent = signing.signed_headers(secret, raw, timestamp)
    sent.update(headers or {})
    return client.post(WEBHOOK, data=raw, headers=sent)


def legacy_token(secret: str, dit: str, contact: str, expires_at: datetime) -> str:
    """A link as ditbot issued them before itsdangerous (the old algorithm, written out)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    body = {"d": dit, "c": contact, "e": int(expires_at.timestamp())}
    payload = b64(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    mac = hmac.new(secret.encode(), b"ditbot-portal-link.v1:" + payload.encode(), hashlib.sha256)
    return f"{payload}.{b64(mac.digest())}"


@dataclass(frozen=True)
class Stored:
    exchanges: int
    outbox: int


def stored(db: Database) -> Stored:
    """How many exchanges and outbox items the database holds."""
    with db.session() as session:
        return Stored(
            exchanges=session.scalar(select(func.count(Exchange.id))) or 0,
            outbox=session.scalar(select(func.count(OutboxItem.id))) or 0,
        )


@dataclass
class LiveServer:
    url: str
    app: Flask


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The real app served by waitress on 127.0.0.1, port 0, in a thread."""
    from waitress import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress-test", daemon=True)
    thread.start()
    port = server.effective_port  # type: ignore[union-attr]
    yield LiveServer(url=f"http://127.0.0.1:{port}", app=app)
    server.close()
    thread.join(timeout=5)


def wait_until(condition: Any, timeout: float = 5.0, what: str = "condition") -> None:
    """Poll `condition` until it holds (no fixed sleep); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
