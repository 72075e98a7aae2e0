"""Run the notification worker until killed: the kill -9 test starts this as a real process.

Settings come from the environment (DATABASE_URL, SLACK_API_URL, DITBOT_CHANNEL_*); the worker
keeps its production defaults (lease, pace), since the test measures the recovery they give.
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
    worker = NotificationWorker(Context.from_settings(settings))
    print("ready", flush=True)
    while True:
        if not worker.run_once():
            time.sleep(0.02)


if __name__ == "__main__":
    main()
