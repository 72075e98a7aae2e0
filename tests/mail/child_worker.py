"""Run the mail worker until killed: the kill -9 test starts this as a real subprocess.

Settings come from the environment (DATABASE_URL, SMTP_*); CHILD_LEASE_SECONDS sets the
lease, so the test does not wait the production lease after killing a delivery.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ditbot.core.context import Context
from ditbot.core.settings import Settings
from ditbot.delivery.backoff import Backoff
from ditbot.mail.smtp import SmtpSender
from ditbot.mail.worker import MailWorker


def main() -> None:
    settings = Settings.from_env(os.environ, dotenv=Path(os.devnull))
    ctx = Context.from_settings(settings)
    worker = MailWorker(
        ctx,
        sender=SmtpSender.from_settings(settings, timeout=60.0),
        backoff=Backoff(base=0.05, cap=0.2, max_attempts=5),
        lease_seconds=float(os.environ.get("CHILD_LEASE_SECONDS", "2")),
    )
    print("ready", flush=True)
    while True:
        if not worker.run_once():
            time.sleep(0.02)


if __name__ == "__main__":
    main()
