"""Gestures of the web client turned into what Slack sends, and Slack's answers to acks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk.signature import SignatureVerifier

from ditbot.playground import payloads
from ditbot.playground.gestures import Answer, GestureError, Gestures, state_of
from ditbot.playground.workspace import Person, Workspace
from tests.credentials import SIGNING_SECRET

FORM_VIEW: dict[str, Any] = {
    "type": "modal",
    "callback_id": "exchange_received",
    "title": {"type": "plain_text", "text": "Reçu"},
    "submit": {"type": "plain_text", "text": "Enregistrer"},
    "blocks": [
        {
            "type": "input",
            "block_id": "type",
            "label": {"type": "plain_text", "text": "Type"},
            "element": {
                "type": "static_select",
                "action_id": "type",
                "options": [
                    {"text": {"type": "plain_text", "text": "Appel"}, "value": "appel"},
                    {"text": {"type": "plain_text", "text": "Relance"}, "value": "relance"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": "detail.2",
            "label": {"type": "plain_text", "text": "Détail"},
            "element": {"type": "plain_text_input", "action_id": "detail", "initial_value": "a"},
        },
        {
            "type": "input",
            "block_id": "occurred_at",
            "label": {"type": "plain_text", "text": "Quand"},
            "element": {"type": "datetimepicker", "action_id": "occurred_at"},
        },
    ],
}


class Ditbot:
    """Stands for POST /slack/events: checks the signature, records, answers `acks`."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.acks: list[bytes] = []

    def __call__(self, signed: payloads.SignedRequest) -> Answer:
        verifier = SignatureVerifier(SIGNING_SECRET)
        assert verifier.is_valid_request(signed.body, signed.headers)
        if signed.content_type == payloads.JSON:
            self.seen.append(json.loads(signed.body))
        else:
            fields = {k: v[0] for k, v in parse_qs(signed.body.decode()).items()}
            self.seen.append(json.loads(fields["payload"]) if "payload" in fields else fields)
        return Answer(200, self.acks.pop(0) if self.acks else b"")


@pytest.fixture
def world() -> Any:
    workspace = Workspace()
    workspace.fake.start()
    workspace.add_person(Person("UJDU", "Jeanne Dupuis", "j.dupuis@sav.example", "fr-FR"))
    ditbot = Ditbot()
    yield workspace, ditbot, Gestures(workspace, ditbot, SIGNING_SECRET)
    workspace.fake.stop()


def open_modal(workspace: Workspace, view: dict[str, Any]) -> str:
    from slack_sdk import WebClient

    client = WebClient(token="xoxb-playground-test", base_url=workspace.fake.base_url)
    answer = client.views_open(trigger_id=workspace.trigger_for("UJDU"), view=view)
    return str(answer["view"]["id"])


def test_a_slash_command_is_a_signed_form_with_a_fresh_trigger_and_response_url(world: Any) -> None:
    workspace, ditbot, gestures = world
    gestures.type_message("UJDU", "C0GENERAL", "/dit DIT-2026-0001")
    [command] = ditbot.seen
    assert command["command"] == "/dit" and command["text"] == "DIT-2026-0001"
    assert command["user_id"] == "UJDU" and command["channel_id"] == "C0GENERAL"
    assert command["response_url"].startswith(workspace.fake.url + "/response/")
    assert command["trigger_id"] in workspace.fake._triggers


def test_a_submission_carries_the_state_slack_builds_and_errors_show_under_fields(
    world: Any,
) -> None:
    workspace, ditbot, gestures = world
    view_id = open_modal(workspace, FORM_VIEW)
    assert [v["id"] for v in workspace.stack("UJDU")] == [view_id]
    ditbot.acks.append(
        json.dumps({"response_action": "errors", "errors": {"detail.2": "Court"}}).encode()
    )
    typed = {
        "type": {"type": {"value": "relance"}},
        "occurred_at": {"occurred_at": "2026-12-01T09:30"},
    }
    gestures.submit("UJDU", view_id, typed)
    values = ditbot.seen[-1]["view"]["state"]["values"]
    assert values["type"]["type"]["selected_option"]["value"] == "relance"
    assert values["detail.2"]["detail"] == {"type": "plain_text_input", "value": "a"}  # initial
    paris = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)  # 09:30 in Paris, in winter
    assert values["occurred_at"]["occurred_at"]["selected_date_time"] == int(paris.timestamp())
    assert workspace.view_errors[view_id] == {"detail.2": "Court"}
    assert len(workspace.stack("UJDU")) == 1  # the modal stays open

    gestures.submit("UJDU", view_id, typed)  # an empty 200 closes the submitted view
    assert workspace.stack("UJDU") == []


def test_an_ack_that_pushes_a_fourth_view_is_refused_as_slack_does(world: Any) -> None:
    workspace, ditbot, gestures = world
    view_id = open_modal(workspace, FORM_VIEW)
    for _ in range(2):
        ditbot.acks.append(json.dumps({"response_action": "push", "view": FORM_VIEW}).encode())
        gestures.submit("UJDU", workspace.stacks["UJDU"][-1], {})
    assert len(workspace.stack("UJDU")) == 3
    ditbot.acks.append(json.dumps({"response_action": "push", "view": FORM_VIEW}).encode())
    with pytest.raises(GestureError, match="push_limit_reached"):
        gestures.submit("UJDU", workspace.stacks["UJDU"][-1], {})
    assert workspace.stacks["UJDU"][0] == view_id and len(workspace.stack("UJDU")) == 3


def test_an_ack_whose_view_slack_refuses_is_shown_not_drawn(world: Any) -> None:
    workspace, ditbot, gestures = world
    view_id = open_modal(workspace, FORM_VIEW)
    bad = {**FORM_VIEW, "title": {"type": "plain_text", "text": "x" * 25}}
    ditbot.acks.append(json.dumps({"response_action": "update", "view": bad}).encode())
    with pytest.raises(GestureError, match="invalid_arguments"):
        gestures.submit("UJDU", view_id, {})
    assert "must be less than 25 characters" in workspace.notices["UJDU"]
    assert workspace.fake.view(view_id)["title"]["text"] == "Reçu"


def test_closing_a_notify_on_close_modal_sends_view_closed_without_what_was_typed(
    world: Any,
) -> None:
    workspace, ditbot, gestures = world
    view_id = open_modal(workspace, {**FORM_VIEW, "notify_on_close": True})
    gestures.click_in_view(
        "UJDU",
        view_id,
        {"type": "plain_text_input", "action_id": "detail", "block_id": "detail.2", "value": "abc"},
        {"detail.2": {"detail": "abc"}},
    )
    assert ditbot.seen[-1]["view"]["state"]["values"]["detail.2"]["detail"]["value"] == "abc"
    gestures.close("UJDU", view_id)
    closed = ditbot.seen[-1]
    assert closed["type"] == "view_closed" and closed["view"]["state"] == {"values": {}}
    assert workspace.stack("UJDU") == []


def test_a_response_url_answer_is_an_ephemeral_that_replace_original_replaces(world: Any) -> None:
    import requests

    workspace, _, _ = world
    url = workspace.response_url("UJDU", "C0GENERAL")
    requests.post(url, json={"text": "Première", "response_type": "ephemeral"}, timeout=5)
    [first] = workspace.ephemerals_for("UJDU", "C0GENERAL")
    again = workspace.response_url("UJDU", "C0GENERAL", replaces=first.id)
    requests.post(again, json={"text": "Seconde", "replace_original": True}, timeout=5)
    assert [e.text for e in workspace.ephemerals_for("UJDU", "C0GENERAL")] == ["Seconde"]
    assert workspace.ephemerals_for("UMLE", "C0GENERAL") == []


def test_state_of_keeps_what_slack_kept_for_blocks_the_page_did_not_send() -> None:
    view = {
        **FORM_VIEW,
        "state": {
            "values": {"detail.2": {"detail": {"type": "plain_text_input", "value": "kept"}}}
        },
    }
    values = state_of(view, {})["values"]
    assert values["detail.2"]["detail"]["value"] == "kept"
    assert values["type"]["type"]["selected_option"] is None


def test_a_payload_slack_refuses_is_shown_on_the_page_of_everyone(world: Any) -> None:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    workspace, _, _ = world
    client = WebClient(token="xoxb-playground-test", base_url=workspace.fake.base_url)
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C0DISPATCH", text="t", blocks=blocks)
    [line] = workspace.refused()
    assert line.startswith("chat.postMessage: invalid_blocks; [ERROR] must be less than 151")
