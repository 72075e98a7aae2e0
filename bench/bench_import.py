"""Import benchmark: `ditbot import` of a big back-office file against a bare Core insert.

    python bench/bench_import.py [--dits 200000] [--clients 1000] [--api-batch 5000]
                                 [--database-url URL]

Writes an import file of `--dits` DITs over `--clients` clients (3 contacts each) and 40
collaborators (about 60 MB for 200,000 DITs), then, each on a scratch database of its own:

1. baseline: a bare SQLAlchemy Core bulk insert (executemany) of the same rows, in this process;
2. `ditbot import FILE` in a child process, as a user runs it: wall time and peak memory (RSS);
   while it runs, a signed portal webhook is sent every 100 ms to a DIT that was there before,
   through ditbot's web app in this process: the longest answer is how long the import kept
   the database's write lock from the rest of ditbot;
3. the same file again (a no-change re-import);
4. the REST API's bulk endpoint: the same DITs sent to a `ditbot` HTTP server on localhost
   (waitress, as `ditbot serve` serves it, in its own process) as `PUT /api/v1/dits` requests
   of `--api-batch` rows (5,000: about 1.3 MB, under the API's 8 MiB body limit), into a fresh
   database that already holds the collaborators and clients (imported first), then the same
   requests again (no change). The request bodies are encoded before the clock starts.

Targets (issue 13): import within 3x the baseline, re-import within 5 s, peak memory under 200 MB,
longest webhook wait under 3 s; the API's cost per row within 1.5x the import's, measured in
the same run (µs per DIT of the API create against `ditbot import`'s, and of the re-send
against the re-import's). Prints the figures and exits 1 when a target is missed.
Without --database-url: SQLite files in a temporary directory; with a PostgreSQL server URL,
scratch databases on that server (the user needs CREATEDB), dropped at the end (also on
Ctrl-C); the database named in the URL is never written to. Not part of pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from bench.scratch import DATABASE_HELP, backend, scratch_database  # noqa: E402
from bench.serving import serve  # noqa: E402
from ditbot.core.context import Context  # noqa: E402
from ditbot.core.settings import Settings  # noqa: E402
from ditbot.domain.reference import import_data  # noqa: E402
from ditbot.playground.slack_api import FakeSlack  # noqa: E402
from ditbot.portal.signing import signed_headers  # noqa: E402
from ditbot.web.app import create_web_app  # noqa: E402
from ditbot.web.limits import API_MAX_BODY  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Client, Collaborator, Contact, Dit  # noqa: E402

SECRET = "bench-import-portal-secret-4f9c2a7e1b"
API_TOKEN = "bench-import-api-token-8d3b6f1e0a9c4e27"
API_TARGET = 1.5  # the API's cost per row against the import's (issue 13)
STATES = ("saisie_externe", "en_cours", "en_cours", "travail_termine", "cloturee")
START = datetime(2026, 1, 1, tzinfo=UTC)
PROBE = {
    "collaborators": [{"code": "PROBE-T", "name": "Sonde", "mail1": "sonde@sav.example"}],
    "clients": [
        {
            "code": "PROBE",
            "name": "Sonde SA",
            "contacts": [{"code": "PROBE-C", "name": "Sonde", "mail1": "c@sonde.example"}],
        }
    ],
    "dits": [{"number": "PROBE-1", "client": "PROBE", "contact": "PROBE-C", "title": "Sonde"}],
}


@dataclass(frozen=True)
class ApiRun:
    """The bulk endpoint's two passes: seconds each and what the answers counted."""

    create: float
    again: float
    created: Counter[str]
    unchanged: Counter[str]


# -- the file -----------------------------------------------------------------------------
def collaborators() -> list[dict[str, Any]]:
    return [
        {"code": f"T{i:03d}", "name": f"Technicien {i}", "mail1": f"t{i}@sav.example"}
        for i in range(40)
    ]


def clients(count: int) -> list[dict[str, Any]]:
    return [
        {
            "code": f"CL{i:05d}",
            "name": f"Client {i} SA",
            "contacts": [
                {
                    "code": f"CL{i:05d}-{k}",
                    "name": f"Contact {k} du client {i}",
                    "mail1": f"contact{k}@client{i}.example",
                    "mail2": None,
                }
                for k in range(3)
            ],
        }
        for i in range(count)
    ]


def dit(n: int, clients_count: int) -> dict[str, Any]:
    client = n % clients_count
    return {
        "number": f"DIT-{n:07d}",
        "client": f"CL{client:05d}",
        "contact": f"CL{client:05d}-{n % 3}",
        "title": f"Intervention {n}: copieur en panne au deuxième étage, bac 2",
        "state": STATES[n % len(STATES)],
        "technician": f"T{n % 40:03d}",
        "created_at": (START + timedelta(minutes=n)).isoformat().replace("+00:00", "Z"),
    }


def write_file(path: Path, dits: int, clients_count: int) -> None:
    """The import file, written a DIT at a time (the bench itself stays small)."""
    with path.open("w", encoding="utf-8") as out:
        out.write('{"collaborators": ')
        json.dump(collaborators(), out, ensure_ascii=False)
        out.write(',\n"clients": ')
        json.dump(clients(clients_count), out, ensure_ascii=False)
        out.write(',\n"dits": [\n')
        for n in range(dits):
            if n:
                out.write(",\n")
            json.dump(dit(n, clients_count), out, ensure_ascii=False)
        out.write("\n]}\n")


# -- 1. the baseline ----------------------------------------------------------------------
def bare_insert(url: str, dits: int, clients_count: int) -> float:
    """A bare Core executemany of the same rows (ids known up front); seconds."""
    db = Database(url)
    db.upgrade()
    people = collaborators()
    clients_rows = clients(clients_count)
    started = time.perf_counter()
    with db.engine.begin() as connection:
        connection.execute(insert(Collaborator), people)
        connection.execute(
            insert(Client),
            [
                {"id": i + 1, "code": c["code"], "name": c["name"]}
                for i, c in enumerate(clients_rows)
            ],
        )
        connection.execute(
            insert(Contact),
            [
                {"id": i * 3 + k + 1, "client_id": i + 1, **contact}
                for i, c in enumerate(clients_rows)
                for k, contact in enumerate(c["contacts"])
            ],
        )
        batch: list[dict[str, Any]] = []
        for n in range(dits):
            row = dit(n, clients_count)
            client = n % clients_count
            batch.append(
                {
                    "number": row["number"],
                    "title": row["title"],
                    "state": row["state"],
                    "client_id": client + 1,
                    "contact_id": client * 3 + n % 3 + 1,
                    "technician_id": n % 40 + 1,
                    "created_at": START + timedelta(minutes=n),
                }
            )
            if len(batch) == 5000:
                connection.execute(insert(Dit), batch)
                batch = []
        if batch:
            connection.execute(insert(Dit), batch)
    elapsed = time.perf_counter() - started
    db.dispose()
    return elapsed


# -- 2. and 3. ditbot import ----------------------------------------------------------------
def run_import(url: str, path: Path, workdir: Path) -> tuple[float, float, str]:
    """`ditbot import FILE` in a child process: (seconds, peak RSS in MB, its output)."""
    # The bench reports in English; so does the import it quotes (French by default).
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "DITBOT_LOCALE": "en"}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "ditbot.cli.main", "import", str(path)],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert child.stdout is not None
    output = child.stdout.read().decode(errors="replace")
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"ditbot import failed ({child.returncode}):\n{output}")
    return elapsed, usage.ru_maxrss / 1024, output.strip()


class Webhooks:
    """A portal webhook every `every` seconds through ditbot's web app: the longest answer."""

    def __init__(self, url: str, workdir: Path, every: float = 0.1) -> None:
        settings = Settings.from_env(
            {"DATABASE_URL": url, "DITBOT_PORTAL_SECRET": SECRET},
            dotenv=workdir / "none.env",
        )
        self.ctx = Context.from_settings(settings)
        self.client = create_web_app(self.ctx).test_client()
        self.every = every
        self.waits: list[float] = []
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="webhooks")

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            body = json.dumps(
                {
                    "message_id": f"bench-{n}",
                    "dit": "PROBE-1",
                    "contact": "PROBE-C",
                    "detail": f"Message {n} pendant l'import",
                }
            ).encode()
            started = time.perf_counter()
            answer = self.client.post(
                "/api/v1/portal/messages", data=body, headers=signed_headers(SECRET, body)
            )
            self.waits.append(time.perf_counter() - started)
            self.statuses.append(answer.status_code)
            self._stop.wait(self.every)

    def __enter__(self) -> Webhooks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)
        self.ctx.db.dispose()


# -- 4. the REST API's bulk endpoint --------------------------------------------------------
def api_bodies(dits: int, clients_count: int, batch: int) -> list[bytes]:
    """The DITs of the file as `PUT /api/v1/dits` bodies of `batch` rows, each under the limit."""
    bodies = []
    for start in range(0, dits, batch):
        rows = [dit(n, clients_count) for n in range(start, min(dits, start + batch))]
        body = json.dumps({"dits": rows}, ensure_ascii=False).encode()
        if len(body) > API_MAX_BODY:
            raise SystemExit(f"--api-batch {batch}: {len(body):,} bytes, over the API's limit")
        bodies.append(body)
    return bodies


def send_all(http: requests.Session, url: str, bodies: list[bytes]) -> tuple[float, Counter[str]]:
    """Every body PUT one after the other: (seconds, created/updated/unchanged summed)."""
    headers = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
    counts: Counter[str] = Counter()
    started = time.perf_counter()
    for body in bodies:
        answer = http.put(url, data=body, headers=headers, timeout=600)
        if answer.status_code != 200:
            raise SystemExit(f"PUT /api/v1/dits: {answer.status_code} {answer.text[:500]}")
        counts.update(answer.json())
    return time.perf_counter() - started, counts


def run_api(url: str, workdir: Path, bodies: list[bytes], clients_count: int) -> ApiRun:
    """The bodies sent twice to ditbot served on `url`, which holds the reference data."""
    db = Database(url)
    db.upgrade()
    with db.session() as session:
        import_data(session, {"collaborators": collaborators(), "clients": clients(clients_count)})
    db.dispose()
    with FakeSlack() as fake:
        env = {
            "DATABASE_URL": url,
            "DITBOT_API_TOKEN": API_TOKEN,
            "DITBOT_PORTAL_SECRET": SECRET,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": "bench-import-signing-secret-6a2f",
            "SLACK_API_URL": fake.base_url,
        }
        served = serve("ditbot", env, workdir / "none.env")
        http = requests.Session()
        try:
            endpoint = f"http://127.0.0.1:{served.port}/api/v1/dits"
            create, created = send_all(http, endpoint, bodies)
            again, unchanged = send_all(http, endpoint, bodies)
        finally:
            http.close()
            served.stop()
    return ApiRun(create, again, created, unchanged)


def count_dits(url: str) -> int:
    db = Database(url)
    with db.session() as session:
        found = session.scalar(select(func.count(Dit.id))) or 0
    db.dispose()
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dits", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument(
        "--api-batch", type=int, default=5000, help="DITs per PUT /api/v1/dits request"
    )
    parser.add_argument("--database-url", default=None, help=DATABASE_HELP)
    options = parser.parse_args(argv)

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-import-")))
        path = workdir / "import.json"
        write_file(path, options.dits, options.clients)
        size_mb = path.stat().st_size / 1e6
        kind = backend(options.database_url)
        print(f"{kind}: {options.dits:,} DITs, {options.clients:,} clients, file {size_mb:.1f} MB")
        bare_url = stack.enter_context(scratch_database(options.database_url, "bare", False))
        bare = bare_insert(bare_url, options.dits, options.clients)
        print(f"bare Core insert:   {bare:8.2f} s")

        url = stack.enter_context(scratch_database(options.database_url, "import", False))
        probe = Database(url)
        probe.upgrade()
        with probe.session() as session:
            import_data(session, PROBE)
        probe.dispose()
        with Webhooks(url, workdir) as hooks:
            first, first_mb, said = run_import(url, path, workdir)
        print(f"ditbot import:      {first:8.2f} s  peak {first_mb:6.0f} MB  ({said})")
        longest = max(hooks.waits) if hooks.waits else 0.0
        refused = [s for s in hooks.statuses if s not in (200, 201)]
        print(
            f"webhooks meanwhile: {len(hooks.waits)} sent, longest answer {longest:.2f} s"
            + (f", refused {refused[:5]}" if refused else "")
        )
        again, again_mb, said = run_import(url, path, workdir)
        print(f"re-import:          {again:8.2f} s  peak {again_mb:6.0f} MB  ({said})")
        stored = count_dits(url)
        ratio = first / bare if bare else float("inf")
        print(f"ratio import/bare:  {ratio:8.1f}x (target <= 3x)")

        bodies = api_bodies(options.dits, options.clients, options.api_batch)
        api_url = stack.enter_context(scratch_database(options.database_url, "api", False))
        api = run_api(api_url, workdir, bodies, options.clients)
        api_stored = count_dits(api_url)
        rows = options.dits
        largest = max(len(b) for b in bodies) / 1e6
        print(
            f"API PUT /api/v1/dits: {len(bodies)} requests of {options.api_batch:,} rows "
            f"(largest {largest:.1f} MB)"
        )
        per_row = {
            "import": first / rows * 1e6,
            "re-import": again / rows * 1e6,
            "API create": api.create / rows * 1e6,
            "API re-send": api.again / rows * 1e6,
        }
        for what, seconds, said in (
            ("API create", api.create, api.created),
            ("API re-send", api.again, api.unchanged),
        ):
            print(
                f"{what + ':':<19} {seconds:8.2f} s  {rows / seconds:9,.0f} rows/s  "
                f"{per_row[what]:7.1f} µs/row  ({dict(sorted(said.items()))})"
            )
        create_ratio = per_row["API create"] / per_row["import"]
        again_ratio = per_row["API re-send"] / per_row["re-import"]
        print(
            f"ratio API/import:   {create_ratio:8.2f}x per row ({per_row['API create']:.1f} vs "
            f"{per_row['import']:.1f} µs; target <= {API_TARGET:g}x)"
        )
        print(
            f"ratio API re-send/re-import: {again_ratio:5.2f}x per row "
            f"({per_row['API re-send']:.1f} vs {per_row['re-import']:.1f} µs; "
            f"target <= {API_TARGET:g}x)"
        )
        api_counted = (
            api_stored == rows
            and api.created["created"] == rows
            and api.unchanged["unchanged"] == rows
        )
        ok = (
            stored == options.dits + 1
            and ratio <= 3
            and again <= 5
            and max(first_mb, again_mb) < 200
            and longest <= 3
            and not refused
            and api_counted
            and create_ratio <= API_TARGET
            and again_ratio <= API_TARGET
        )
        for what, good in (
            ("every DIT stored", stored == options.dits + 1),
            ("import <= 3x bare", ratio <= 3),
            ("re-import <= 5 s", again <= 5),
            ("peak memory < 200 MB", max(first_mb, again_mb) < 200),
            ("longest webhook <= 3 s", longest <= 3 and not refused),
            ("API: every DIT created, then unchanged", api_counted),
            (f"API create <= {API_TARGET:g}x import per row", create_ratio <= API_TARGET),
            (f"API re-send <= {API_TARGET:g}x re-import per row", again_ratio <= API_TARGET),
        ):
            print(f"  {'ok  ' if good else 'MISS'} {what}")
        print("result:             " + ("OK" if ok else "FAILED"))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
