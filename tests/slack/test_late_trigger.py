"""A panel whose trigger_id is too old by the time ditbot can open it (issue 13, overload).

Under a flood, `/dit <number>` waits for its unit of work; Slack's trigger_id lives 3 s. A
request that waited past bot/deps.py TRIGGER_BUDGET is not sent to views.open (Slack would
refuse it); one that Slack refuses anyway (`expired_trigger_id`) is answered the same way: an
ephemeral "Slack took too long ... Try again", in the user's language, and no traceback.

The wait is simulated without sleeping: the listener executor moves the clocks forward before
it runs each listener, as a queue behind other requests would.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask

from bot.app import create_app
from bot.deps import MAX_BACKLOG
from ditbot.core.context import Context
from ditbot.playground.slack_api import FakeSlack
from ditbot.web.app import create_web_app
from tests.slack.harness import SlackDriver, TrackingExecutor, command_payload, sign


class LateExecutor(TrackingExecutor):
    """Runs each listener after `late()`: the time it would have waited in the queue."""

    def __init__(self, late: Callable[[], None]) -> None:
        super().__init__()
        self.late = late

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def after_a_wait() -> Any:
            self.late()
            return fn(*args, **kwargs)

        return super().submit(after_a_wait)


def late_driver(
    ctx: Context, slack: FakeSlack, executor: TrackingExecutor, clock: Callable[[], float]
) -> SlackDriver:
    app = create_app(ctx, listener_executor=executor, clock=clock)
    web: Flask = create_web_app(ctx, app)
    return SlackDriver(web, slack, executor)


@pytest.fixture
def waited_4s(ctx: Context, seeded: dict[str, Any], slack: FakeSlack) -> Iterator[SlackDriver]:
    """ditbot and Slack share a clock, which moves 4 s while the listener waits."""
    executor = LateExecutor(lambda: slack.clock.advance(4))
    yield late_driver(ctx, slack, executor, slack.clock.monotonic)
    executor.shutdown(wait=True)


@pytest.fixture
def refused_by_slack(
    ctx: Context, seeded: dict[str, Any], slack: FakeSlack
) -> Iterator[SlackDriver]:
    """ditbot's clock says the request is fresh; Slack's has moved 4 s (it refuses the trigger)."""
    executor = LateExecutor(lambda: slack.clock.advance(4))
    yield late_driver(ctx, slack, executor, lambda: 1000.0)
    executor.shutdown(wait=True)


def test_a_panel_whose_trigger_is_too_old_is_not_attempted(
    waited_4s: SlackDriver, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    response = waited_4s.command("DIT-2026-0001")
    assert response.status_code == 200 and response.get_data() == b""  # acked at once
    waited_4s.settle()
    assert slack.calls_to("views.open") == []  # not tried: Slack would refuse it
    answer = waited_4s.last_response()
    assert answer["response_type"] == "ephemeral"
    assert "Slack a mis trop de temps" in answer["text"]  # UJDU is French
    assert not [r for r in caplog.records if r.exc_info]


def test_a_trigger_slack_refuses_as_expired_gets_the_same_answer(
    refused_by_slack: SlackDriver, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    refused_by_slack.check_limits = False  # the refused views.open is the point of this test
    refused_by_slack.command("DIT-2026-0001", user="UMLE")
    refused_by_slack.settle()
    (call,) = slack.calls_to("views.open")
    assert call.response["error"] == "expired_trigger_id"
    answer = refused_by_slack.last_response()
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == "Slack took too long to hand over your request. Try again."
    assert not [r for r in caplog.records if r.exc_info]  # no traceback in the log


def test_a_fresh_request_still_opens_its_panel(
    ctx: Context, seeded: dict[str, Any], slack: FakeSlack
) -> None:
    executor = LateExecutor(lambda: slack.clock.advance(1))  # a second in the queue is fine
    driver = late_driver(ctx, slack, executor, slack.clock.monotonic)
    try:
        driver.command("DIT-2026-0001")
        driver.settle()
        assert driver.last_view("views.open")["callback_id"] == "exchanges_panel"
        assert slack.calls_to("response_url") == []
    finally:
        executor.shutdown(wait=True)


def test_a_command_that_finds_the_pool_full_is_answered_at_once_and_not_queued(
    ctx: Context, seeded: dict[str, Any], slack: FakeSlack
) -> None:
    """Under a flood, acked requests queue for bolt's pool: past MAX_BACKLOG a slash command
    is answered in its ack ("very busy, try again") instead of growing the queue."""
    executor = TrackingExecutor(max_workers=1)
    driver = late_driver(ctx, slack, executor, slack.clock.monotonic)
    busy = threading.Event()
    try:
        executor.submit(busy.wait, 30)  # the only worker is taken
        for _ in range(MAX_BACKLOG + 1):
            executor.submit(lambda: None)
        # Straight to the app: the driver would wait for the pool to be idle first.
        fields = command_payload(
            "DIT-2026-0001",
            user="UJDU",
            response_url=slack.response_url("busy"),
            trigger_id=slack.new_trigger_id(),
        )
        body = urlencode(fields).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        headers.update(sign(body, timestamp=int(time.time())))
        response = driver.http.post("/slack/events", data=body, headers=headers)
        assert response.status_code == 200
        answer = response.get_json()
        assert answer["response_type"] == "ephemeral"
        assert (
            answer["text"]
            == "ditbot est très occupé en ce moment\u202f: réessayez dans un instant."
        )
        assert executor._work_queue.qsize() == MAX_BACKLOG + 1  # nothing more was queued
        busy.set()
        executor.wait_idle()
        assert slack.calls_to("views.open") == []
        driver.command("DIT-2026-0001")  # the pool has room again: the panel opens
        driver.settle()
        assert driver.last_view("views.open")["callback_id"] == "exchanges_panel"
    finally:
        busy.set()
        executor.shutdown(wait=True)
