"""Slack, connected in the background: `ditbot serve` does not wait for it to answer.

Building the bolt App calls `auth.test`, and Socket Mode opens a socket; either can fail when
Slack (or the way to it) is down. The portal, the REST API and mail delivery do not need
Slack, so they start anyway: the first failure is said in one log line, then the link retries
with backoff (`RETRY`) in its own thread until it connects. Meanwhile POST /slack/events
answers 503 and /healthz (and so `ditbot doctor`) shows `slack: down` with the reason.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol

from slack_bolt import App

from ditbot.delivery.backoff import Backoff

log = logging.getLogger(__name__)

RETRY = Backoff(base=5.0, cap=300.0)
State = Literal["connecting", "up", "down"]


class Socket(Protocol):
    """What the link needs of a Socket Mode connection (bolt's SocketModeHandler)."""

    def connect(self) -> None: ...

    def close(self) -> None: ...


class SlackLink:
    """The bolt App once Slack answered (`app`), its state (`health()`), the retries.

    `connect` builds the App (and calls auth.test); `socket`, in Socket Mode, makes the
    connection that `attempt()` then opens. `wait(seconds)` sleeps between attempts and says
    True when the link is stopped (default: the stop event; tests give their own clock).
    """

    def __init__(
        self,
        connect: Callable[[], App],
        *,
        socket: Callable[[App], Socket] | None = None,
        backoff: Backoff = RETRY,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self._connect = connect
        self._make_socket = socket
        self._backoff = backoff
        self._stopped = threading.Event()
        self._wait = wait or self._stopped.wait
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._app: App | None = None
        self._socket: Socket | None = None
        self._state: State = "connecting"
        self._failures = 0
        self._detail = ""
        self._retry_at: float | None = None

    @property
    def app(self) -> App | None:
        """The bolt App, once Slack answered auth.test (and the socket opened, Socket Mode)."""
        with self._lock:
            return self._app if self._state == "up" else None

    @property
    def state(self) -> State:
        with self._lock:
            return self._state

    def health(self) -> dict[str, Any]:
        """What /healthz says of Slack: `up`, `connecting`, or `down` with why and when next."""
        with self._lock:
            answer: dict[str, Any] = {"state": self._state}
            if self._state == "down":
                answer["detail"] = self._detail
                answer["attempts"] = self._failures
                if self._retry_at is not None:
                    answer["retry_in"] = max(0, round(self._retry_at - time.monotonic()))
            return answer

    def attempt(self) -> bool:
        """One try at connecting; True when Slack is connected."""
        try:
            app = self._app or self._connect()
            with self._lock:
                self._app = app
            if self._make_socket is not None:
                socket = self._socket or self._make_socket(app)
                with self._lock:
                    self._socket = socket
                _forget_socket_url(socket)
                socket.connect()
        # The boundary of a retry loop: whatever stops Slack from connecting (connection
        # errors, Slack's refusals, a malformed answer) means "not yet", said in one line.
        except Exception as error:
            self._failed(error)
            return False
        with self._lock:
            failures, self._state, self._retry_at = self._failures, "up", None
        if failures:
            log.info("Slack connected after %d failed attempts", failures)
        return True

    def start(self) -> None:
        """Keep trying in a thread of its own until connected (no-op once connected)."""
        if self.state == "up" or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="slack-link", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            socket, self._socket = self._socket, None
        if socket is not None:
            socket.close()

    def _run(self) -> None:
        if self._failures == 0 and self.attempt():  # never tried yet (Socket Mode)
            return
        while not self._stopped.is_set():
            if self._wait(self._backoff.delay(self._failures)):
                return
            if self._stopped.is_set() or self.attempt():
                return

    def _failed(self, error: Exception) -> None:
        reason = describe(error)
        with self._lock:
            self._failures += 1
            failures = self._failures
            delay = self._backoff.delay(failures)
            self._state, self._detail = "down", reason
            self._retry_at = time.monotonic() + delay
        if failures == 1:
            log.warning(
                "Slack does not answer (%s): the portal, the REST API and mail delivery run "
                "without it; Slack is retried in %.0f s, then with backoff",
                reason,
                delay,
            )
        else:
            log.info(
                "Slack still does not answer (attempt %d: %s); next attempt in %.0f s",
                failures,
                reason,
                delay,
            )


def describe(error: BaseException) -> str:
    """One short line for why Slack did not connect (bolt wraps auth.test's refusal)."""
    from slack_sdk.errors import SlackApiError

    cause = error.__context__ if not isinstance(error, SlackApiError) else None
    if isinstance(cause, SlackApiError):
        error = cause
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", None)
        code = error.response.get("error") if isinstance(error.response.data, dict) else None
        return f"{code or 'error'}, HTTP {status}"
    reason = getattr(error, "reason", None) or error  # urllib's URLError wraps the OSError
    text = " ".join(str(reason).split()) or type(error).__name__
    return text[:200]


def _forget_socket_url(socket: Socket) -> None:
    """Socket Mode: ask for a new wss URL at each attempt (a URL is good for one connection)."""
    client = getattr(socket, "client", None)
    if client is not None and hasattr(client, "wss_uri") and not client.is_connected():
        client.wss_uri = None
