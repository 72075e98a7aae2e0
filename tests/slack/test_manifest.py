"""manifest.yml is valid for Slack and declares everything the app listens to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from bot.ids import COMMAND, Callback

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return data


def test_manifest_is_valid_against_slacks_schema(shared_dir: Path) -> None:
    schema = json.loads(
        (shared_dir / "schemas" / "slack-manifest.schema.1.0.0.json").read_text(encoding="utf-8")
    )
    validator = jsonschema.validators.validator_for(schema)(schema)
    problems = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(manifest())]
    assert problems == []


def test_manifest_declares_what_the_app_handles() -> None:
    data = manifest()
    features, settings = data["features"], data["settings"]
    assert [c["command"] for c in features["slash_commands"]] == [COMMAND]
    assert {(s["type"], s["callback_id"]) for s in features["shortcuts"]} == {
        ("message", Callback.LOG_EXCHANGE)
    }
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["app_home"]["messages_tab_enabled"] is True
    assert "app_home_opened" in settings["event_subscriptions"]["bot_events"]
    assert settings["interactivity"]["is_enabled"] is True
    # external_select options (DIT chooser, long staff lists) come from the same endpoint
    assert settings["interactivity"]["message_menu_options_url"].endswith("/slack/events")
    assert "socket_mode_enabled" in settings
    scopes = set(data["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "users:read", "users:read.email", "im:write"} <= scopes
    assert {"channels:read", "groups:read"} <= scopes  # `ditbot doctor` checks channels
    # A notification whose outcome is unknown is looked for in the channel's history before
    # it is posted again (bot/workers/notifications.py).
    assert {"channels:history", "groups:history"} <= scopes
    for url in (
        features["slash_commands"][0]["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ):
        assert url.endswith("/slack/events")


def test_the_slack_fake_grants_the_scopes_the_manifest_asks_and_no_other() -> None:
    """The fake refuses a method whose scope is missing (missing_scope), judging with the
    scopes the app is installed with: those of manifest.yml."""
    from ditbot.playground.slack_api import BOT_SCOPES

    assert set(BOT_SCOPES) == set(manifest()["oauth_config"]["scopes"]["bot"])
