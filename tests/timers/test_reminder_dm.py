"""The reminder DM once across a kill -9: found again in the IM's history by its metadata."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

from bot.workers.reminders import ReminderScanner
from ditbot.core.context import Context
from ditbot.playground.slack_api import Call, FakeSlack
from tests.timers.conftest import (
    Clock,
    killed_then_recovered,
    paris,
    record,
    reminder_items,
    settings_with,
)

ROOT = Path(__file__).resolve().parents[2]


def kill_and_recover(
    ctx: Context, env: dict[str, str], clock: Clock, tmp_path: Path, *, refuse_first: bool
) -> FakeSlack:
    """A worker process is killed -9 right after its DM call: Slack took the DM (or refused
    it, `refuse_first`) and the item was never marked. The next worker delivers it."""
    killed: dict[str, Any] = {}

    def kill_on_answer(call: Call) -> None:
        if call.method == "chat.postMessage" and killed.get("pid"):
            os.kill(killed.pop("pid"), signal.SIGKILL)

    with FakeSlack(on_call=kill_on_answer) as fake:
        fake.add_user("UJDU", name="jeanne")
        if refuse_first:
            fake.fail_next("chat.postMessage", status=500)
        child_env = {**env, "SLACK_API_URL": fake.base_url}
        here = Context(settings_with(child_env, tmp_path), ctx.db)
        record(here, "received", paris(2026, 11, 30, 8, 0))
        clock.now = paris(2026, 11, 30, 11, 0)
        enqueued = ReminderScanner(here, clock=clock, every=0).scan_once().enqueued
        assert [s for _w, s in enqueued] == ["reminder"]
        killed_then_recovered(here, child_env, clock, killed)
    return fake


def test_a_dm_slack_took_before_a_kill_is_not_sent_again(
    ctx: Context, env: dict[str, str], seeded: dict[str, Any], clock: Clock, tmp_path: Path
) -> None:
    fake = kill_and_recover(ctx, env, clock, tmp_path, refuse_first=False)
    sent = [c for c in fake.calls_to("chat.postMessage") if c.ok]
    assert [c.args["channel"] for c in sent] == ["UJDU"]
    payload = sent[0].args["metadata"]["event_payload"]
    assert payload["step"] == "reminder" and payload["dit"] == "DIT-2026-0001"
    assert [c.args["users"] for c in fake.calls_to("conversations.open")] == ["UJDU"]
    [history] = fake.calls_to("conversations.history")
    assert history.ok and history.args["channel"] == "DJDU"
    (item,) = reminder_items(ctx.db)
    assert item.last_error is None


def test_a_dm_never_posted_before_a_kill_is_sent_once(
    ctx: Context, env: dict[str, str], seeded: dict[str, Any], clock: Clock, tmp_path: Path
) -> None:
    fake = kill_and_recover(ctx, env, clock, tmp_path, refuse_first=True)
    sent = [c for c in fake.calls_to("chat.postMessage") if c.ok]
    assert [c.args["channel"] for c in sent] == ["UJDU"]
    assert fake.calls_to("conversations.history")  # looked for first: not there


def test_the_fake_reads_an_im_only_with_im_history() -> None:
    with FakeSlack() as fake:
        fake.add_user("UJDU", name="jeanne")
        client = WebClient(token="xoxb-test-token", base_url=fake.base_url)
        client.chat_postMessage(
            channel="UJDU", text="x", metadata={"event_type": "e", "event_payload": {"a": "1"}}
        )
        im = client.conversations_open(users="UJDU")["channel"]["id"]
        shown = client.conversations_history(channel=im, include_all_metadata=True)
        assert [m["metadata"]["event_payload"] for m in shown["messages"]] == [{"a": "1"}]
        plain = client.conversations_history(channel=im)
        assert "metadata" not in plain["messages"][0]
        fake.scopes.discard("im:history")
        try:
            client.conversations_history(channel=im)
        except Exception as error:  # SlackApiError
            assert error.response["error"] == "missing_scope"  # type: ignore[attr-defined]
            assert error.response["needed"] == "im:history"  # type: ignore[attr-defined]
        else:
            raise AssertionError("read without im:history")
