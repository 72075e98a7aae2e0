"""bench/bench_inbound.py runs end to end with a few messages (so it cannot rot)."""

from __future__ import annotations

import pytest

from bench import bench_inbound


def test_bench_inbound_runs_with_forty_messages(capsys: pytest.CaptureFixture[str]) -> None:
    status = bench_inbound.main(["--messages", "40"])
    out = capsys.readouterr().out
    # 40 messages may or may not reach the rate: the exit code must say what the verdict says.
    assert status == (0 if "verdict: ok" in out else 1)
    assert "bench_inbound: 40 messages, database sqlite" in out
    assert "duplicate 4" in out and "recorded 26" in out and "unmatched 4" in out
    for line in ("pipeline:", "arrival -> Slack post: p50", "memory (RSS, MiB)"):
        assert line in out
    assert "failed outbox items: 0" in out
