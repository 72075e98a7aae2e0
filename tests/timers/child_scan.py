"""A reminder process the kill -9 tests start and kill: scans at a given time, then stops.

argv: the ISO time the scan takes for now, and where to stop:
- `after-commit`: scan (the reminders are enqueued and committed), say `scanned`, then hang;
- `in-scan`: hang inside the scan's transaction, right after enqueuing (nothing committed).
Settings come from the environment (DATABASE_URL...).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.workers.reminders import ReminderScanner
from ditbot.core.context import Context
from ditbot.core.settings import Settings
from ditbot.domain import timers


def main() -> None:
    now = datetime.fromisoformat(sys.argv[1])
    where = sys.argv[2]
    ctx = Context.from_settings(Settings.from_env(os.environ, dotenv=Path(os.devnull)))
    if where == "in-scan":
        original = timers.enqueue

        def enqueue_then_hang(session: Any, payload: Any) -> Any:
            item = original(session, payload)
            session.flush()
            print("in-scan", flush=True)
            time.sleep(120)
            return item

        timers.enqueue = enqueue_then_hang  # type: ignore[assignment]
    ReminderScanner(ctx, clock=lambda: now, every=0).scan_once()
    print("scanned", flush=True)
    time.sleep(120)


if __name__ == "__main__":
    main()
