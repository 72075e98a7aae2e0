"""The HTTP server of `ditbot serve`: waitress, with bounds on bodies, connections and idleness.

waitress reads a whole request before the application sees it, so its own bounds are what
protect memory and disk; the application's per-route limits (ditbot/web/limits.py) come after.

- Bodies: `max_request_body_size` is the largest route limit (the REST API's); a bigger
  Content-Length is answered 413 at once and a chunked body is cut there. Headers: 64 KiB.
- Connections: waitress serves idle and half-sent connections in its event loop, not in its
  threads, so they cost a socket each, not a thread. It stops accepting beyond
  `connection_limit` (100 by default: 110 idle sockets from one client made /healthz and Slack's
  requests wait until they were closed). The limit here leaves room for many idle clients; a
  cap *per client* is the reverse proxy's job (README, "Behind a reverse proxy"), since behind
  one every connection comes from the proxy's address.
- Idleness: a connection that sends nothing for CHANNEL_TIMEOUT seconds is closed, checked
  every CLEANUP_INTERVAL seconds (a request being answered is never cut).
"""

from __future__ import annotations

import socket
from typing import Any

from flask import Flask

from ditbot.core.i18n import Text, _
from ditbot.core.settings import Settings
from ditbot.web.limits import LARGEST_BODY

HTTP_THREADS = 16
CONNECTION_LIMIT = 500  # sockets; well under the usual 1024 files a process may open
CHANNEL_TIMEOUT = 30  # seconds an idle connection is kept open
CLEANUP_INTERVAL = 5  # seconds between two sweeps of idle connections
MAX_HEADER_BYTES = 64 * 1024


class CannotListen(Exception):
    """The HTTP address is taken or not ours to use; `said` says it in a language."""

    def __init__(self, said: Text) -> None:
        super().__init__(str(said))
        self.said = said


def http_server(
    web: Flask,
    settings: Settings,
    *,
    threads: int = HTTP_THREADS,
    sock: socket.socket | None = None,
) -> Any:
    """Bind the HTTP server now, so a taken port is reported before anything starts.

    `sock`, already listening, is served instead of binding settings.host:settings.port: several
    processes can serve one socket (bench/serving.py measures that serving model).
    """
    from waitress.server import create_server

    where: dict[str, Any] = (
        {"sockets": [sock]} if sock is not None else {"host": settings.host, "port": settings.port}
    )
    try:
        return create_server(
            web,
            **where,
            threads=threads,
            ident="ditbot",
            # waitress refuses a Content-Length equal to the bound: one more byte is allowed.
            max_request_body_size=LARGEST_BODY + 1,
            max_request_header_size=MAX_HEADER_BYTES,
            connection_limit=CONNECTION_LIMIT,
            channel_timeout=CHANNEL_TIMEOUT,
            cleanup_interval=CLEANUP_INTERVAL,
            # poll(), not select(): select() cannot watch a socket numbered 1024 or more.
            asyncore_use_poll=True,
        )
    except OSError as error:
        said = _(
            "cannot listen on {where} ({reason}): stop what uses that port, or set "
            "DITBOT_PORT / DITBOT_HOST."
        )
        address = f"{settings.host}:{settings.port}"
        raise CannotListen(Text(said, where=address, reason=error.strerror or str(error))) from None
