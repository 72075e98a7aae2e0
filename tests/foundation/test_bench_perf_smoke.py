"""The benchmarks of issue 13 run end to end with tiny sizes (they are not timed tests: the
figures of a tiny run mean nothing, so only what they print is checked, not their verdict)."""

from __future__ import annotations

import re

import pytest

from bench import bench_import, bench_memory, bench_overload, bench_pages, bench_slack


def test_bench_import_runs_with_a_tiny_file(capsys: pytest.CaptureFixture[str]) -> None:
    bench_import.main(["--dits", "300", "--clients", "20", "--api-batch", "120"])
    out = capsys.readouterr().out
    assert "sqlite: 300 DITs, 20 clients" in out
    assert re.search(r"bare Core insert: +[\d.]+ s", out)
    assert "created 40 collaborators, 20 clients, 60 contacts, 300 DITs" in out
    assert "re-import:" in out and "created nothing; updated nothing." in out
    assert "ok   every DIT stored" in out
    assert re.search(r"webhooks meanwhile: \d+ sent, longest answer", out)
    assert "API PUT /api/v1/dits: 3 requests of 120 rows" in out
    assert re.search(
        r"API create: .* µs/row  \(\{'created': 300, 'unchanged': 0, 'updated': 0\}\)", out
    )
    assert re.search(r"API re-send: .* \(\{'created': 0, 'unchanged': 300, 'updated': 0\}\)", out)
    assert re.search(r"ratio API/import: +[\d.]+x per row", out)
    assert "ok   API: every DIT created, then unchanged" in out


def test_bench_pages_runs_with_a_short_history(capsys: pytest.CaptureFixture[str]) -> None:
    bench_pages.main(["--small", "10", "--page", "40", "--large", "80", "--reads", "5"])
    out = capsys.readouterr().out
    for name in ("portal page", "Slack panel", "App Home"):
        assert re.search(rf"{name} +p50 .* with 10, .* with 40, .* with 80 exchanges; ratio", out)


def test_bench_overload_runs_briefly(capsys: pytest.CaptureFixture[str]) -> None:
    bench_overload.main(["--dits", "400", "--seconds", "1", "--clients", "2"])
    out = capsys.readouterr().out
    assert re.search(r"bare: +[\d.]+ acks/s", out)
    assert re.search(
        r"of \d+ panels: \d+ answered 'very busy' in the ack, \d+ opened, \d+ told", out
    )
    assert "every panel opened or answered" in out


def test_bench_slack_runs_briefly(capsys: pytest.CaptureFixture[str]) -> None:
    bench_slack.main(
        ["--dits", "400", "--seconds", "1", "--requests", "20", "--clients", "2"]
        + ["--open-seconds", "1"]
    )
    out = capsys.readouterr().out
    assert re.search(r"bare: ack p50 +[\d.]+ ms", out)
    fates = r"of (\d+) panels: (\d+) answered 'very busy' in the ack, (\d+) opened, (\d+) told"
    flood = re.search(rf"ditbot: .*; {fates}", out)
    assert flood is not None
    sent, busy, opened, slow = map(int, flood.groups())
    assert sent > 0 and busy + opened + slow == sent
    paced = re.search(rf"at 20 req/s: {fates}", out)
    assert paced is not None
    sent, busy, opened, slow = map(int, paced.groups())
    assert sent == 20 and busy + opened + slow == sent
    assert "flood: every panel opened or answered, once" in out


def test_bench_memory_runs_briefly(capsys: pytest.CaptureFixture[str]) -> None:
    bench_memory.main(["--requests", "40", "--clients", "2", "--dits", "300"])
    out = capsys.readouterr().out
    assert "40 mixed requests (help, panel, form, webhook, page)" in out
    assert re.search(r"RSS: start \d+ MB, after 20 \d+ MB, after 40 \d+ MB", out)
