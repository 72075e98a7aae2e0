"""Serving for the Slack benchmarks: ditbot and a bare bolt baseline, each in its own process.

Both are served the same way as `ditbot serve` (Flask under ditbot/cli/http_server.py's waitress,
HTTP_THREADS threads), so a ratio between them measures ditbot's own work. The bare app only
acks one kind of request: `/dit` (`bare="command"`) or the mail form's submission
(`bare="mail"`).

ditbot can also be served another way (`Model`), to choose the serving model by measurement
(bench/bench_overload.py `--model`):

- `threads:N`: one process, waitress with N threads (`ditbot serve` today: threads:16).
- `processes:P` or `processes:PxN`: P processes of waitress (N threads each, HTTP_THREADS by
  default) serving one listening socket, bound here and inherited by each; the kernel gives each
  connection to whichever accepts it first. Only the first process runs the outbox dispatcher
  (workers, reminder scan): the others only answer HTTP, and what they enqueue is delivered by
  the first one's poll (ditbot/delivery/dispatcher.py). One SQLite file serves them all (WAL).
- `reuseport:P` or `reuseport:PxN`: the same, but each process has its own listening socket on
  the port (SO_REUSEPORT): the kernel spreads connections by a hash of their addresses, where
  the shared socket lets the first process awake take most of a burst of connections.
- `cheroot:N`: one process, cheroot (CherryPy's WSGI server) with N threads, when installed.

The load side shared by bench/bench_slack.py and bench/bench_overload.py is here too: `Sender`
(signed `/dit` requests) and `outcomes` (what became of each panel a flood asked for).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import multiprocessing
import multiprocessing.process
import os
import re
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask, request
from slack_bolt import Ack, App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient

from ditbot.cli.http_server import HTTP_THREADS, http_server
from ditbot.cli.serve import build
from ditbot.core.settings import Settings
from ditbot.playground.slack_api import FakeSlack

# Fixed, not drawn at random: spawned children import this module again. Slack's format.
SECRET = "6265e6368a1c4f1b9d0e2a7c5b3f8d41"
USER = "UBENCH"  # the Slack user who sends the commands (bench_slack.build_database's C000)

# What ditbot answers instead of a panel, in French (the benches set DITBOT_LOCALE=fr).
BUSY = "ditbot est très occupé"  # in the ack: never queued (bot/deps.py MAX_BACKLOG)
TOO_SLOW = "Slack a mis trop de temps"  # ephemeral, by response_url (bot/deps.py TRIGGER_BUDGET)


@dataclass(frozen=True)
class Model:
    """How the app is served: which HTTP server, in how many processes, with how many threads."""

    server: str  # "waitress" or "cheroot"
    processes: int
    threads: int
    reuseport: bool = False  # processes: a socket each (SO_REUSEPORT), not one shared

    @classmethod
    def parse(cls, text: str) -> Model:
        """`threads:16`, `processes:2`, `processes:2x8`, `reuseport:2`, `cheroot:16` (see the
        module's doc)."""
        match = re.fullmatch(r"(threads|processes|reuseport|cheroot):(\d+)(?:x(\d+))?", text)
        several = match is not None and match[1] in ("processes", "reuseport")
        if match is None or (match[3] and not several):
            raise ValueError(
                f"serving model {text!r}: threads:N, processes:P[xN], reuseport:P[xN], cheroot:N"
            )
        count, threads = int(match[2]), int(match[3] or HTTP_THREADS)
        if several:
            return cls("waitress", count, threads, reuseport=match[1] == "reuseport")
        return cls("waitress" if match[1] == "threads" else "cheroot", 1, count)

    def __str__(self) -> str:
        if self.server == "cheroot":
            return f"cheroot:{self.threads}"
        if self.processes == 1:
            return f"threads:{self.threads}"
        suffix = "" if self.threads == HTTP_THREADS else f"x{self.threads}"
        return f"{'reuseport' if self.reuseport else 'processes'}:{self.processes}{suffix}"


DEFAULT = Model("waitress", 1, HTTP_THREADS)  # what `ditbot serve` does


def available(model: Model) -> str | None:
    """Why `model` cannot be served here (its server is not installed), or None."""
    if model.server == "cheroot":
        try:
            import cheroot.wsgi  # noqa: F401
        except ImportError:
            return "cheroot is not installed (pip install cheroot)"
    return None


@dataclass
class Served:
    name: str
    port: int
    processes: list[multiprocessing.process.BaseProcess] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    @property
    def process(self) -> multiprocessing.process.BaseProcess:
        """The first process: the only one, or the one that runs the dispatcher."""
        return self.processes[0]

    def connections(self) -> list[int]:
        """Established connections each process holds on the port (Linux /proc)."""
        inodes: dict[str, int] = {}  # socket inode -> index of the process holding it
        for index, process in enumerate(self.processes):
            fds = Path(f"/proc/{process.pid}/fd")
            for fd in fds.iterdir() if fds.exists() else ():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue  # closed meanwhile
                if target.startswith("socket:["):
                    inodes[target[8:-1]] = index
        counts = [0] * len(self.processes)
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "01" and int(local.split(":")[1], 16) == self.port and inode in inodes:
                counts[inodes[inode]] += 1
        return counts

    def rss_mb(self) -> list[int]:
        """Resident memory of each process, in MB (Linux /proc)."""
        sizes = []
        for process in self.processes:
            status = Path(f"/proc/{process.pid}/status").read_text(encoding="ascii")
            kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
            sizes.append(int(kib) // 1024)
        return sizes

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.join(10)


def bare_app(slack_api_url: str, bare: str) -> Flask:
    """A bolt App that only acks, mounted like ditbot's."""
    app = App(
        client=WebClient(token="xoxb-bench", base_url=slack_api_url),
        signing_secret=SECRET,
        process_before_response=False,
    )

    def ack_only(ack: Ack) -> None:
        ack()

    if bare == "mail":
        app.view("mail_compose")(ack_only)
    else:
        app.command("/dit")(ack_only)
    handler = SlackRequestHandler(app)
    web = Flask("bare")

    @web.post("/slack/events")
    def events() -> Any:
        return handler.handle(request)

    return web


def _serve_child(
    kind: str,
    bare: str,
    env: dict[str, str],
    dotenv: str,
    model: Model,
    dispatch: bool,
    sock: socket.socket | None,
    conn: Any,
) -> None:
    """In a child process, like `ditbot serve`: build the app, serve it as `model` says (on
    `sock` when given); only with `dispatch` does it run the outbox dispatcher."""
    # "Task queue depth is N" at each request beyond the thread count: the figures say it.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    settings = Settings.from_env(env, dotenv=Path(dotenv))
    if kind == "ditbot":
        runtime = build(settings)
        if dispatch:
            runtime.dispatcher.start()
        web = runtime.web
    else:
        web = bare_app(env["SLACK_API_URL"], bare)
    if model.server == "cheroot":
        from cheroot.wsgi import Server

        server = Server(("127.0.0.1", 0), web, numthreads=model.threads, server_name=kind)
        server.prepare()
        conn.send(int(server.bind_addr[1]))
        server.serve()
        return
    local = settings.model_copy(update={"host": "127.0.0.1", "port": 0})
    waitress = http_server(web, local, threads=model.threads, sock=sock)
    conn.send(int(waitress.effective_port))
    waitress.run()


def serve(
    kind: str, env: dict[str, str], dotenv: Path, bare: str = "command", model: Model = DEFAULT
) -> Served:
    """Start `kind` ("ditbot" or "bare") served as `model`, in its own process(es), as a
    deployment would."""
    context = multiprocessing.get_context("spawn")
    sockets: list[socket.socket | None] = [None] * model.processes
    if model.reuseport:
        first = socket.create_server(("127.0.0.1", 0), backlog=1024, reuse_port=True)
        port = first.getsockname()[1]
        sockets = [first] + [
            socket.create_server(("127.0.0.1", port), backlog=1024, reuse_port=True)
            for _ in range(model.processes - 1)
        ]
    elif model.processes > 1:
        sockets = [socket.create_server(("127.0.0.1", 0), backlog=1024)] * model.processes
    served = Served(kind if model == DEFAULT else f"{kind} {model}", 0)
    try:
        # One after the other: the first one upgrades the database before the others open it.
        for index in range(model.processes):
            parent, child = context.Pipe()
            process = context.Process(
                target=_serve_child,
                args=(kind, bare, env, str(dotenv), model, index == 0, sockets[index], child),
                name=f"{kind}-{index}",
                daemon=True,
            )
            process.start()
            served.processes.append(process)
            if not parent.poll(120):
                raise RuntimeError(f"{served.name} did not start")
            served.port = parent.recv()
    except BaseException:
        served.stop()
        raise
    finally:
        for sock in sockets:
            if sock is not None:
                sock.close()  # the children hold it (closing a shared one twice is harmless)
    return served


def _fake_child(channels: dict[str, str], paced: bool, conn: Any) -> None:
    """In a child process: the Slack Web API fake with `channels` (id → name), until told."""
    from ditbot.playground.slack_api import FakeSlack

    with FakeSlack() as fake:
        for channel, name in channels.items():
            fake.add_channel(channel, name=name)
        if not paced:
            fake.enforce_rate_limit("chat.postMessage", None)
        conn.send(fake.base_url)
        conn.recv()  # anything: stop


@dataclass
class RemoteSlack:
    """The Slack fake in its own process: Slack's work is not ditbot's CPU, as in production."""

    base_url: str
    process: multiprocessing.process.BaseProcess
    conn: Any

    def stop(self) -> None:
        self.conn.send("stop")
        self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()


def remote_slack(channels: dict[str, str], *, paced: bool = True) -> RemoteSlack:
    """Start the fake with `channels` in a child process; `paced=False` lifts Slack's one
    chat.postMessage per second per channel (to measure ditbot, not the pacing)."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(
        target=_fake_child, args=(channels, paced, child), name="slack", daemon=True
    )
    process.start()
    if not parent.poll(120):
        process.terminate()
        raise RuntimeError("the Slack fake did not start")
    return RemoteSlack(parent.recv(), process, parent)


# -- load -------------------------------------------------------------------------------------
class Sender:
    """Signed `/dit` requests over one keep-alive connection."""

    def __init__(self, port: int, fake: FakeSlack) -> None:
        self.port = port
        self.fake = fake
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.last_body = b""  # the last answer (an ack may carry a message)

    @property
    def busy(self) -> bool:
        """True when the last ack answered "very busy" (the command was not queued)."""
        return BUSY.encode() in self.last_body

    def command(self, text: str, trigger_id: str | None = None) -> float:
        """Send `/dit text`; returns the seconds until the ack. The response_url is named after
        the trigger_id, so that what ditbot answers through it says which command it is for."""
        trigger = trigger_id or self.fake.new_trigger_id()
        body = urlencode(
            {
                "team_id": "T0FAKE",
                "channel_id": "C0BENCH",
                "user_id": USER,
                "command": "/dit",
                "text": text,
                "response_url": self.fake.response_url(trigger),
                "trigger_id": trigger,
                "api_app_id": "A0FAKE",
            }
        ).encode()
        stamp = str(int(time.time()))
        mac = hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": "v0=" + mac.hexdigest(),
        }
        started = time.perf_counter()
        try:
            self.connection.request("POST", "/slack/events", body=body, headers=headers)
            response = self.connection.getresponse()
            self.last_body = response.read()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            raise
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
        return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


@dataclass(frozen=True)
class Outcomes:
    """What became of the panels asked for since some call to the fake, by trigger_id."""

    opened: int  # views.open accepted
    slow: int  # told "too slow, try again" (ephemeral, through the command's response_url)
    expired: int  # of `slow`: views.open refused by Slack as expired (then told so)
    twice: int  # commands with more than one of these outcomes (none expected)

    @property
    def settled(self) -> int:
        """Commands with an outcome."""
        return self.opened + self.slow - self.twice


def outcomes(fake: FakeSlack, since: int) -> Outcomes:
    """The outcomes of the panels recorded by `fake` after its call number `since`."""
    calls = fake.calls[since:]
    opened = [c.args["trigger_id"] for c in calls if c.method == "views.open" and c.ok]
    expired = sum(
        1
        for c in calls
        if c.method == "views.open" and not c.ok and c.response.get("error") == "expired_trigger_id"
    )
    slow = [
        c.path.rsplit("/", 1)[-1]
        for c in calls
        if c.method == "response_url" and TOO_SLOW in str(c.args.get("text", ""))
    ]
    each = Counter(opened + slow)
    twice = sum(1 for count in each.values() if count > 1)
    return Outcomes(len(opened), len(slow), expired, twice)


def settle(fake: FakeSlack, since: int, panels: int, timeout: float = 120) -> Outcomes:
    """Wait until `panels` commands sent after call `since` have an outcome (or `timeout`)."""
    deadline = time.monotonic() + timeout
    while (found := outcomes(fake, since)).settled < panels and time.monotonic() < deadline:
        time.sleep(0.2)  # polling the fake's record: it has no wait for "either of"
    return found
