"""What the HTTP side writes in the log: one bounded line per refused request, no secret.

The log is what an admin reads (and what fills a disk): a refused request gets one INFO line
(method, path, status, reason, length), never its body, never a portal link's token, and
nothing a request sends can start a line of its own.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from flask import Flask

from ditbot.core.credentials import fingerprint
from ditbot.portal.tokens import make_token
from ditbot.web import portal_page
from tests.credentials import PORTAL_SECRET

LIMITS_LOGGER = "ditbot.web.limits"
FORGED = "\n2026-11-27 12:00:00 CRITICAL ditbot: forged line"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """INFO and up, as `ditbot serve` logs; bolt's loggers take the root's level when the app
    is built (ditbot's `main` configures logging first), so theirs is set the same way."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="slack_bolt.RequestVerification")
    return caplog


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_an_unsigned_slack_request_is_logged_as_one_line_without_its_body(
    logs: pytest.LogCaptureFixture, slack_web: Flask
) -> None:
    """3 unsigned requests of 1 MiB with forged lines inside: 3 short lines, nothing of them."""
    body = ("command=%2Fdit&text=" + "A" * (1024 * 1024) + FORGED).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    client = slack_web.test_client()
    for _ in range(3):
        assert client.post("/slack/events", data=body, headers=headers).status_code == 401
    text = "\n".join(lines(logs))
    assert "forged" not in text and "AAAA" not in text
    assert len(text) < 600
    refused = [r for r in logs.records if r.name == LIMITS_LOGGER]
    assert [r.levelno for r in refused] == [logging.INFO] * 3
    assert refused[0].getMessage() == (
        "refused POST /slack/events: 401 Slack request refused: bad signature: it does not "
        f"match SLACK_SIGNING_SECRET (body: {len(body)} bytes)"
    )


def test_control_characters_of_a_path_are_escaped_and_a_long_one_is_cut(
    logs: pytest.LogCaptureFixture, slack_web: Flask
) -> None:
    client = slack_web.test_client()
    assert client.get("/api/v1/nothing%0D%0A2026-11-27%20CRITICAL%20forged").status_code == 404
    assert client.get("/x" + "y" * 10_000).status_code == 404
    forged, long = [r.getMessage() for r in logs.records if r.name == LIMITS_LOGGER]
    assert "\n" not in forged and "\r" not in forged
    assert forged.startswith("refused GET /api/v1/nothing\\r\\n2026-11-27 CRITICAL forged: 404")
    assert len(long) < 300 and "…" in long


def test_a_refused_portal_link_is_named_by_a_fingerprint_of_its_token(
    logs: pytest.LogCaptureFixture, slack_web: Flask
) -> None:
    token = make_token(PORTAL_SECRET, "DIT-9999", "NOBODY")
    assert slack_web.test_client().get(f"/portal/{token}").status_code == 404
    (line,) = [r.getMessage() for r in logs.records if r.name == LIMITS_LOGGER]
    shown = f"/portal/[token {fingerprint(token)}]"
    assert line == f"refused GET {shown}: 404 Not Found (body: 0 bytes)"
    assert token not in logs.text


def test_a_failure_on_the_portal_page_logs_no_token(
    logs: pytest.LogCaptureFixture,
    slack_web: Flask,
    seeded: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(portal_page, "_show", broken)
    token = make_token(PORTAL_SECRET, "DIT-2026-0001", "ACME-PM")
    assert slack_web.test_client().get(f"/portal/{token}").status_code == 500
    assert f"Exception on /portal/[token {fingerprint(token)}] [GET]" in lines(logs)
    assert token not in logs.text and token[:20] not in logs.text
