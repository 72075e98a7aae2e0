"""The storage benchmark runs end to end (tiny sizes) and reads back what it built."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench import bench_storage
from storage.db import Database
from storage.models import Dit, Exchange


def test_bench_storage_runs_with_tiny_sizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    code = bench_storage.main(
        [
            "--database-url",
            url,
            "--dits",
            "1000",
            "--small",
            "6000",
            "--large",
            "12000",
            "--reads",
            "20",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "sqlite, 1,000 DITs, 20 timed reads per size" in out
    assert "ratio large/small p50:" in out and "large p50 on SQLite:" in out
    lines = {
        line.split()[0]: line.split()
        for line in out.splitlines()
        if re.match(r"^(small|large) +[\d,]+ ", line)
    }
    assert lines["small"][1] == "6,000" and lines["large"][1] == "12,000"
    assert lines["small"][6] == lines["large"][6] == "2"  # queries per read: DIT, then exchanges
    assert not list(tmp_path.glob("bench-*.db"))  # scratch files removed


def test_bench_build_matches_the_domain_indicators(tmp_path: Path) -> None:
    """The synthetic DIT rows carry the indicators refresh_indicators would compute."""
    from ditbot.domain.exchanges import refresh_indicators

    database = Database(f"sqlite:///{tmp_path / 'built.db'}")
    try:
        database.upgrade()
        with bench_storage.bulk_load(database) as connection:
            bench_storage.build(connection, dits=300, exchanges=5600, seed=7)
        with database.session() as session:
            assert session.scalar(select(func.count(Exchange.id))) == 5600
            sample = random.Random(1).sample(range(1, 301), 40)
            for dit in session.scalars(select(Dit).where(Dit.id.in_(sample))):
                stored = (
                    dit.exchange_count,
                    dit.relance_count,
                    dit.last_direction,
                    dit.last_is_relance,
                    dit.last_exchange_at,
                )
                refresh_indicators(session, dit)
                assert stored == (
                    dit.exchange_count,
                    dit.relance_count,
                    dit.last_direction,
                    dit.last_is_relance,
                    dit.last_exchange_at,
                ), dit.number
            session.rollback()
        card, latest = bench_storage.read_one(database, "DIT-0000000")
        assert 20 <= card["exchanges"]["count"] <= 25 and len(latest) == 20
    finally:
        database.dispose()


def test_bench_refuses_sizes_below_the_probe_set() -> None:
    with pytest.raises(SystemExit):
        bench_storage.spread(100, 1000, random.Random(0))
