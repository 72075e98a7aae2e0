"""`ditbot import`, `ditbot demo`, `ditbot db upgrade`: upsert, idempotent, atomic, clear errors."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ditbot.cli import main as cli
from ditbot.domain.errors import ValidationFailed
from ditbot.domain.reference import import_data
from storage import repositories as repo
from storage.db import Database
from storage.models import Client, Collaborator, Contact, Dit
from tests.factories import REFERENCE
from tests.foundation.helpers import indicators, row_counts

DITBOT = Path(sys.executable).with_name("ditbot")


@pytest.fixture
def cli_env(db_url: str, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run `ditbot.cli.main.main` against the test database, from an empty working directory."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("DITBOT_", "SLACK_", "SMTP_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("DITBOT_LOCALE", "en")
    return tmp_path


def write(folder: Path, data: Any, name: str = "data.json") -> Path:
    path = folder / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def run_import(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["import", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def updated_ats(db: Database) -> dict[str, Any]:
    with db.session() as session:
        stamps: dict[str, Any] = {}
        for model, key in (
            (Collaborator, "code"),
            (Client, "code"),
            (Contact, "code"),
            (Dit, "number"),
        ):
            for row in session.scalars(select(model)):
                stamps[f"{model.__tablename__}:{getattr(row, key)}"] = row.updated_at
        return stamps


# --- import_data directly ---


def test_import_creates_then_reimport_changes_nothing(db: Database) -> None:
    with db.session() as session:
        summary = import_data(session, REFERENCE)
    assert summary.created == {"collaborators": 4, "clients": 2, "contacts": 4, "dits": 5}
    assert summary.updated == {}
    stamps = updated_ats(db)
    counts = row_counts(db)
    with db.session() as session:
        again = import_data(session, copy.deepcopy(REFERENCE))
    assert (again.created, again.updated) == ({}, {})
    assert updated_ats(db) == stamps
    assert row_counts(db) == counts


def test_import_upserts_by_code_and_number(db: Database) -> None:
    with db.session() as session:
        import_data(session, REFERENCE)
    data = copy.deepcopy(REFERENCE)
    data["collaborators"][0]["name"] = "Jeanne Dupuis-Martin"
    data["clients"][0]["contacts"][1]["mail1"] = "c.lambert@acme.example"
    data["dits"][0]["state"] = "travail_termine"
    data["dits"].append(
        {"number": "DIT-2026-0099", "client": "BOUL", "title": "Nouvelle", "state": "en_cours"}
    )
    with db.session() as session:
        summary = import_data(session, data)
    assert summary.created == {"dits": 1}
    assert summary.updated == {"collaborators": 1, "contacts": 1, "dits": 1}
    with db.session() as session:
        jeanne = repo.collaborator_by_code(session, "JDU")
        claire = repo.contact_by_code(session, "ACME-CL")
        dit = repo.dit_by_number(session, "DIT-2026-0001")
        assert jeanne is not None and jeanne.name == "Jeanne Dupuis-Martin"
        assert claire is not None and claire.mail1 == "c.lambert@acme.example"
        assert dit is not None and dit.state == "travail_termine" and dit.finished_at is not None
        assert len(repo.all_collaborators(session)) == 4


def test_import_is_atomic_in_the_callers_transaction(db: Database) -> None:
    data = copy.deepcopy(REFERENCE)
    data["dits"][4]["client"] = "NOPE"  # the last row is bad: every row before it is rolled back
    before = row_counts(db)
    with pytest.raises(ValidationFailed) as caught, db.session() as session:
        import_data(session, data)
    assert caught.value.messages() == {
        "dits[4].client": "dits[4].client: unknown client code 'NOPE'."
    }
    assert row_counts(db) == before


def test_dit_contact_must_belong_to_its_client(db: Database) -> None:
    with db.session() as session:
        import_data(session, REFERENCE)
    data = {"dits": [{**REFERENCE["dits"][0], "contact": "BOUL-LL"}]}
    with pytest.raises(ValidationFailed) as caught, db.session() as session:
        import_data(session, data)
    assert "dits[0].contact" in caught.value.errors
    assert "BOUL-LL is not a contact of client ACME" in caught.value.message()


def test_slack_user_linked_twice_is_refused(db: Database) -> None:
    data = copy.deepcopy(REFERENCE)
    data["collaborators"][3]["slack_user_id"] = "UJDU"
    with pytest.raises(ValidationFailed) as caught, db.session() as session:
        import_data(session, data)
    assert caught.value.messages() == {
        "collaborators[3].slack_user_id": "collaborators[3].slack_user_id: "
        "Slack user UJDU is already linked to collaborator JDU."
    }


# --- bad files through `ditbot import`: each names row and field and writes nothing ---


def good_rows() -> dict[str, Any]:
    """Valid new rows placed before the bad one, so that a partial write would show."""
    data = copy.deepcopy(REFERENCE)
    data["collaborators"].append({"code": "ZED", "name": "Zoé Zed", "mail1": "zoe@sav.example"})
    return data


def bad_files() -> list[tuple[str, Any, list[str]]]:
    missing = good_rows()
    del missing["dits"][2]["title"]
    unknown_client = good_rows()
    unknown_client["dits"][3]["client"] = "NOPE"
    bad_email = good_rows()
    bad_email["clients"][1]["contacts"][0]["mail1"] = "leon@boulangerie"
    long_title = good_rows()
    long_title["dits"][1]["title"] = "t" * 301
    duplicate = good_rows()
    duplicate["dits"].append({**duplicate["dits"][0], "title": "Doublon"})
    unknown_field = good_rows()
    unknown_field["collaborators"][0]["mail_1"] = "x@y.example"
    bad_state = good_rows()
    bad_state["dits"][0]["state"] = "fermee"
    return [
        ("malformed", '{"collaborators": [{"code": "JDU",}]}', ["not valid JSON", "line 1"]),
        ("missing field", missing, ["dits[2].title: this field is required"]),
        ("unknown client", unknown_client, ["dits[3].client: unknown client code 'NOPE'."]),
        (
            "invalid e-mail",
            bad_email,
            ["clients[1].contacts[0].mail1", "'leon@boulangerie' is not a valid e-mail address"],
        ),
        ("over-long title", long_title, ["dits[1].title: at most 300 characters"]),
        (
            "duplicate number",
            duplicate,
            ["dits[5].number: DIT-2026-0001 appears twice in the file (first at row 0)."],
        ),
        ("unknown field", unknown_field, ["collaborators[0].mail_1: unknown field"]),
        ("unknown state", bad_state, ["dits[0].state: unknown state 'fermee'"]),
        ("not an object", [1, 2], ["file: an object is expected here"]),
    ]


@pytest.mark.parametrize(
    ("case", "content", "expected"), bad_files(), ids=[c[0] for c in bad_files()]
)
def test_bad_import_file_names_row_and_field_and_writes_nothing(
    db: Database,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    content: Any,
    expected: list[str],
) -> None:
    before = row_counts(db)
    code, out, err = run_import(write(cli_env, content), capsys)
    assert code == 1
    assert out == ""
    for text in expected:
        assert text in err, (case, err)
    assert "Traceback" not in err
    assert "nothing was written" in err or "Nothing was imported" in err
    assert row_counts(db) == before


def test_bad_import_file_in_french(
    db: Database, cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DITBOT_LOCALE", "fr")
    data = good_rows()
    del data["dits"][2]["title"]
    data["dits"][3]["client"] = "NOPE"
    code, _out, err = run_import(write(cli_env, data), capsys)
    assert code == 1
    assert "dits[2].title\u202f: ce champ est obligatoire" in err


def test_missing_import_file(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run_import(cli_env / "absent.json", capsys)
    assert code == 1 and "absent.json does not exist" in err


def test_import_of_a_folder_says_so(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cli_env / "exports").mkdir()
    code, _out, err = run_import(cli_env / "exports", capsys)
    assert code == 1 and "cannot read" in err and "Traceback" not in err


def test_import_file_saved_with_a_bom(
    db: Database, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = cli_env / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(REFERENCE).encode("utf-8"))
    code, _out, err = run_import(path, capsys)
    assert code == 0, err
    assert row_counts(db)["dits"] == 5


def test_import_then_reimport_through_the_cli(
    db: Database, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(cli_env, REFERENCE, "reference.json")
    code, out, _err = run_import(path, capsys)
    assert code == 0
    assert out.strip() == (
        "Imported reference.json: created 4 collaborators, 2 clients, 4 contacts, 5 DITs; "
        "updated nothing."
    )
    stamps = updated_ats(db)
    code, out, _err = run_import(path, capsys)
    assert code == 0
    assert out.strip() == "Imported reference.json: created nothing; updated nothing."
    assert updated_ats(db) == stamps


def test_import_console_script(db_url: str, db: Database, tmp_path: Path) -> None:
    """The installed `ditbot import` in a clean environment (only DATABASE_URL set)."""
    path = write(tmp_path, REFERENCE, "reference.json")
    result = subprocess.run(
        [str(DITBOT), "import", str(path)],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (  # DITBOT_LOCALE unset: French, the default
        "reference.json importé — créés\u202f: 4 collaborateurs, 2 clients, 4 contacts, 5 DIT"
        "\u202f; mis à jour\u202f: aucun.\n"
    )
    assert row_counts(db)["dits"] == 5


@pytest.mark.parametrize(
    ("locale", "one", "two"),
    [
        (
            "en",
            "Imported one.json: created 4 collaborators, 2 clients, 4 contacts, 1 DIT; "
            "updated nothing.",
            "Imported two.json: created 2 DITs; updated nothing.",
        ),
        (
            "fr",
            "one.json importé — créés\u202f: 4 collaborateurs, 2 clients, 4 contacts, 1 DIT"
            "\u202f; mis à jour\u202f: aucun.",
            "two.json importé — créés\u202f: 2 DIT\u202f; mis à jour\u202f: aucun.",
        ),
    ],
)
def test_the_import_summary_counts_in_each_language(
    locale: str,
    one: str,
    two: str,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DITBOT_LOCALE", locale)
    first = {**REFERENCE, "dits": REFERENCE["dits"][:1]}
    code, out, err = run_import(write(cli_env, first, "one.json"), capsys)
    assert (code, out) == (0, one + "\n"), err
    code, out, err = run_import(write(cli_env, {"dits": REFERENCE["dits"][:3]}, "two.json"), capsys)
    assert (code, out) == (0, two + "\n"), err


def test_a_field_name_that_cannot_be_printed_is_named_escaped_not_a_traceback(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    """A lone surrogate in a key (JSON allows `\\ud800`; UTF-8 cannot write it): the refusal
    names the field with the character escaped, on a real UTF-8 stderr, and nothing is written."""
    data = copy.deepcopy(REFERENCE)
    data["dits"][0]["ti\ud800tle"] = "x"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="ascii")  # json.dumps writes the key as \ud800
    before = row_counts(db)
    result = subprocess.run(
        [str(DITBOT), "import", str(path)],
        cwd=tmp_path,
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "DATABASE_URL": db_url,
            "DITBOT_LOCALE": "en",
            "PYTHONIOENCODING": "utf-8",
        },
        capture_output=True,
        timeout=60,
    )
    err = result.stderr.decode("utf-8")
    assert result.returncode == 1, err
    assert "Traceback" not in err
    assert "was not imported, nothing was written" in err
    assert "ti\\ud800tle" in err
    assert row_counts(db) == before


# --- demo and db upgrade ---


def test_demo_loads_and_loading_it_twice_changes_nothing(
    db: Database, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo", "--slack-user", "U024BE7LH"]) == 0
    assert "12 DITs" in capsys.readouterr().out
    counts = row_counts(db)
    assert counts["clients"] == 3 and counts["contacts"] == 6 and counts["dits"] == 12
    assert counts["exchanges"] == 13
    stamps = updated_ats(db)
    first = indicators(db, "DIT-2026-0001")
    assert (first["count"], first["relance"], first["last_direction"]) == (3, True, "received")
    assert first["last_is_relance"]

    assert cli.main(["demo"]) == 0
    assert row_counts(db) == counts
    assert updated_ats(db) == stamps
    assert indicators(db, "DIT-2026-0001") == first
    with db.session() as session:
        jeanne = repo.collaborator_by_code(session, "JDU")
        assert jeanne is not None and jeanne.slack_user_id == "U024BE7LH"  # still linked
        states = {dit.number: dit.state for dit in session.scalars(select(Dit))}
    assert states["DIT-2026-0007"] == "cloturee" and states["DIT-2026-0009"] == "annulee"
    assert {"en_cours", "saisie_externe", "travail_termine", "travail_non_termine"} <= set(
        states.values()
    )
    with db.session() as session:
        waiting = repo.dits_waiting_on_us(session)
    assert waiting, "the demo has DITs waiting on us"


def test_db_upgrade_creates_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    monkeypatch.delenv("DITBOT_LOCALE", raising=False)
    assert cli.main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == "La base de données est à jour.\n"
    database = Database(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        assert database.is_current()
        with database.session() as session:
            assert len(repo.exchange_types(session)) == 6
    finally:
        database.dispose()
    assert cli.main(["db", "upgrade"]) == 0


def test_db_upgrade_on_an_unreachable_database_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    monkeypatch.setenv("DITBOT_LOCALE", "en")
    assert cli.main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert "the database does not answer" in err and "DATABASE_URL" in err
    assert "Traceback" not in err
