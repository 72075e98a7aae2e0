"""The playground as a user starts it: `ditbot serve` with no Slack token, in a fresh folder."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

DITBOT = Path(sys.executable).with_name("ditbot")
START_SECONDS = 60


@dataclass
class Served:
    url: str  # http://127.0.0.1:PORT
    folder: Path
    process: subprocess.Popen[str]
    lines: list[str]


def start_playground(
    folder: Path, extra: dict[str, str] | None = None, args: list[str] | None = None
) -> Served:
    """`ditbot serve` in `folder` (no .env, no Slack variable), on a port the system picks;
    returns once it printed its one line."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(folder),
        "DITBOT_PORT": "0",
        **(extra or {}),
    }
    process = subprocess.Popen(
        [str(DITBOT), *(args or ["serve"])],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: queue.Queue[str] = queue.Queue()
    lines: list[str] = []

    def read() -> None:
        for line in process.stdout or ():
            lines.append(line)
            seen.put(line)

    threading.Thread(target=read, daemon=True).start()
    while True:
        try:
            line = seen.get(timeout=START_SECONDS)
        except queue.Empty:
            process.kill()
            raise AssertionError("ditbot serve did not start:\n" + "".join(lines)) from None
        if line.startswith("ditbot playground on "):
            url = line.split()[3].removesuffix("/playground")
            return Served(url=url, folder=folder, process=process, lines=lines)
        if process.poll() is not None:
            raise AssertionError("ditbot serve stopped:\n" + "".join(lines))


def stop(served: Served) -> None:
    served.process.terminate()
    try:
        served.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()


@pytest.fixture
def playground(tmp_path: Path) -> Iterator[Served]:
    served = start_playground(tmp_path)
    yield served
    stop(served)
