"""Deliver reminders until killed: the kill -9 test starts this as a real process.

Its lease is 1 s, not the production 60 s, so that the next worker takes the item up a second
after the kill: nothing else runs while this process holds it (the test's own worker, with the
production lease, starts once it is dead).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from slack_sdk import WebClient

from bot.workers.reminders import ReminderWorker
from ditbot.core.context import Context
from ditbot.core.settings import Settings


def main() -> None:
    settings = Settings.from_env(os.environ, dotenv=Path(os.devnull))
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    worker = ReminderWorker(Context.from_settings(settings), client, lease_seconds=1.0)
    print("ready", flush=True)
    while True:
        if not worker.run_once():
            time.sleep(0.02)


if __name__ == "__main__":
    main()
