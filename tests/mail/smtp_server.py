"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the mail tests and the benchmark.

It binds port 0 (the kernel picks a free port) and keeps that port across `stop()` /
`start()`, so a test can take the server down while ditbot sends and bring it back. On demand
it answers a code on MAIL, RCPT or DATA (`fail`), or holds DATA without ever accepting it
(`stall_data`), which is how a test catches a process in the middle of a delivery.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    at: float
    message: EmailMessage = field(init=False)

    def __post_init__(self) -> None:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.message = parsed

    def part(self, subtype: str) -> str:
        """The decoded text of the text/<subtype> part."""
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None and body.get_content_type() == f"text/{subtype}"
        return str(body.get_content()).replace("\r\n", "\n")


class _PortZeroController(Controller):
    """aiosmtpd's Controller, learning the real port when asked to bind port 0."""

    def _trigger_server(self) -> None:
        if not self.port and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    def __init__(
        self,
        *,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        users: dict[str, str] | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self._tls_context = tls_context
        self._implicit_tls = implicit_tls
        self._users = users
        self._cond = threading.Condition()
        self.received: list[Received] = []
        self.commands: Counter[str] = Counter()
        self.logins: list[str] = []
        self.ehlo_names: list[str] = []  # what each session said in EHLO / HELO
        self._faults: dict[str, list[tuple[int, str]]] = {}
        self._stall = threading.Event()
        self.data_started = threading.Event()
        self._controller: _PortZeroController | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> SmtpServer:
        if self._controller is not None:
            return self
        kwargs: dict[str, Any] = {
            "hostname": self.host,
            "port": self.port,
            "server_hostname": "smtp.test",
            "ready_timeout": 10,
        }
        if self._tls_context is not None:
            kwargs["tls_context"] = self._tls_context
            kwargs["require_starttls"] = True
        if self._implicit_tls is not None:
            kwargs["ssl_context"] = self._implicit_tls
        if self._users is not None:
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_required"] = True
            kwargs["auth_require_tls"] = self._tls_context is not None
        controller = _PortZeroController(_Handler(self), **kwargs)
        controller.start()
        self.port = controller.port
        self._controller = controller
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        self._stall.clear()
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._controller is not None

    # -- behaviour ------------------------------------------------------------------------
    def fail(self, stage: str, code: int, text: str = "", times: int = 1) -> None:
        """Answer `code text` to the next `times` commands of `stage` (MAIL, RCPT, DATA)."""
        reason = text or {
            550: "5.1.1 Recipient address rejected: User unknown",
            451: "4.3.0 Temporary local problem, try again later",
            421: "4.3.2 Service shutting down",
        }.get(code, "refused")
        with self._cond:
            self._faults.setdefault(stage.upper(), []).extend([(code, reason)] * times)

    def stall_data(self) -> None:
        """Hold every DATA until released; a held message is then refused, never accepted."""
        self.data_started.clear()
        self._stall.set()

    def release(self) -> None:
        self._stall.clear()

    def _take(self, stage: str) -> tuple[int, str] | None:
        with self._cond:
            self.commands[stage] += 1
            queue = self._faults.get(stage)
            return queue.pop(0) if queue else None

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            user = data.login.decode()
            if self._users is not None and self._users.get(user) == data.password.decode():
                with self._cond:
                    self.logins.append(user)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def _accept(self, envelope: Any) -> None:
        with self._cond:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, time.time())
            )
            self._cond.notify_all()

    # -- waiting --------------------------------------------------------------------------
    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[Received]:
        """Block until `count` messages were accepted; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"SMTP server: expected {count} message(s) within {timeout}s, "
                        f"got {len(self.received)}; commands seen: {dict(self.commands)}"
                    )
                self._cond.wait(remaining)
            return list(self.received)


class _Handler:
    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.owner._cond:
            self.owner.ehlo_names.append(str(session.host_name))
        fault = self.owner._take("MAIL")
        if fault:
            return f"{fault[0]} {fault[1]}"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        fault = self.owner._take("RCPT")
        if fault:
            return f"{fault[0]} {fault[1]}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        owner = self.owner
        if owner._stall.is_set():
            owner.data_started.set()
            while owner._stall.is_set():
                await asyncio.sleep(0.02)
            return "421 4.3.2 held message dropped"
        fault = owner._take("DATA")
        if fault:
            return f"{fault[0]} {fault[1]}"
        owner._accept(envelope)
        return "250 2.0.0 Message accepted for delivery"
