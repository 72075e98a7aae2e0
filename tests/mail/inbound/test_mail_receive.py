"""`ditbot mail receive` as an MTA runs it: raw message on stdin, sysexits on the way out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ditbot.core.context import Context
from tests.mail.inbound.conftest import Raw, SentMail, fixture_bytes
from tests.mail.inbound.test_pipeline import exchanges_of


def mail_receive(
    env: dict[str, str], message: bytes, cwd: Path
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "ditbot.cli.main", "mail", "receive"],
        input=message,
        cwd=cwd,  # no .env there
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), **env},
        capture_output=True,
        timeout=120,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


def test_a_reply_is_taken_and_the_same_one_again_changes_nothing(
    mail_ctx: Context, env: dict[str, str], raw: Raw, sent: SentMail, tmp_path: Path
) -> None:
    done = mail_receive(env, raw("thunderbird_reply.eml"), tmp_path)
    assert (done.returncode, done.stdout.strip()) == (0, "ditbot: recorded on DIT-2026-0001")
    again = mail_receive(env, raw("thunderbird_reply.eml"), tmp_path)
    assert (again.returncode, again.stdout.strip()) == (0, "ditbot: duplicate")
    assert [e.source for e in exchanges_of(mail_ctx, "DIT-2026-0001")] == ["slack", "mail"]


def test_an_unmatched_mail_an_auto_reply_and_a_bounce_are_taken(
    env: dict[str, str], raw: Raw, tmp_path: Path
) -> None:
    for name, said in (
        ("unmatched.eml", "ditbot: unmatched"),
        ("out_of_office.eml", "ditbot: auto_reply on DIT-2026-0001"),
        ("bounce.eml", "ditbot: bounce on DIT-2026-0001"),
    ):
        done = mail_receive(env, raw(name), tmp_path)
        assert (done.returncode, done.stdout.strip()) == (0, said), done.stderr


def test_what_is_not_a_mail_is_refused_with_its_reason(
    env: dict[str, str], sent: SentMail, tmp_path: Path
) -> None:
    done = mail_receive(env, fixture_bytes("malformed.eml"), tmp_path)
    assert done.returncode == 65
    assert done.stderr.strip() == (
        "ditbot: message refused: no header fields: this is not an RFC 5322 message"
    )
    empty = mail_receive(env, b"", tmp_path)
    assert (empty.returncode, empty.stderr.strip()) == (
        65,
        "ditbot: message refused: empty message",
    )


def test_database_down_is_a_temporary_failure(
    raw: Raw, env: dict[str, str], tmp_path: Path
) -> None:
    down = {**env, "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/ditbot"}
    done = mail_receive(down, raw("thunderbird_reply.eml"), tmp_path)
    assert done.returncode == 75, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("ditbot: the database does not answer (")
    assert done.stderr.strip().endswith("try again later")


def test_a_mail_store_that_cannot_be_written_is_a_temporary_failure(
    mail_ctx: Context, raw: Raw, env: dict[str, str], tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the store should be")
    done = mail_receive(
        {**env, "DITBOT_MAIL_STORE": str(blocked)}, raw("attachments.eml"), tmp_path
    )
    assert done.returncode == 75, done.stderr
    assert "cannot write under DITBOT_MAIL_STORE" in done.stderr
    assert len(exchanges_of(mail_ctx, "DIT-2026-0001")) == 1  # nothing half-recorded
    # Once the store is fixed, the MTA's next attempt records it.
    assert mail_receive(env, raw("attachments.eml"), tmp_path).returncode == 0
    assert len(exchanges_of(mail_ctx, "DIT-2026-0001")) == 2


def test_bad_settings_are_a_temporary_failure_for_the_mta(
    raw: Raw, env: dict[str, str], tmp_path: Path
) -> None:
    done = mail_receive({**env, "IMAP_PORT": "imap"}, raw("thunderbird_reply.eml"), tmp_path)
    assert done.returncode == 75
    # What the admin reads (DITBOT_LOCALE=fr); the exit code is what the MTA reads.
    assert "IMAP_PORT='imap' n’est pas un nombre entier." in done.stderr
