"""The timer benchmark runs end to end with tiny sizes and prints its measures and the plan."""

from __future__ import annotations

import pytest

from bench import bench_timers


def test_bench_timers_runs_with_tiny_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    code = bench_timers.main(
        ["--dits", "400", "--exchanges", "6000", "--due", "5", "--runs", "2", "--quiet"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "sqlite, 400 DITs, 6,000 exchanges" in out
    assert "scan with 5 due (" in out and "scan, nothing due (2 passes)" in out
    assert "/dit stats, last 30 days" in out
    assert "ix_response_waits_next_check_at" in out  # the due query uses its index
