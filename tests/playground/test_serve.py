"""`ditbot serve` without a Slack token: playground mode (CONTRACT.md section 1)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import requests

from tests.playground.conftest import DITBOT, start_playground, stop


def test_serve_with_nothing_set_is_the_playground_with_demo_data_and_one_line(
    tmp_path: Path,
) -> None:
    served = start_playground(tmp_path)
    try:
        [line] = [line for line in served.lines if line.startswith("ditbot playground on ")]
        assert line.startswith(f"ditbot playground on {served.url}/playground (")
        assert "SLACK_BOT_TOKEN" in line and "to leave playground mode" in line
        assert served.url.startswith("http://127.0.0.1:")
        page = requests.get(f"{served.url}/playground?as=UJDU&lang=fr", timeout=10)
        assert page.status_code == 200
        assert "Jeanne Dupuis" in page.text  # the demo data, loaded into the empty database
        assert "Vous êtes" in page.text  # French, DITBOT_LOCALE's default
        assert requests.get(f"{served.url}/healthz", timeout=10).json()["status"] == "ok"
    finally:
        stop(served)
    assert (tmp_path / "ditbot.db").is_file()  # SQLite by default
    kept = tmp_path / "ditbot.playground-secrets.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    first = json.loads(kept.read_text())
    assert len(first["signing_secret"]) >= 32 and first["bot_token"].startswith("xoxb-")

    again = start_playground(tmp_path)  # secrets kept: portal links in sent mails still work
    stop(again)
    assert json.loads(kept.read_text()) == first
    assert not any("demo data set was loaded" in line for line in again.lines)


def test_the_playground_refuses_a_non_loopback_address(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(DITBOT), "serve"],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "DITBOT_HOST": "0.0.0.0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    # DITBOT_LOCALE unset: French, the default
    assert "DITBOT_HOST='0.0.0.0' n’est pas une adresse locale (loopback)" in done.stderr
    assert "définissez SLACK_BOT_TOKEN" in done.stderr
    assert not (tmp_path / "ditbot.db").exists()  # nothing was started


def test_serve_playground_forces_it_even_with_a_token(tmp_path: Path) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-a-real-looking-token"}
    served = start_playground(tmp_path, env, args=["serve", "--playground"])
    stop(served)
    assert served.url.startswith("http://127.0.0.1:")


def test_the_digest_posted_from_the_playground_shows_its_chart(tmp_path: Path) -> None:
    served = start_playground(tmp_path)
    try:
        gesture = requests.post(
            f"{served.url}/playground/api/digest",
            json={"as": "UJDU", "lang": "fr", "c": "C0RELANCES"},
            headers={"X-Playground": "1"},
            timeout=30,
        )
        assert gesture.status_code == 200, "".join(served.lines)
        assert gesture.json()["ok"], (gesture.json().get("error"), "".join(served.lines))
        assert "Bilan de la semaine" in gesture.json()["pane"], gesture.json().get("error")
        without_header = requests.post(
            f"{served.url}/playground/api/digest", json={"c": "C0RELANCES"}, timeout=10
        )
        assert without_header.status_code == 403  # another site's page cannot post it

        def chart_url() -> str:
            pane = requests.get(
                f"{served.url}/playground/fragment",
                params={"as": "UJDU", "lang": "fr", "c": "C0RELANCES"},
                timeout=10,
            ).json()["pane"]
            digest_ts = pane.split("Bilan de la semaine")[0].rsplit('data-ts="', 1)[1].split('"')[0]
            thread = requests.get(
                f"{served.url}/playground/fragment",
                params={"as": "UJDU", "lang": "fr", "c": "C0RELANCES", "thread": digest_ts},
                timeout=10,
            ).json()["pane"]
            return thread.split('<figure class="file"><img src="')[1].split('"')[0]

        chart = requests.get(served.url + chart_url(), timeout=10)
        assert chart.status_code == 200
        assert chart.headers["Content-Type"] == "image/png"
        assert chart.headers["X-Content-Type-Options"] == "nosniff"
        assert chart.content.startswith(b"\x89PNG\r\n\x1a\n")
        missing = requests.get(f"{served.url}/playground/files/F999", timeout=10)
        assert missing.status_code == 404
    finally:
        stop(served)
