"""Playground settings: loopback only, secrets kept beside the database, Slack and SMTP local."""

from __future__ import annotations

from pathlib import Path

import pytest

from ditbot.core.settings import Settings
from ditbot.playground import local


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.1.1", "::1", "[::1]", "localhost"])
def test_loopback_addresses_are_allowed(host: str) -> None:
    assert local.is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "ditbot.example.com", ""])
def test_other_addresses_are_not(host: str) -> None:
    assert not local.is_loopback(host)


def test_the_secrets_file_sits_beside_the_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "data" / "ditbot.db"
    assert (
        local.secrets_path(f"sqlite:///{db}")
        == tmp_path / "data" / "ditbot.playground-secrets.json"
    )
    assert local.secrets_path("postgresql+psycopg://u@h/db") == local.DEFAULT_SECRETS
    assert local.secrets_path("sqlite://") == local.DEFAULT_SECRETS


def test_settings_point_slack_and_smtp_at_the_playground(tmp_path: Path) -> None:
    given = Settings.from_env(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SMTP_HOST": "mail.example.com"},
        dotenv=tmp_path / "none",
    )
    settings = local.playground_settings(
        given, slack_api_url="http://127.0.0.1:9/api/", smtp_port=2525, port=3001
    )
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert (settings.smtp_host, settings.smtp_port) == ("127.0.0.1", 2525)
    assert settings.public_url == "http://127.0.0.1:3001"
    assert settings.channel_portal == local.CHANNEL_DISPATCH
    assert settings.channel_relances == local.CHANNEL_RELANCES
    kept = local.load_secrets(tmp_path / "x.playground-secrets.json")
    assert settings.slack_signing_secret == kept.signing_secret
    assert settings.portal_secret == kept.portal_secret


def test_a_damaged_secrets_file_is_made_again(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("{not json", encoding="utf-8")
    made = local.load_secrets(path)
    assert local.load_secrets(path) == made


def test_a_non_loopback_host_is_refused(tmp_path: Path) -> None:
    given = Settings.from_env({"DITBOT_HOST": "0.0.0.0"}, dotenv=tmp_path / "none")
    with pytest.raises(local.NotLoopback, match="set SLACK_BOT_TOKEN"):
        local.playground_settings(
            given, slack_api_url="http://127.0.0.1:9/api/", smtp_port=1, port=2
        )
