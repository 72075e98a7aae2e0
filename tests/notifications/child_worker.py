"""Run the notification worker until killed: the kill -9 test starts this as a real process.

Settings come from the environment (DATABASE_URL, SLACK_API_URL, DITBOT_CHANNEL_*); the worker
keeps its production defaults (pace, backoff) except its lease, which CHILD_LEASE_SECONDS may
shorten: the test then waits seconds, not the production lease, for the dead worker's lease to
expire (test_crash.py checks the production lease on its own).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bot.workers.notifications import NotificationWorker
from ditbot.core.context import Context
from ditbot.core.settings import Settings


def main() -> None:
    settings = Settings.from_env(os.environ, dotenv=Path(os.devnull))
    ctx = Context.from_settings(settings)
    lease = os.environ.get("CHILD_LEASE_SECONDS")
    worker = (
        NotificationWorker(ctx)
        if lease is None
        else NotificationWorker(ctx, lease_seconds=float(lease))
    )
    print("ready", flush=True)
    while True:
        if not worker.run_once():
            time.sleep(0.02)


if __name__ == "__main__":
    main()
