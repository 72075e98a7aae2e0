"""What a forged, replayed or malformed request to ditbot's Slack side gets: nothing done.

An attacker's server (a second FakeSlack, on another port than the configured Slack API) plays
the `response_url` of the attacker's choosing: it must receive nothing. The configured fake
must record no Web API call. bolt's `dispatch` is watched: a refused request never reaches it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import App, BoltRequest

from bot.app import create_app
from bot.inbound import (
    GuardedRespond,
    ResponseUrlRefused,
    UnverifiedApp,
    response_url_allowed,
)
from ditbot.cli.serve import build
from ditbot.core.context import Context
from ditbot.core.settings import Settings
from ditbot.playground.slack_api import FakeSlack
from ditbot.web.app import create_web_app
from tests.slack.harness import (
    SIGNING_SECRET,
    SlackDriver,
    TrackingExecutor,
    block_actions_payload,
    command_payload,
    event_payload,
    sign,
)

FORM = "application/x-www-form-urlencoded"
ZEROS = "v0=" + "0" * 64


@pytest.fixture
def attacker() -> Iterator[FakeSlack]:
    """A server of the attacker's: the response_url they put in their forged requests."""
    with FakeSlack() as server:
        yield server


@pytest.fixture
def dispatched(slack_app: App, monkeypatch: pytest.MonkeyPatch) -> list[BoltRequest]:
    """Every request that reached bolt's `dispatch`."""
    seen: list[BoltRequest] = []
    real = slack_app.dispatch

    def spy(request: BoltRequest) -> Any:
        seen.append(request)
        return real(request)

    monkeypatch.setattr(slack_app, "dispatch", spy)
    return seen


@pytest.fixture
def calls_before(driver: SlackDriver, slack: FakeSlack) -> int:
    """Calls the fake had before the test's requests (the app's auth.test)."""
    return len(slack.calls)


def new_calls(slack: FakeSlack, before: int) -> list[str]:
    return [call.method for call in slack.calls[before:]]


def signature_of(body: bytes, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


# -- the requests an attacker sends ---------------------------------------------------------
def message_click(slack: FakeSlack, response_url: str) -> tuple[bytes, str]:
    """A button of a message: bolt answers through its response_url."""
    payload = block_actions_payload(
        user="UJDU",
        action={"action_id": "open_panel", "value": "DIT-2026-0001", "type": "button"},
        trigger_id=slack.new_trigger_id(),
        response_url=response_url,
    )
    return urlencode({"payload": json.dumps(payload)}).encode(), FORM


def modal_click(slack: FakeSlack, response_url: str) -> tuple[bytes, str]:
    """A button inside a modal: an error there is told with views.push and the bot token."""
    view = {"type": "modal", "id": "V0ATTACK", "callback_id": "exchanges_panel", "blocks": []}
    payload = block_actions_payload(
        user="UJDU",
        action={"action_id": "add_received", "value": "x", "type": "button"},
        trigger_id=slack.new_trigger_id("V0ATTACK"),
        view=view,
    )
    return urlencode({"payload": json.dumps(payload)}).encode(), FORM


def slash_command(slack: FakeSlack, response_url: str) -> tuple[bytes, str]:
    """`/dit Acme`: the list of Acme's DITs, answered through the response_url."""
    fields = command_payload(
        "Acme", user="UJDU", response_url=response_url, trigger_id=slack.new_trigger_id()
    )
    return urlencode(fields).encode(), FORM


def home_event(slack: FakeSlack, response_url: str) -> tuple[bytes, str]:
    """An event naming any user: an error there is told in a DM to that user."""
    event = {"type": "app_home_opened", "user": "USBE", "tab": "home", "channel": "D0"}
    return json.dumps(event_payload(event)).encode(), "application/json"


REQUESTS: dict[str, Callable[[FakeSlack, str], tuple[bytes, str]]] = {
    "message-button": message_click,
    "modal-button": modal_click,
    "slash-command": slash_command,
    "event": home_event,
}


def forged(variant: str, body: bytes) -> dict[str, str]:
    """The X-Slack-* headers of each way a signature can fail to verify."""
    now = int(time.time())
    good = sign(body, timestamp=now)
    return {
        "timestamp-abc": {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": ZEROS},
        "timestamp-abc-signed": {
            "X-Slack-Request-Timestamp": "abc",
            "X-Slack-Signature": signature_of(body, "abc"),
        },
        "timestamp-float": {
            "X-Slack-Request-Timestamp": f"{now}.5",
            "X-Slack-Signature": signature_of(body, f"{now}.5"),
        },
        "non-ascii-signature": {
            **good,
            "X-Slack-Signature": good["X-Slack-Signature"][:-1] + "é",
        },
        "no-headers": {},
        "no-signature": {"X-Slack-Request-Timestamp": str(now)},
        "no-timestamp": {"X-Slack-Signature": good["X-Slack-Signature"]},
        "empty-signature": {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": ""},
        "stale": sign(body, timestamp=now - 301),
        "future": sign(body, timestamp=now + 301),
        "other-secret": sign(body, secret="not-the-signing-secret-of-this-app", timestamp=now),
    }[variant]


VARIANTS = [
    "timestamp-abc",
    "timestamp-abc-signed",
    "timestamp-float",
    "non-ascii-signature",
    "no-headers",
    "no-signature",
    "no-timestamp",
    "empty-signature",
    "stale",
    "future",
    "other-secret",
]


# -- item 2: a signature that does not verify is a 401, and nothing else -------------------
@pytest.mark.parametrize("variant", VARIANTS)
def test_a_request_whose_signature_does_not_verify_gets_401_and_nothing_runs(
    driver: SlackDriver,
    slack: FakeSlack,
    attacker: FakeSlack,
    dispatched: list[BoltRequest],
    calls_before: int,
    caplog: pytest.LogCaptureFixture,
    variant: str,
) -> None:
    body, content_type = message_click(slack, attacker.response_url("leak"))
    caplog.set_level(logging.INFO)
    answer = driver.post(body, content_type, signed=False, headers=forged(variant, body))
    assert answer.status_code == 401
    assert dispatched == []  # bolt never saw it: no listener, no error handler
    assert attacker.calls == []
    assert new_calls(slack, calls_before) == []
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert ": 401 Slack request refused: " in line and len(line) < 200
    assert "leak" not in line  # one bounded line of ours, not the body


@pytest.mark.parametrize("kind", sorted(REQUESTS))
def test_a_timestamp_abc_does_not_make_any_request_pass(
    driver: SlackDriver,
    slack: FakeSlack,
    attacker: FakeSlack,
    calls_before: int,
    kind: str,
) -> None:
    body, content_type = REQUESTS[kind](slack, attacker.response_url("leak"))
    answer = driver.post(body, content_type, signed=False, headers=forged("timestamp-abc", body))
    assert answer.status_code == 401
    assert attacker.calls == []  # no POST to the response_url of the sender's choosing
    assert new_calls(slack, calls_before) == []  # no DM, no views.push with the bot token


@pytest.mark.parametrize("variant", ["timestamp-abc", "non-ascii-signature"])
def test_bolt_itself_answers_401_when_its_signature_check_raises(
    slack_app: App,
    slack: FakeSlack,
    attacker: FakeSlack,
    slack_executor: TrackingExecutor,
    calls_before: int,
    variant: str,
) -> None:
    """The cause, behind the HTTP check: bolt's verifier raises (`int("abc")`, a non-ASCII
    `hmac.compare_digest`) and the exception reaches ditbot's error handler; it must not take
    the request for a real one (any other adapter than our route would hand it over so)."""
    body, _ = message_click(slack, attacker.response_url("leak"))
    headers = {"content-type": FORM, **forged(variant, body)}
    response = slack_app.dispatch(BoltRequest(body=body.decode(), headers=headers))
    slack_executor.wait_idle()
    assert response.status == 401
    assert attacker.calls == []
    assert new_calls(slack, calls_before) == []


def test_the_same_signed_request_sent_again_is_refused(
    driver: SlackDriver, slack: FakeSlack, calls_before: int
) -> None:
    fields = command_payload(
        "help", user="UJDU", response_url=slack.response_url("r"), trigger_id="1.2.3"
    )
    body, stamp = urlencode(fields).encode(), int(time.time())
    assert driver.post(body, FORM, timestamp=stamp).status_code == 200
    first = new_calls(slack, calls_before)
    assert first[-1:] == ["response_url"]  # the help, once
    replay = driver.post(body, FORM, timestamp=stamp)
    assert replay.status_code == 401
    assert new_calls(slack, calls_before) == first


# -- item 1: Socket Mode has no HTTP endpoint; HTTP always verifies ------------------------
@pytest.fixture
def socket_env(env: dict[str, str]) -> dict[str, str]:
    """Socket Mode as a user sets it up: an app token, no signing secret."""
    answer = {**env, "SLACK_APP_TOKEN": "xapp-1-A0FAKE-1-socketsecret"}
    del answer["SLACK_SIGNING_SECRET"]
    return answer


def test_socket_mode_serves_no_slack_endpoint_over_http(
    socket_env: dict[str, str],
    tmp_path: Path,
    seeded: dict[str, Any],
    slack: FakeSlack,
    attacker: FakeSlack,
) -> None:
    settings = Settings.from_env(socket_env, dotenv=tmp_path / "no.env")
    runtime = build(settings, socket_mode=True)
    try:
        before = len(slack.calls)
        fields = command_payload(
            "Acme", user="UJDU", response_url=attacker.response_url("leak"), trigger_id="1.2"
        )
        http = runtime.web.test_client()
        answer = http.post("/slack/events", data=urlencode(fields), content_type=FORM)
        assert answer.status_code == 404
        assert attacker.calls == [] and new_calls(slack, before) == []
        assert "/slack/events" not in {rule.rule for rule in runtime.web.url_map.iter_rules()}
        assert http.get("/healthz").status_code == 200  # the rest is served
    finally:
        runtime.slack.stop()
        runtime.ctx.db.dispose()


def test_a_slack_app_for_http_is_never_built_without_a_signing_secret(
    socket_env: dict[str, str], tmp_path: Path, ctx: Context
) -> None:
    settings = Settings.from_env(socket_env, dotenv=tmp_path / "no.env")
    unsigned = Context(settings=settings, db=ctx.db)
    with pytest.raises(UnverifiedApp, match="SLACK_SIGNING_SECRET"):
        create_app(unsigned)
    socket_app = create_app(unsigned, socket_mode=True)
    with pytest.raises(UnverifiedApp, match="SLACK_SIGNING_SECRET"):
        create_web_app(unsigned, socket_app)
    assert create_web_app(unsigned, socket_app, slack_events=False) is not None


@pytest.mark.parametrize("kind", ["slash-command", "message-button"])
def test_a_signed_request_whose_response_url_is_elsewhere_gets_nothing_posted(
    driver: SlackDriver,
    slack: FakeSlack,
    attacker: FakeSlack,
    calls_before: int,
    kind: str,
) -> None:
    """Signed (a leaked secret, a misconfigured proxy): still no POST outside Slack."""
    body, content_type = REQUESTS[kind](slack, attacker.response_url("leak"))
    answer = driver.post(body, content_type)
    assert answer.status_code == 400
    assert attacker.calls == []
    assert new_calls(slack, calls_before) == []


def test_in_socket_mode_a_foreign_response_url_receives_nothing(
    ctx: Context,
    seeded: dict[str, Any],
    slack: FakeSlack,
    attacker: FakeSlack,
    slack_executor: TrackingExecutor,
) -> None:
    """Socket Mode requests carry no signature: the response_url rule is bolt middleware."""
    app = create_app(ctx, socket_mode=True, listener_executor=slack_executor)
    before = len(slack.calls)

    def socket_request(response_url: str) -> int:
        fields = command_payload(
            "Acme", user="UJDU", response_url=response_url, trigger_id=slack.new_trigger_id()
        )
        response = app.dispatch(BoltRequest(body=dict(fields), mode="socket_mode"))
        slack_executor.wait_idle()
        return response.status

    socket_request(attacker.response_url("leak"))
    assert attacker.calls == [] and new_calls(slack, before) == []
    assert socket_request(slack.response_url("ok")) == 200  # Slack's own: answered there
    [answer] = slack.responses("ok")
    assert "DIT-2026-0001" in json.dumps(answer.args)


def test_respond_refuses_to_post_outside_slack(
    settings: Settings, slack: FakeSlack, attacker: FakeSlack
) -> None:
    bases = settings.response_url_bases
    with pytest.raises(ResponseUrlRefused):
        GuardedRespond(response_url=attacker.response_url("leak"), bases=bases)(text="DITs")
    assert attacker.calls == []
    GuardedRespond(response_url=slack.response_url("ok"), bases=bases)(text="hello")
    assert [call.args["text"] for call in slack.responses("ok")] == ["hello"]


def test_the_response_url_hosts_are_slacks_and_the_configured_api_host(
    tmp_path: Path,
) -> None:
    default = Settings.from_env({}, dotenv=tmp_path / "no.env")
    assert default.response_url_bases == ("https://hooks.slack.com/", "https://slack.com/")
    fake = Settings.from_env({"SLACK_API_URL": "http://127.0.0.1:8900/api/"}, dotenv=tmp_path)
    assert fake.response_url_bases == ("https://hooks.slack.com/", "http://127.0.0.1:8900/")


BASES = ("https://hooks.slack.com/", "http://127.0.0.1:8900/")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://hooks.slack.com/commands/T0FAKE/1/abc", True),
        ("https://HOOKS.slack.com:443/actions/T0FAKE/1/abc", True),
        ("http://127.0.0.1:8900/response/cmd-1", True),
        ("http://hooks.slack.com/commands/T0FAKE/1/abc", False),  # not https
        ("https://hooks.slack.com.attacker.example/x", False),
        ("https://hooks.slack.com@attacker.example/x", False),
        ("https://attacker.example/https://hooks.slack.com/x", False),
        ("https://attacker.example/?u=https://hooks.slack.com/", False),
        ("https://hooks.slack.com:8443/x", False),
        ("http://127.0.0.1:8901/response/cmd-1", False),  # another port of the same host
        ("http://localhost:8900/response/cmd-1", False),
        ("https://hooks.slack.com\\@attacker.example/", False),
        ("https://hooks.slack.com:notaport/", False),
        ("//hooks.slack.com/x", False),
        ("", False),
        (None, False),
        (["https://hooks.slack.com/"], False),
    ],
)
def test_response_url_allowed(url: object, allowed: bool) -> None:
    assert response_url_allowed(url, BASES) is allowed


# -- item 7: a malformed payload is a 400 and one line of log -----------------------------
def nested(depth: int) -> Any:
    node: Any = "x"
    for _ in range(depth):
        node = [node]
    return node


def interactive(payload: Any) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return urlencode({"payload": text}).encode()


BUTTON = {"type": "block_actions", "user": {"id": "UJDU"}, "trigger_id": "1.2.3"}
MALFORMED: dict[str, tuple[bytes, str, str]] = {
    "payload-a-list": (interactive([1, 2]), FORM, "not a JSON object"),
    "payload-a-string": (interactive('"block_actions"'), FORM, "not a JSON object"),
    "payload-not-json": (interactive("{not json"), FORM, "not valid JSON"),
    "authorizations-an-object": (
        interactive({**BUTTON, "authorizations": {"team_id": "T0FAKE"}}),
        FORM,
        "authorizations must be a list of objects",
    ),
    "authorizations-of-strings": (
        interactive({**BUTTON, "authorizations": ["T0FAKE"]}),
        FORM,
        "authorizations[0] must be an object",
    ),
    "no-type": (interactive({"user": {"id": "UJDU"}, "actions": []}), FORM, "has no type"),
    "team-a-list": (interactive({**BUTTON, "team": ["T0FAKE"]}), FORM, "team must be"),
    "state-values-a-list": (
        interactive({**BUTTON, "type": "view_submission", "view": {"state": {"values": [1]}}}),
        FORM,
        "view.state.values must be an object",
    ),
    "form-not-urlencoded": (b"this is not a form at all", FORM, "not an urlencoded form"),
    "form-bad-escape": (b"command=%2Fdit&text=%ZZ", FORM, "not an urlencoded form"),
    "not-utf8": (b"command=/dit&text=\xff\xfe", FORM, "not UTF-8"),
    "form-without-payload-or-command": (b"text=hello&user_id=UJDU", FORM, "neither"),
    "empty": (b"", FORM, "empty body"),
    "event-a-list": (b'[{"type": "event_callback"}]', "application/json", "not a JSON object"),
    "event-a-string": (
        json.dumps({"type": "event_callback", "event": "app_home_opened"}).encode(),
        "application/json",
        "event must be an object",
    ),
    "nested-100000": (interactive("[" * 100_000 + "]" * 100_000), FORM, "nested too deeply"),
    "nested-200": (
        interactive({**BUTTON, "actions": [{"value": nested(200)}]}),
        FORM,
        "nests more than 64 levels",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_payload_gets_400_and_one_log_line(
    driver: SlackDriver,
    slack: FakeSlack,
    dispatched: list[BoltRequest],
    calls_before: int,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    body, content_type, reason = MALFORMED[case]
    caplog.set_level(logging.DEBUG)
    stamp = str(int(time.time()))  # signed by hand: the harness signs UTF-8 bodies only
    headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature_of(body, stamp)}
    answer = driver.post(body, content_type, signed=False, headers=headers)
    assert answer.status_code == 400, answer.get_data(as_text=True)[:300]
    assert reason in answer.get_json()["error"]  # says what is wrong
    assert dispatched == [] and new_calls(slack, calls_before) == []
    lines = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert [r.name for r in lines] == ["ditbot.web.limits"], [r.getMessage() for r in lines]
    [line] = lines
    assert reason in line.getMessage() and len(line.getMessage()) < 200
    assert line.exc_info is None and "\n" not in line.getMessage()
    assert "Traceback" not in caplog.text


def test_a_well_formed_request_still_goes_through(
    driver: SlackDriver, slack: FakeSlack, dispatched: list[BoltRequest]
) -> None:
    """The checks before bolt refuse the malformed, not Slack's own payloads."""
    answer = driver.command("DIT-2026-0001")
    assert answer.status_code == 200 and len(dispatched) == 1
    assert driver.last_view("views.open")["callback_id"] == "exchanges_panel"


def test_a_slash_command_that_mentions_payload_is_read_as_a_command(
    driver: SlackDriver, dispatched: list[BoltRequest]
) -> None:
    """bolt reads any form containing the word "payload" as an (empty) interactive payload."""
    answer = driver.command("payload")
    assert answer.status_code == 200
    assert dispatched[0].body["command"] == "/dit" and dispatched[0].body["text"] == "payload"
    reply = driver.last_response()
    assert reply["response_type"] == "ephemeral" and "payload" in reply["text"]
