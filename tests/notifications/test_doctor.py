"""`ditbot doctor`: what it says about a real database, SMTP server and the Slack fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from ditbot.cli.main import main
from ditbot.playground.slack_api import FakeSlack
from storage import outbox
from storage.db import Database
from storage.outbox_payloads import ChannelNotice
from storage.vocabulary import NoticeReason
from tests.notifications.conftest import PORTAL, RELANCES


class _PortZero(Controller):
    """aiosmtpd's Controller on port 0, learning the port the kernel chose."""

    def _trigger_server(self) -> None:
        if not self.port and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class _Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


@pytest.fixture
def smtp_port() -> Iterator[int]:
    controller = _PortZero(_Sink(), hostname="127.0.0.1", port=0)
    controller.start()
    yield int(controller.port)
    controller.stop()


@pytest.fixture
def doctor_env(
    env: dict[str, str],
    fake: FakeSlack,
    smtp_port: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    values = {
        **env,
        "SLACK_API_URL": fake.base_url,
        "DITBOT_CHANNEL_PORTAL": PORTAL,
        "DITBOT_CHANNEL_RELANCES": RELANCES,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "DITBOT_PUBLIC_URL": "https://dit.example",
    }
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def doctor(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["doctor"])
    return code, capsys.readouterr().out


def test_doctor_is_happy_when_everything_is_in_place(
    doctor_env: dict[str, str], db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a French admin reads (DITBOT_LOCALE=fr); the marks and areas stay as a script greps."""
    db.upgrade()
    code, out = doctor(capsys)
    assert code == 0, out
    assert "FAIL" not in out
    assert "ok    settings  Réglages lus (environnement et .env)." in out
    assert "ok    database  Base de données joignable et à jour (" in out
    assert "Le serveur SMTP 127.0.0.1:" in out
    assert "Le jeton Slack marche\u202f: bot ditbot dans l’espace de travail Fake Team." in out
    assert f"DITBOT_CHANNEL_PORTAL={PORTAL} (#dispatch) existe et le bot en est membre." in out
    assert out.endswith("Tout ce dont ditbot a besoin est en place.\n")


def test_doctor_names_each_problem_in_plain_words(
    doctor_env: dict[str, str],
    db: Database,
    fake: FakeSlack,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DITBOT_LOCALE", "en")
    db.upgrade()
    fake.add_channel(RELANCES, name="relances", is_member=False)
    monkeypatch.setenv("DITBOT_CHANNEL_PORTAL", "CGONE")
    monkeypatch.setenv("SMTP_PORT", "1")  # nothing listens there
    monkeypatch.delenv("DITBOT_MAIL_FROM")
    with db.session() as session:
        notice = ChannelNotice(exchange_id=1, dit="DIT-1", reason=NoticeReason.PORTAL)
        item = outbox.enqueue(session, notice)
        session.flush()
        outbox.mark_failed(session, item.id, "chat.postMessage to CGONE: channel_not_found")
        outbox.acquire_lane(session, "slack:CGONE", "me")
        outbox.release_lane(
            session, "slack:CGONE", "me", error="chat.postMessage to CGONE: channel_not_found"
        )
    code, out = doctor(capsys)
    assert code == 1
    lines = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert any("DITBOT_MAIL_FROM is not set" in line for line in lines)
    assert any("SMTP server at 127.0.0.1:1" in line for line in lines)
    assert any("DITBOT_CHANNEL_PORTAL=CGONE: channel_not_found" in line for line in lines)
    assert any(
        f"DITBOT_CHANNEL_RELANCES={RELANCES} (#relances): the bot is not a member" in line
        and "/invite @ditbot" in line
        for line in lines
    )
    assert any("Lane slack:CGONE failed" in line and "channel_not_found" in line for line in lines)
    assert any("notify #" in line and "given up" in line for line in lines)
    assert f"{len(lines)} problems found: fix the FAIL lines above." in out


def test_doctor_spots_a_bad_token_and_an_unmigrated_database(
    doctor_env: dict[str, str],
    fake: FakeSlack,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    fake.fail_next("auth.test", status=200, body={"ok": False, "error": "invalid_auth"})
    code, out = doctor(capsys)
    assert code == 1
    assert "migrations manquantes)\u202f: lancez `ditbot db upgrade`" in out
    assert "Slack a refusé le jeton du bot (invalid_auth)\u202f: recopiez" in out
    assert out.endswith("2 problèmes trouvés\u202f: corrigez les lignes FAIL ci-dessus.\n")
    empty = Database(url)
    assert not empty.is_current()  # doctor checks; it does not migrate
    empty.dispose()
