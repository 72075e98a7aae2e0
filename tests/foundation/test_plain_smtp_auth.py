"""SMTP AUTH without TLS: smtplib does it without a word, so `ditbot doctor` and `serve` warn."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ditbot.cli.main import main
from ditbot.core.settings import Settings
from ditbot.mail.smtp import cleartext_login
from ditbot.playground.slack_api import FakeSlack
from storage.db import Database
from tests.mail.smtp_server import SmtpServer

DITBOT = Path(sys.executable).with_name("ditbot")
PASSWORD = "mot-de-passe-smtp"


def smtp_env(env: dict[str, str], fake: FakeSlack, port: int) -> dict[str, str]:
    return {
        **env,
        "SLACK_API_URL": fake.base_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_USERNAME": "sav",
        "SMTP_PASSWORD": PASSWORD,
        "SMTP_SECURITY": "none",
    }


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # what we test
def test_doctor_warns_that_the_smtp_password_crosses_the_network_in_clear(
    env: dict[str, str],
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db.upgrade()
    with FakeSlack() as fake, SmtpServer(users={"sav": PASSWORD}) as smtp:
        monkeypatch.chdir(tmp_path)
        for name, value in smtp_env(env, fake, smtp.port).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("DITBOT_LOCALE", "en")
        main(["doctor"])
    out = capsys.readouterr().out.splitlines()
    assert smtp.logins == ["sav"]  # smtplib did log in, over a plain connection
    (warning,) = [line for line in out if line.startswith("warn  smtp")]
    assert "SMTP_SECURITY=none" in warning and "without TLS" in warning
    assert "SMTP_SECURITY=starttls" in warning  # and what to do about it
    assert PASSWORD not in "\n".join(out)


@pytest.mark.parametrize(
    ("username", "security"), [("sav", "starttls"), ("sav", "tls"), (None, "none")]
)
def test_no_warning_with_tls_or_without_a_login(
    tmp_path: Path, username: str | None, security: str
) -> None:
    environ = {"SMTP_SECURITY": security, **({"SMTP_USERNAME": username} if username else {})}
    assert cleartext_login(Settings.from_env(environ, dotenv=tmp_path / "none")) is None


def test_serve_says_so_in_its_start_up_log(env: dict[str, str], tmp_path: Path) -> None:
    with FakeSlack() as fake:
        variables = {
            **smtp_env(env, fake, 2525),
            "DITBOT_PORT": "0",
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
        }
        process = subprocess.Popen(
            [str(DITBOT), "serve"],
            cwd=tmp_path,
            env=variables,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        seen: queue.Queue[str] = queue.Queue()
        assert process.stderr is not None
        reader = threading.Thread(
            target=lambda: [seen.put(line) for line in process.stderr or ()], daemon=True
        )
        reader.start()
        log: list[str] = []
        try:
            deadline = time.monotonic() + 60
            while not any("ditbot listening on" in line for line in log):
                assert process.poll() is None, "".join(log)
                log.append(seen.get(timeout=max(0.1, deadline - time.monotonic())))
        finally:
            process.terminate()
            process.wait(timeout=10)
            reader.join(timeout=5)
            process.stderr.close()
    (warning,) = [line for line in log if "without TLS" in line]
    assert " WARNING " in warning and "SMTP_SECURITY=none" in warning
    assert log.index(warning) < len(log) - 1  # before the server listens
    assert PASSWORD not in "".join(log)
