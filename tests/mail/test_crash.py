"""kill -9 in the middle of a delivery: the lease expires and a new process sends the mail."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ditbot.core.context import Context
from tests.mail.conftest import Sender, exchange, wait_until
from tests.mail.smtp_server import SmtpServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for child in started:
        if child.poll() is None:
            child.kill()
        child.wait(10)


def start_child(
    env: dict[str, str], started: list[subprocess.Popen[bytes]], lease_seconds: float
) -> subprocess.Popen[bytes]:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.mail.child_worker"],
        cwd=ROOT,
        env={**os.environ, **env, "CHILD_LEASE_SECONDS": str(lease_seconds)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    started.append(child)
    return child


def test_a_delivery_killed_midway_is_sent_by_the_next_process(
    mail_env: dict[str, str],
    mail_ctx: Context,
    smtp: SmtpServer,
    queue_mail: Sender,
    children: list[subprocess.Popen[bytes]],
) -> None:
    exchange_id = queue_mail("Message qui doit survivre à un kill -9.")
    smtp.stall_data()
    # The first process is killed holding its lease: the shorter, the sooner the second
    # takes the mail up. Nothing competes with it while it lives.
    first = start_child(mail_env, children, lease_seconds=1.0)
    assert smtp.data_started.wait(30), "the first process never reached DATA"
    os.kill(first.pid, signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL
    during = exchange(mail_ctx, exchange_id)
    assert during.mail_status == "queued" and during.mail_attempts == 1
    smtp.release()

    start_child(mail_env, children, lease_seconds=2.0)  # room to send and record under load
    [received] = smtp.wait_for(1, timeout=30)
    assert "survivre à un kill -9" in received.part("plain")
    # The second process reused the Message-ID fixed at the first attempt.
    assert received.message["Message-ID"] == during.mail_message_id
    # The server's answer precedes the commit of the outcome by a moment.
    wait_until(lambda: exchange(mail_ctx, exchange_id).mail_status == "sent")
    assert exchange(mail_ctx, exchange_id).mail_attempts == 2
    assert len(smtp.received) == 1
