"""`ditbot serve` with a database that does not answer: one clear line and exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.credentials import PORTAL_SECRET, SIGNING_SECRET


@pytest.mark.parametrize(
    ("url", "check"),
    [
        (
            "postgresql+psycopg://postgres@127.0.0.1:1/ditbot",
            "Check DATABASE_URL and that the database server is running.",
        ),
        (
            "sqlite:///{tmp}/missing-folder/ditbot.db",
            "Check DATABASE_URL: the folder of the SQLite file must exist and be writable.",
        ),
    ],
    ids=["postgres-down", "sqlite-missing-folder"],
)
def test_serve_says_the_database_does_not_answer_in_one_line(
    tmp_path: Path, url: str, check: str
) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DATABASE_URL": url.format(tmp=tmp_path),
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DITBOT_PORTAL_SECRET": PORTAL_SECRET,
        "DITBOT_LOCALE": "en",
    }
    done = subprocess.run(
        [sys.executable, "-m", "ditbot.cli.main", "serve"],
        cwd=tmp_path,  # no .env there
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: the database does not answer (")
    assert line.endswith(check)
    assert done.stdout == ""
    assert not (tmp_path / "missing-folder").exists()
