"""What a Slack error means to the outbox workers (bot/workers/slack_refusals.py): one reading
of Slack's codes and of a 429's Retry-After for every worker that posts."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse

from bot.workers.slack_refusals import refusal_of, retry_after


def refused(status: int, data: Any, headers: dict[str, Any] | None = None) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data=data,
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError("refused", response)


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": ["3"]}, 3.0),
        ({}, 1.0),
        ({"Retry-After": "soon"}, 1.0),
        ({"Retry-After": "-5"}, 0.0),
    ],
)
def test_a_429_waits_what_retry_after_says_and_one_second_when_it_says_nothing_usable(
    header: dict[str, Any], wait: float
) -> None:
    error = refused(429, {"ok": False, "error": "ratelimited"}, header)
    assert retry_after(error) == wait
    settled = refusal_of(error, "reminder of DIT-2026-0001")
    assert (settled.permanent, settled.wait) == (False, wait)
    assert settled.reason == "Slack 429 ratelimited (reminder of DIT-2026-0001)"


@pytest.mark.parametrize(
    "code", ["channel_not_found", "token_expired", "user_not_found", "invalid_blocks"]
)
def test_what_no_retry_can_fix_is_given_up_at_once(code: str) -> None:
    assert refusal_of(refused(200, {"ok": False, "error": code})).permanent


@pytest.mark.parametrize(("status", "code"), [(500, "internal_error"), (503, None), (200, "x")])
def test_what_may_pass_later_is_retried(status: int, code: str | None) -> None:
    data = {"ok": False, **({"error": code} if code else {})}
    settled = refusal_of(refused(status, data))
    assert not settled.permanent and settled.wait == 0.0
    assert settled.reason == f"Slack {status} {code or ''}".strip()
