"""The playground's SMTP sink: every mail ditbot sends, kept for the mailbox pane.

An aiosmtpd server on 127.0.0.1 (a free port) accepts everything and keeps each message,
parsed, in memory (newest last); nothing leaves the machine.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Mail:
    """One message the sink accepted."""

    id: int
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    at: float
    message: EmailMessage = field(init=False)

    def __post_init__(self) -> None:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.message = parsed

    def header(self, name: str) -> str:
        return str(self.message.get(name, ""))

    def part(self, subtype: str) -> str | None:
        """The decoded text/<subtype> part, or None."""
        body = self.message.get_body(preferencelist=(subtype,))
        if body is None or body.get_content_type() != f"text/{subtype}":
            return None
        return str(body.get_content())


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.box.add(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
        return "250 OK: kept in the playground's mailbox"


class _PortZeroController(Controller):
    """aiosmtpd's Controller, learning the real port when asked to bind port 0."""

    def _trigger_server(self) -> None:
        server: Any = self.server
        if not self.port and server is not None:
            self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class Mailbox:
    """The sink and its messages. `on_mail` is told of each new one."""

    def __init__(self, on_mail: Callable[[Mail], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._mails: list[Mail] = []
        self._ids = itertools.count(1)
        self._controller: _PortZeroController | None = None
        self.on_mail = on_mail

    def start(self) -> Mailbox:
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: a line per command
        controller = _PortZeroController(_Handler(self), hostname="127.0.0.1", port=0)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def port(self) -> int:
        if self._controller is None:
            raise RuntimeError("the mailbox is not started")
        return int(self._controller.port)

    def add(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> Mail:
        with self._lock:
            mail = Mail(next(self._ids), mail_from, rcpt_tos, raw, time.time())
            self._mails.append(mail)
        if self.on_mail is not None:
            self.on_mail(mail)
        return mail

    @property
    def mails(self) -> list[Mail]:
        with self._lock:
            return list(self._mails)

    def get(self, mail_id: int) -> Mail | None:
        with self._lock:
            return next((m for m in self._mails if m.id == mail_id), None)
