"""bench/bench_mail.py runs end to end with a handful of mails (so it cannot rot)."""

from __future__ import annotations

import pytest

from bench import bench_mail


def test_bench_mail_runs_with_three_mails(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_mail.main(["--mails", "3"]) == 0
    out = capsys.readouterr().out
    assert "bench_mail: 3 mails, database sqlite" in out
    for line in (
        "Send -> SMTP accepted (ditbot)",
        "ack of the Send (ditbot)",
        "ack, bare bolt app (baseline)",
        "ratio ack ditbot / bare bolt",
    ):
        assert line in out
