"""`ditbot serve`'s HTTP server, over real sockets: body limits per route, idle connections.

Each test talks to waitress as set up by ditbot/cli/http_server.py, on 127.0.0.1 (port 0), in
front of the whole app (REST API, portal, webhook, the bolt app on the Slack fake).
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator

import pytest

from ditbot.playground.slack_api import FakeSlack
from ditbot.web.limits import API_MAX_BODY, OTHER_MAX_BODY, SLACK_MAX_BODY
from ditbot.web.openapi import document
from ditbot.web.schemas import PORTAL_MAX_BODY
from tests.web.conftest import Served, wait_until

KIB = 1024


def post(
    served: Served, path: str, body: bytes | Iterator[bytes], timeout: float = 30
) -> tuple[int, str, bytes]:
    """POST `body` (an iterator is sent chunked, without Content-Length): status, type, body."""
    connection = http.client.HTTPConnection(served.host, served.port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if isinstance(body, bytes):
            connection.request("POST", path, body=body, headers=headers)
        else:
            connection.request("POST", path, body=body, headers=headers, encode_chunked=True)
        answer = connection.getresponse()
        return answer.status, answer.getheader("Content-Type", ""), answer.read()
    finally:
        connection.close()


def test_110_idle_half_open_connections_do_not_keep_healthz_waiting(served: Served) -> None:
    """One client opens 110 connections and never finishes a request; /healthz answers in 1 s."""
    idle: list[socket.socket] = []
    try:
        for _ in range(110):
            sock = served.connect()
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: ditbot\r\nContent-Len")
            idle.append(sock)
        connection = http.client.HTTPConnection(served.host, served.port, timeout=1)
        connection.request("GET", "/healthz")
        answer = connection.getresponse()
        assert (answer.status, json.loads(answer.read())["status"]) == (200, "ok")
        connection.close()
        # They were all accepted before it (a listen queue is served in order) and still are.
        assert served.open_connections() >= len(idle)
    finally:
        for sock in idle:
            sock.close()
    wait_until(lambda: served.open_connections() == 0, what="the idle connections to close")


@pytest.mark.parametrize("announced", [API_MAX_BODY + 1, 330_000_000])
def test_a_body_announced_over_the_servers_bound_is_refused_before_it_is_sent(
    served: Served, announced: int
) -> None:
    """315 MB announced to the 64 KiB webhook: 413 at once, without waiting for (or storing) it.

    The bound is the largest limit of a route, the REST API's: one byte over it is refused too.
    """
    with served.connect(timeout=5) as sock:
        sock.sendall(
            b"POST /api/v1/portal/messages HTTP/1.1\r\nHost: ditbot\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {announced}\r\n\r\n".encode()
            + b"{"
        )
        answer = http.client.HTTPResponse(sock)
        answer.begin()  # a server that waits for the body makes this time out
        assert answer.status == 413


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/api/v1/portal/messages", PORTAL_MAX_BODY),
        ("/slack/events", SLACK_MAX_BODY),
        ("/portal/any-token", 64 * KIB),
        ("/healthz", OTHER_MAX_BODY),
    ],
)
def test_each_route_takes_a_body_up_to_its_limit_and_refuses_one_byte_more(
    served: Served, slack: FakeSlack, path: str, limit: int
) -> None:
    status, kind, body = post(served, path, b"x" * (limit + 1))
    assert (status, kind) == (413, "application/problem+json"), body[:200]
    problem = json.loads(body)
    assert problem["status"] == 413 and str(limit) in problem["detail"]
    status, _kind, _body = post(served, path, b"x" * limit)
    assert status != 413  # the route got it (and refused it for what it says, not its size)
    assert slack.calls_to("auth.test") == slack.calls  # no valid request reached the bolt app


def test_the_rest_api_takes_a_body_of_its_documented_limit(served: Served) -> None:
    status, _kind, body = post(served, "/api/v1/dits/DIT-2026-0001/exchanges", b"x" * API_MAX_BODY)
    assert status == 401, body[:200]  # no bearer token: refused for that, not for its size
    assert str(API_MAX_BODY) in json.dumps(document("http://localhost")["paths"])  # and says so


def test_a_chunked_body_is_counted_against_the_route_limit(
    served: Served, slack: FakeSlack
) -> None:
    def chunks(size: int) -> Iterator[bytes]:
        for start in range(0, size, 64 * KIB):
            yield b"x" * min(64 * KIB, size - start)

    status, kind, _body = post(served, "/slack/events", chunks(SLACK_MAX_BODY + 1))
    assert (status, kind) == (413, "application/problem+json")
    status, _kind, _body = post(served, "/slack/events", chunks(SLACK_MAX_BODY))
    assert status == 401  # unsigned: the bolt app refused it for its signature
    assert slack.calls_to("auth.test") == slack.calls
