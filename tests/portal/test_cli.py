"""`ditbot portal-link DIT_NUMBER [--contact CODE]` prints a working portal link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ditbot.cli.main import main
from ditbot.portal.tokens import read_token
from tests.credentials import PORTAL_SECRET


@pytest.fixture
def cli_env(
    env: dict[str, str], seeded: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in {**env, "DITBOT_PUBLIC_URL": "https://dit.example"}.items():
        monkeypatch.setenv(name, value)


def link_of(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["portal-link", *args])
    out, err = capsys.readouterr()
    return code, out.strip(), err


def test_the_link_names_the_dits_interlocuteur_by_default(
    cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, url, _err = link_of(capsys, "DIT-2026-0001")
    assert code == 0
    assert url.startswith("https://dit.example/portal/")
    token = read_token(PORTAL_SECRET, url.rsplit("/", 1)[1])
    assert token is not None and (token.dit, token.contact) == ("DIT-2026-0001", "ACME-PM")


def test_another_contact_of_the_client_can_be_named(
    cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, url, _err = link_of(capsys, "DIT-2026-0001", "--contact", "ACME-CL")
    token = read_token(PORTAL_SECRET, url.rsplit("/", 1)[1])
    assert code == 0 and token is not None and token.contact == "ACME-CL"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("DIT-1999-0404",), "DIT-1999-0404"),
        (("DIT-2026-0001", "--contact", "BOUL-LL"), "DIT ou interlocuteur inconnu"),
    ],
)
def test_unknown_dit_or_foreign_contact_is_an_error(
    cli_env: None, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, out, err = link_of(capsys, *args)
    assert code == 1 and out == "" and message in err


def test_without_the_portal_secret_it_says_which_setting_is_missing(
    cli_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DITBOT_PORTAL_SECRET")
    code, out, err = link_of(capsys, "DIT-2026-0001")
    assert code == 2 and out == "" and "DITBOT_PORTAL_SECRET" in err
