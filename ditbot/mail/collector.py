"""The IMAP collector of `ditbot serve`: reads a mailbox and hands each message to the pipeline.

One thread, one connection (IMAPS, STARTTLS or plain, IMAPClient). Each round takes the
messages of `IMAP_FOLDER` that are not handled yet, oldest first, fetched with `BODY.PEEK[]`
(reading does not mark them), gives each to ditbot.mail.inbound.pipeline.receive, and only then
marks it handled: moved to `IMAP_MOVE_TO` (MOVE, else COPY + delete), or flagged `\\Seen` (and
only unseen messages are taken). Between rounds it waits in IDLE when the server offers it (new
mail wakes it at once), else it polls every `IMAP_POLL_SECONDS`. `stop` wakes it at once too,
from IDLE or a poll, so `ditbot serve` stops without waiting for the server.

Nothing is lost and nothing counts twice:
- a message is marked handled only after the pipeline committed it; a cut connection, a
  database outage (the pipeline's TemporaryFailure) or a `kill -9` leaves it unmarked, and it is
  taken again by the next round;
- taken again, or by a second `ditbot serve` reading the same mailbox, it is a duplicate for the
  pipeline (its key is unique in the database), so it is only marked;
- a message the pipeline cannot take for any other reason (a bug) is flagged `$DitbotError`
  and skipped from then on, so one bad message never stops the mailbox; unreadable messages
  are no such case: the pipeline sets them aside and they are handled like any other.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from ditbot.core.context import Context
from ditbot.core.settings import Settings
from ditbot.mail.inbound.pipeline import Outcome, TemporaryFailure, receive

log = logging.getLogger(__name__)
ERROR_FLAG = b"$DitbotError"
SEEN = b"\\Seen"
DELETED = b"\\Deleted"
IDLE_SLICE = 5.0  # seconds between checks of the stop flag in IDLE (a fallback: stop wakes it)
IDLE_MAX = 25 * 60  # RFC 2177: re-issue IDLE before 29 minutes
NETWORK_ERRORS = (IMAPClientError, OSError, socket.timeout, ssl.SSLError)


class MailboxProblem(Exception):
    """The mailbox cannot be used (login refused, folder missing); says which."""


@dataclass(frozen=True)
class Mailbox:
    """Where and how to read: the IMAP_* settings."""

    host: str
    port: int
    security: str
    username: str
    password: str
    folder: str
    move_to: str | None
    poll_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Mailbox:
        if not settings.imap_host:
            raise MailboxProblem("IMAP_HOST is not set: no mailbox to read")
        port = settings.imap_port or (993 if settings.imap_security == "tls" else 143)
        return cls(
            host=settings.imap_host,
            port=port,
            security=settings.imap_security,
            username=settings.imap_username or "",
            password=settings.imap_password or "",
            folder=settings.imap_folder,
            move_to=settings.imap_move_to,
            poll_seconds=float(settings.imap_poll_seconds),
        )

    @property
    def where(self) -> str:
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"


def connect(
    mailbox: Mailbox, *, ssl_context: ssl.SSLContext | None = None, timeout: float = 30.0
) -> IMAPClient:
    """A logged-in client with `mailbox.folder` selected; MailboxProblem when refused."""
    context = ssl_context or ssl.create_default_context()
    client = IMAPClient(
        mailbox.host,
        port=mailbox.port,
        ssl=mailbox.security == "tls",
        ssl_context=context if mailbox.security == "tls" else None,
        timeout=timeout,
        use_uid=True,
    )
    try:
        if mailbox.security == "starttls":
            client.starttls(context)
        try:
            client.login(mailbox.username, mailbox.password)
        except IMAPClientError as error:
            raise MailboxProblem(
                f"login refused for {mailbox.username} on {mailbox.host} ({_said(error)}): "
                "check IMAP_USERNAME and IMAP_PASSWORD"
            ) from None
        try:
            client.select_folder(mailbox.folder)
        except IMAPClientError as error:
            raise MailboxProblem(
                f"folder {mailbox.folder!r} cannot be opened ({_said(error)}): check IMAP_FOLDER"
            ) from None
        if mailbox.move_to and not client.folder_exists(mailbox.move_to):
            client.create_folder(mailbox.move_to)
    except BaseException:
        _close(client)
        raise
    return client


def waiting_uids(client: IMAPClient, mailbox: Mailbox) -> list[int]:
    """The messages not handled yet, oldest first."""
    criteria: list[Any] = ["NOT", "DELETED", "NOT", "KEYWORD", ERROR_FLAG.decode()]
    if not mailbox.move_to:
        criteria = ["UNSEEN", *criteria]
    return sorted(int(uid) for uid in client.search(criteria))


class MailCollector:
    """Reads the mailbox in a thread (`start`, `stop`); `collect_once` for one round."""

    name = "imap"

    def __init__(
        self,
        ctx: Context,
        *,
        mailbox: Mailbox | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        max_backoff: float = 60.0,
        take: Callable[[bytes], Outcome] | None = None,
    ) -> None:
        self.ctx = ctx
        self.mailbox = mailbox or Mailbox.from_settings(ctx.settings)
        self.ssl_context = ssl_context
        self.timeout = timeout
        self.max_backoff = max_backoff
        self.take = take or (lambda raw: receive(ctx, raw))
        self._client: IMAPClient | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._idle_socket: Any = None  # the connection's socket while it waits in IDLE
        self._woken = False  # stop shut that socket: the connection is to be dropped
        self.rounds = 0  # finished rounds (tests wait on it)
        self.taken = 0  # messages handed over and marked

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> MailCollector:
        self._thread = threading.Thread(target=self._run, name="imap-collector", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """End the thread and log out. A wait in IDLE is cut at once: its socket is shut (the
        thread then drops the connection), rather than waiting for the next IDLE_SLICE."""
        self._stop.set()
        with self._lock:
            idle, self._woken = self._idle_socket, self._idle_socket is not None
        if idle is not None:
            try:
                idle.shutdown(socket.SHUT_RDWR)
            except OSError:  # already gone
                pass
        if self._thread is not None:
            self._thread.join(timeout)
        self._disconnect()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def idling(self) -> bool:
        """Waiting in IDLE for new mail (tests wait on it)."""
        return self._idle_socket is not None

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self.collect_once()
                if failures:
                    log.info("mailbox %s: reading again", self.mailbox.where)
                failures = 0
                self._wait_for_mail()
            except (MailboxProblem, TemporaryFailure, *NETWORK_ERRORS) as error:
                self._disconnect()
                if self._stop.is_set():  # stopped meanwhile (perhaps cut by stop itself)
                    break
                failures += 1
                pause = min(self.max_backoff, 0.5 * 2 ** min(failures, 10))
                if failures == 1 or failures % 20 == 0:
                    log.warning(
                        "mailbox %s: %s; trying again in %.0f s",
                        self.mailbox.where,
                        _said(error),
                        pause,
                    )
                self._stop.wait(pause)
            except Exception:  # a bug must not end the collector; logged with its traceback
                log.exception("mailbox %s: the collector failed; trying again", self.mailbox.where)
                self._disconnect()
                self._stop.wait(self.max_backoff)

    # -- one round ------------------------------------------------------------------------
    def collect_once(self) -> int:
        """Take every waiting message; how many were handed over. Raises on network errors,
        MailboxProblem and TemporaryFailure (the message in hand stays unmarked)."""
        client = self._connected()
        count = 0
        for uid in waiting_uids(client, self.mailbox):
            if self._stop.is_set():
                break
            fetched = client.fetch([uid], [b"BODY.PEEK[]"]).get(uid)
            if not fetched or b"BODY[]" not in fetched:
                continue  # expunged meanwhile (another instance moved it)
            raw = bytes(fetched[b"BODY[]"])
            try:
                outcome = self.take(raw)
            except TemporaryFailure:
                raise
            except Exception:
                log.exception(
                    "mailbox %s: message uid %s could not be taken; flagged %s and skipped",
                    self.mailbox.where,
                    uid,
                    ERROR_FLAG.decode(),
                )
                client.add_flags([uid], [ERROR_FLAG])
                continue
            self._mark_handled(client, uid)
            count += 1
            self.taken += 1
            log.debug("mailbox uid %s: %s", uid, outcome.disposition)
        self.rounds += 1
        return count

    def _mark_handled(self, client: IMAPClient, uid: int) -> None:
        if not self.mailbox.move_to:
            client.add_flags([uid], [SEEN])
            return
        if client.has_capability("MOVE"):
            client.move([uid], self.mailbox.move_to)
            return
        client.copy([uid], self.mailbox.move_to)
        client.add_flags([uid], [DELETED, SEEN])
        if client.has_capability("UIDPLUS"):
            client.uid_expunge([uid])
        else:
            client.expunge()

    def _wait_for_mail(self) -> None:
        """Until new mail may be there: IDLE when offered, else the polling interval."""
        client = self._connected()
        limit = min(self.mailbox.poll_seconds, IDLE_MAX)
        if not client.has_capability("IDLE"):
            self._stop.wait(self.mailbox.poll_seconds)
            return
        client.idle()
        with self._lock:
            self._idle_socket = client.socket()
        try:
            deadline = time.monotonic() + limit
            while not self._stop.is_set() and time.monotonic() < deadline:
                responses = client.idle_check(timeout=IDLE_SLICE)
                if any(_is_news(response) for response in responses):
                    break
        finally:
            with self._lock:
                self._idle_socket = None
            if not self._woken:  # else the socket is shut: nothing to say to the server
                client.idle_done()

    def _connected(self) -> IMAPClient:
        if self._client is None:
            self._client = connect(self.mailbox, ssl_context=self.ssl_context, timeout=self.timeout)
        return self._client

    def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            _close(client)


def _is_news(response: Any) -> bool:
    return (
        isinstance(response, tuple) and len(response) > 1 and response[1] in (b"EXISTS", b"RECENT")
    )


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # a connection already gone, or cut mid-answer: nothing left to close
        try:
            client.shutdown()
        except Exception:
            pass


def _said(error: BaseException) -> str:
    text = str(error)
    if isinstance(error, IMAPClientError) and text.startswith("b'"):
        text = text[2:-1]
    return " ".join(text.split())[:300] or type(error).__name__


def count_waiting(
    mailbox: Mailbox, *, ssl_context: ssl.SSLContext | None = None, timeout: float = 10.0
) -> int:
    """How many messages wait in the mailbox (for `ditbot doctor`); raises like `connect`."""
    client = connect(mailbox, ssl_context=ssl_context, timeout=timeout)
    try:
        return len(waiting_uids(client, mailbox))
    finally:
        _close(client)
