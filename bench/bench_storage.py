"""Storage benchmark: one DIT's indicators and its 20 latest exchanges, at 10k and at 1M exchanges.

Builds two synthetic databases of 100,000 DITs each, one with 10,000 exchanges (small) and one
with 1,000,000 (large), with SQLAlchemy Core bulk inserts (executemany) in one transaction
(bench only: foreign-key checks and durability are off while loading a throwaway database).
Then reads, many times, one random DIT the way the REST API and the Slack panel do:
`repositories.dit_by_number` + `dit_json` (the indicators, kept on the DIT row) and
`repositories.exchanges_of_dit(limit=20)` + `exchange_json` (an index range on
`ix_exchanges_dit_live`). It prints p50 and p99 per size and the large/small ratio.

So that both sizes read the same amount of data, 200 "probe" DITs hold 25 exchanges each in
both databases (5,000 exchanges); the rest of the exchanges are spread at random over the other
DITs (about 0.05 per DIT in the small database, 10 in the large one). The timed reads pick a
random probe DIT: what changes between the sizes is only the size of the tables around it.
A second line reads uniformly random DITs (most of them empty in the small database), for
information.

Targets (issue 2): large p50 within 1.5x of small p50, and under 5 ms p50 on SQLite.

    python -m bench.bench_storage [--database-url URL] [--small N] [--large N] [--dits N]

Without --database-url: SQLite files in a temporary directory. With a PostgreSQL URL: the
benchmark creates its own scratch databases on that server and drops them at the end (the
user needs CREATEDB). With a SQLite URL: the two files are made beside the given path (which
must not exist) and removed at the end unless --keep.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, insert, text  # noqa: E402
from sqlalchemy.engine import Connection, make_url  # noqa: E402
from sqlalchemy.exc import DBAPIError  # noqa: E402

from bench.scratch import scratch_database  # noqa: E402
from ditbot.core.settings import normalize_database_url  # noqa: E402
from ditbot.web.serialize import dit_json, exchange_json  # noqa: E402
from storage import repositories as repo  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Client, Collaborator, Contact, Dit, Exchange  # noqa: E402
from storage.vocabulary import CLOSED_STATES, OPEN_STATES  # noqa: E402

PROBES = 200
PER_PROBE = 25
LATEST = 20
CHUNK = 20_000
COLLABORATORS = 40
CLIENTS = 500
TYPES = ["appel"] * 5 + ["courriel"] * 3 + ["rdv"] * 2 + ["complement", "autre", "relance"]
DETAILS = [
    "Le client signale que le copieur affiche l'erreur E-503 depuis ce matin.",
    "Passage du technicien prévu demain entre 9 h et 11 h, merci de prévenir l'accueil.",
    "Pièce commandée chez le fournisseur, livraison annoncée sous 48 heures.",
    "Relance du client : toujours pas de nouvelles de l'intervention.",
    "Compte rendu envoyé au client avec le détail des pièces remplacées.",
]
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@dataclass
class Result:
    label: str
    exchanges: int
    build_seconds: float
    probe: list[float]
    probe_cpu: list[float]
    uniform: list[float]
    queries: int


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# --- building ---


def spread(total: int, dits: int, rng: random.Random) -> list[int]:
    """How many exchanges each DIT gets: PER_PROBE for the probes, the rest at random."""
    counts = [0] * dits
    for index in range(min(PROBES, dits)):
        counts[index] = PER_PROBE
    rest = total - sum(counts)
    if rest < 0:
        raise SystemExit(f"--small/--large must be at least {PROBES * PER_PROBE} exchanges")
    others = dits - PROBES
    if rest and others <= 0:
        raise SystemExit(f"--dits must be more than {PROBES}")
    for _ in range(rest):
        counts[PROBES + rng.randrange(others)] += 1
    return counts


def skeleton(seed: int, index: int, count: int) -> list[tuple[datetime, str, str, bool]]:
    """The exchanges of DIT `index`: (occurred_at, direction, type, deleted), deterministic."""
    draw = random.Random(seed * 1_000_003 + index).random  # random() is the cheapest draw
    minutes = 365 * 24 * 60
    kinds = len(TYPES)
    return [
        (
            NOW - timedelta(minutes=1 + int(draw() * minutes)),
            "received" if draw() < 0.5 else "sent",
            TYPES[int(draw() * kinds)],
            draw() < 0.03,
        )
        for _ in range(count)
    ]


def indicators(items: list[tuple[datetime, str, str, bool]]) -> dict[str, Any]:
    live = [item for item in items if not item[3]]
    last = max(live, default=None, key=lambda item: item[0])
    return {
        "exchange_count": len(live),
        "relance_count": sum(1 for item in live if item[2] == "relance"),
        "last_direction": last[1] if last else None,
        "last_is_relance": bool(last and last[2] == "relance"),
        "last_exchange_at": last[0] if last else None,
    }


def chunks(rows: Iterator[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def build(connection: Connection, dits: int, exchanges: int, seed: int) -> None:
    """Synthetic reference data, DITs (indicators precomputed) and exchanges, in bulk."""
    created = NOW - timedelta(days=400)
    stamps = {"created_at": created, "updated_at": created}
    connection.execute(
        insert(Collaborator),
        [
            {
                "id": i + 1,
                "code": f"C{i:03d}",
                "name": f"Collaborateur {i}",
                "mail1": f"c{i}@sav.example",
                "mail2": None,
                "slack_user_id": None,
                "manager": i < 3,
                "locale": None,
                **stamps,
            }
            for i in range(COLLABORATORS)
        ],
    )
    connection.execute(
        insert(Client),
        [
            {"id": i + 1, "code": f"CL{i:04d}", "name": f"Client {i}", **stamps}
            for i in range(CLIENTS)
        ],
    )
    connection.execute(
        insert(Contact),
        [
            {
                "id": 2 * i + k + 1,
                "code": f"CL{i:04d}-{k}",
                "client_id": i + 1,
                "name": f"Contact {i}-{k}",
                "mail1": f"contact{i}.{k}@client.example" if k == 0 else None,
                "mail2": f"other{i}.{k}@client.example",
                **stamps,
            }
            for i in range(CLIENTS)
            for k in range(2)
        ],
    )
    counts = spread(exchanges, dits, random.Random(seed))
    states = list(OPEN_STATES) * 3 + list(CLOSED_STATES)

    def dit_rows() -> Iterator[dict[str, Any]]:
        for index in range(dits):
            client = index % CLIENTS
            yield {
                "id": index + 1,
                "number": f"DIT-{index:07d}",
                "title": f"Intervention {index}",
                "state": states[index % len(states)],
                "client_id": client + 1,
                "contact_id": 2 * client + 1,
                "technician_id": index % COLLABORATORS + 1,
                "finished_at": None,
                **indicators(skeleton(seed, index, counts[index])),
                **stamps,
            }

    for batch in chunks(dit_rows()):
        connection.execute(insert(Dit), batch)

    def exchange_rows() -> Iterator[dict[str, Any]]:
        for index in range(dits):
            if not counts[index]:
                continue
            client = index % CLIENTS
            contact = 2 * client + 1
            staff = index % COLLABORATORS + 1
            for when, direction, kind, deleted in skeleton(seed, index, counts[index]):
                received = direction == "received"
                yield {
                    "dit_id": index + 1,
                    "direction": direction,
                    "type_code": kind,
                    "sent_by_collaborator_id": None if received else staff,
                    "sent_by_contact_id": contact if received else None,
                    "received_by_collaborator_id": staff if received else None,
                    "received_by_contact_id": None if received else contact,
                    "recipient_email": None if received else f"contact{client}.0@client.example",
                    "subject": None,
                    "detail": DETAILS[index % len(DETAILS)],
                    "occurred_at": when,
                    "source": "slack",
                    "author_collaborator_id": staff,
                    "author_contact_id": None,
                    "external_key": None,
                    "mail_status": None,
                    "mail_attempts": 0,
                    "mail_message_id": None,
                    "mail_error": None,
                    "deleted_at": when + timedelta(hours=1) if deleted else None,
                    "deleted_by_id": staff if deleted else None,
                    "deleted_reason": None,
                    "created_at": when,
                    "updated_at": when,
                }

    for batch in chunks(exchange_rows()):
        connection.execute(insert(Exchange), batch)


# --- databases ---


@contextmanager
def bulk_load(database: Database) -> Iterator[Connection]:
    """One transaction for the whole build, with bench-only settings for a throwaway database.

    The generated rows are consistent by construction (the smoke test checks them), so the
    per-row foreign-key checks and durability are turned off while loading.
    """
    with database.engine.connect() as connection:
        if database.engine.dialect.name == "sqlite":
            for pragma in (
                "foreign_keys=OFF",
                "synchronous=OFF",
                "cache_size=-262144",
                "temp_store=MEMORY",
            ):
                connection.exec_driver_sql(f"PRAGMA {pragma}")
            connection.commit()
        with connection.begin():
            if database.engine.dialect.name == "postgresql":
                connection.execute(text("SET LOCAL synchronous_commit = off"))
                try:
                    with connection.begin_nested():  # needs superuser: skip it otherwise
                        connection.execute(text("SET LOCAL session_replication_role = replica"))
                except DBAPIError:
                    pass
            yield connection
        if database.engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


# --- reading ---


def read_one(database: Database, number: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What GET /api/v1/dits/{number} and the panel's first page do: indicators + 20 latest."""
    with database.session() as session:
        dit = repo.dit_by_number(session, number)
        if dit is None:
            raise LookupError(number)
        card = dit_json(dit)
        latest = [exchange_json(e) for e in repo.exchanges_of_dit(session, dit.id, limit=LATEST)]
    return card, latest


def check_probe(database: Database) -> None:
    """The read returns what was built: the indicators and the newest live exchanges first."""
    card, latest = read_one(database, "DIT-0000000")
    count = card["exchanges"]["count"]
    if not 0 < count <= PER_PROBE or len(latest) != min(LATEST, count):
        raise AssertionError(f"probe DIT read back wrong: count {count}, {len(latest)} latest")
    stamps = [row["occurred_at"] for row in latest]
    if stamps != sorted(stamps, reverse=True) or any(row["deleted"] for row in latest):
        raise AssertionError("the latest exchanges are not the live ones, newest first")


def timed(reads: int, action: Callable[[], object]) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of each call (CPU shows the cost on a busy machine)."""
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(reads):
        start, start_cpu = time.perf_counter(), time.thread_time()
        action()
        cpu.append((time.thread_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return wall, cpu


def queries_per_read(database: Database, number: str) -> int:
    statements: list[str] = []

    def count(*_args: Any) -> None:
        statements.append("")

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        read_one(database, number)
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    return len(statements)


def run_size(
    base_url: str | None,
    label: str,
    exchanges: int,
    dits: int,
    reads: int,
    seed: int,
    keep: bool,
    say: Callable[[str], None],
) -> Result:
    with scratch_database(base_url, label, keep) as url:
        database = Database(url)
        try:
            database.upgrade()
            say(f"{label}: building {dits:,} DITs and {exchanges:,} exchanges...")
            started = time.perf_counter()
            with bulk_load(database) as connection:
                build(connection, dits, exchanges, seed)
            with database.engine.begin() as connection:
                connection.execute(text("ANALYZE"))
            build_seconds = time.perf_counter() - started
            say(f"{label}: built in {build_seconds:.1f} s; reading...")
            rng = random.Random(seed + 1)
            probes = min(PROBES, dits)
            for _ in range(min(200, reads)):  # warm the caches and the connection pool
                read_one(database, f"DIT-{rng.randrange(probes):07d}")
            check_probe(database)
            queries = queries_per_read(database, "DIT-0000000")
            probe, probe_cpu = timed(
                reads, lambda: read_one(database, f"DIT-{rng.randrange(probes):07d}")
            )
            uniform, _cpu = timed(
                reads, lambda: read_one(database, f"DIT-{rng.randrange(dits):07d}")
            )
            return Result(label, exchanges, build_seconds, probe, probe_cpu, uniform, queries)
        finally:
            database.dispose()


def report(results: list[Result], backend: str, dits: int, reads: int) -> tuple[str, bool]:
    small, large = results
    lines = [
        f"ditbot storage benchmark: {backend}, {dits:,} DITs, {reads:,} timed reads per size",
        f"read = one DIT's indicators + its {LATEST} latest exchanges "
        f"(probe DITs with {PER_PROBE} exchanges each)",
        "",
        f"{'size':<7}{'exchanges':>11}{'build':>9}{'p50':>10}{'p99':>10}"
        f"{'cpu p50':>10}{'queries':>9}{'uniform p50':>13}",
    ]
    for result in results:
        lines.append(
            f"{result.label:<7}{result.exchanges:>11,}{result.build_seconds:>8.1f}s"
            f"{statistics.median(result.probe):>8.2f}ms{percentile(result.probe, 0.99):>8.2f}ms"
            f"{statistics.median(result.probe_cpu):>8.2f}ms{result.queries:>9}"
            f"{statistics.median(result.uniform):>11.2f}ms"
        )
    ratio = statistics.median(large.probe) / statistics.median(small.probe)
    cpu_ratio = statistics.median(large.probe_cpu) / statistics.median(small.probe_cpu)
    p99_ratio = percentile(large.probe, 0.99) / percentile(small.probe, 0.99)
    large_p50 = statistics.median(large.probe)
    ratio_ok = ratio <= 1.5
    lines += [
        "",
        f"ratio large/small p50: {ratio:.2f} (target <= 1.5): {'OK' if ratio_ok else 'MISSED'}",
        f"ratio large/small p99: {p99_ratio:.2f}; cpu p50: {cpu_ratio:.2f}",
    ]
    ok = ratio_ok
    if backend == "sqlite":
        p50_ok = large_p50 < 5
        ok = ok and p50_ok
        lines.append(
            f"large p50 on SQLite: {large_p50:.2f} ms (target < 5 ms): "
            f"{'OK' if p50_ok else 'MISSED'}"
        )
    return "\n".join(lines), ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_storage",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--database-url", help="PostgreSQL server or SQLite path (default: temp)")
    parser.add_argument("--dits", type=int, default=100_000, help="DITs per database")
    parser.add_argument("--small", type=int, default=10_000, help="exchanges, small size")
    parser.add_argument("--large", type=int, default=1_000_000, help="exchanges, large size")
    parser.add_argument("--reads", type=int, default=2_000, help="timed reads per size")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--quiet", action="store_true", help="print only the report")
    args = parser.parse_args(argv)
    url = normalize_database_url(args.database_url) if args.database_url else None
    backend = (
        "sqlite" if url is None or url.startswith("sqlite") else make_url(url).get_backend_name()
    )

    def say(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    results = [
        run_size(url, label, size, args.dits, args.reads, args.seed, args.keep, say)
        for label, size in (("small", args.small), ("large", args.large))
    ]
    text_report, ok = report(results, backend, args.dits, args.reads)
    print(text_report)
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
