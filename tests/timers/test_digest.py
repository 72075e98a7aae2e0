"""The weekly digest: numbers against a data set with known answers, the chart checked as an
image, and the upload through Slack's documented external flow in the fake."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from ditbot.cli.digest import build_digests, post
from ditbot.cli.main import main
from ditbot.core.context import Context
from ditbot.playground.slack_api import FakeSlack
from tests.slack.harness import texts
from tests.timers.conftest import MANAGERS, paris, record


def two_weeks(ctx: Context) -> None:
    """Week 47 (16-22 Nov 2026): 2 messages answered in 1 h and 3 h. Week 48 (23-29 Nov):
    answers in 2 h (first target 4), 6 h to a follow-up and 1 h (next target 8), and a message
    left waiting since Friday 27 at 10:00: 3 of 4 within target; 7 exchanges, 4 in week 47."""
    record(ctx, "received", paris(2026, 11, 16, 9, 0))
    record(ctx, "sent", paris(2026, 11, 16, 10, 0))
    record(ctx, "received", paris(2026, 11, 18, 9, 0), dit="DIT-2026-0003")
    record(ctx, "sent", paris(2026, 11, 18, 12, 0), dit="DIT-2026-0003")
    record(ctx, "received", paris(2026, 11, 23, 9, 0), dit="DIT-2026-0002")
    record(ctx, "sent", paris(2026, 11, 23, 11, 0), dit="DIT-2026-0002")
    record(ctx, "received", paris(2026, 11, 24, 9, 0), type_code="relance")
    record(ctx, "sent", paris(2026, 11, 24, 15, 0))
    record(ctx, "received", paris(2026, 11, 25, 9, 0), dit="DIT-2026-0003")
    record(ctx, "sent", paris(2026, 11, 25, 10, 0), dit="DIT-2026-0003")
    record(ctx, "received", paris(2026, 11, 27, 10, 0))


def check_png(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size == (1000, 450)
    colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 20  # bars, a line, text: not a blank page
    # The bars' blue is there.
    assert any(
        abs(r - 0x1E) < 12 and abs(g - 0x88) < 12 and abs(b - 0xE5) < 12
        for _n, (r, g, b) in colours
    )


@pytest.fixture
def command_line(
    ctx: Context,
    seeded: dict[str, Any],
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`ditbot digest` as run from a shell in English, over the two weeks' data."""
    two_weeks(ctx)
    for name, value in {**env, "DITBOT_LOCALE": "en"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)


def test_dry_run_writes_the_message_and_the_chart_with_the_known_figures(
    command_line: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "review"
    assert main(["digest", "--dry-run", "--out", str(out), "--week", "2026-W48"]) == 0
    assert str(out) in capsys.readouterr().out
    message = json.loads((out / "digest-all.json").read_text(encoding="utf-8"))
    shown = texts(message["blocks"])
    assert message["channel"] == MANAGERS
    assert "7 (+3)" in shown  # exchanges: 7 this week, 4 the week before
    assert "1 (+1)" in shown  # follow-ups
    assert "2 h 00 (+0 h 00)" in shown  # median of 2, 6, 1 = 2 h; week 47: 1 and 3 -> 2 h
    assert "5 h 12 (+2 h 24)" in shown  # p90 of 1, 2, 6; week 47 of 1 and 3: 2 h 48
    assert "75 % (-25 pts)" in shown  # 3 of 4 answered within target; week 47: 2 of 2
    assert "from Nov 23, 2026 to Nov 29, 2026" in shown
    assert "DIT-2026-0001" in shown.split("five longest waits")[1]
    check_png((out / "digest-all.png").read_bytes())


def test_the_digest_is_posted_and_its_chart_uploaded_in_the_thread(
    ctx: Context, seeded: dict[str, Any], slack: FakeSlack
) -> None:
    two_weeks(ctx)
    client = WebClient(token="xoxb-test-token", base_url=slack.base_url)
    digests = build_digests(ctx, paris(2026, 11, 30, 8, 30))
    assert post(ctx, digests, client) == [MANAGERS]
    methods = [c.method for c in slack.calls if c.method != "auth.test"]
    assert methods == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        "file_upload",
        "files.completeUploadExternal",
    ]
    message = slack.calls_to("chat.postMessage")[0]
    (start,) = slack.calls_to("files.getUploadURLExternal")
    (done,) = slack.calls_to("files.completeUploadExternal")
    assert int(start.args["length"]) == len(digests[0].chart)
    assert done.args["channel_id"] == MANAGERS
    assert done.args["thread_ts"] == message.response["ts"]
    file_id = start.response["file_id"]
    assert [f["id"] for f in done.args["files"]] == [file_id]
    uploaded = slack.uploaded(file_id)
    assert uploaded == digests[0].chart
    check_png(uploaded)
    # Slack shows the chart as the post's one reply, its title a date the managers read.
    parent, reply = slack.conversation(MANAGERS)
    assert parent["ts"] == message.response["ts"] and parent["reply_count"] == 1
    assert reply["thread_ts"] == parent["ts"] and reply["files"][0]["id"] == file_id
    assert digests[0].chart_title == "Échanges par jour, semaine du 23 nov. 2026"


def test_the_fake_refuses_what_slack_refuses_in_the_upload_flow(slack: FakeSlack) -> None:
    client = WebClient(token="xoxb-test-token", base_url=slack.base_url)
    with pytest.raises(SlackApiError) as caught:
        client.files_getUploadURLExternal(filename="a.png", length=0)
    assert caught.value.response["error"] == "missing_argument"
    with pytest.raises(SlackApiError) as caught:
        client.api_call("files.getUploadURLExternal", params={"length": 3})
    assert caught.value.response["error"] == "invalid_arguments"
    start = client.files_getUploadURLExternal(filename="a.png", length=3)
    with pytest.raises(SlackApiError) as caught:  # completed before its bytes were sent
        client.files_completeUploadExternal(files=[{"id": start["file_id"]}], channel_id=MANAGERS)
    assert caught.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as caught:
        client.files_completeUploadExternal(files=[{"id": "FNOPE"}])
    assert caught.value.response["error"] == "file_not_found"
    slack.add_channel("COTHER", name="other")
    response = client.files_upload_v2(channel="COTHER", content="abc", filename="a.txt")
    assert response["ok"]
    file_id = response["files"][0]["id"]
    with pytest.raises(SlackApiError) as caught:  # a file is shared once
        client.files_completeUploadExternal(files=[{"id": file_id}], channel_id="COTHER")
    assert caught.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as caught:
        client.files_upload_v2(channel="CNOWHERE", content="abc", filename="a.txt")
    assert caught.value.response["error"] == "channel_not_found"


def test_ditbot_digest_waits_out_a_429_and_says_so_when_slack_refuses(
    command_line: None, slack: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    slack.fail_next("chat.postMessage", 429, retry_after=0)
    assert main(["digest", "--week", "2026-W48"]) == 0
    assert f"digest posted to {MANAGERS}" in capsys.readouterr().out
    # The managers' channel busy for a while (a notification or an escalation each second):
    # a weekly digest waits its turn rather than fail.
    slack.fail_next("chat.postMessage", 429, times=6, retry_after=0)
    assert main(["digest", "--week", "2026-W48"]) == 0
    assert f"digest posted to {MANAGERS}" in capsys.readouterr().out

    slack.fail_next("chat.postMessage", 200, body={"ok": False, "error": "not_in_channel"})
    assert main(["digest", "--week", "2026-W48"]) == 1
    out, err = capsys.readouterr()
    assert "the digest was not posted: Slack answered not_in_channel; run it again" in out
    assert "Traceback" not in out + err
