"""Read the test mailbox and die by SIGKILL in the middle of a message (the kill -9 test).

`python -m tests.mail.child_collector before-commit|after-commit PORT`: settings come from the
environment (DATABASE_URL, DITBOT_MAIL_STORE...); the process kills itself with SIGKILL just
before the pipeline takes the first message, or just after it committed it and before the
message is flagged in the mailbox.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from ditbot.core.context import Context
from ditbot.core.settings import Settings
from ditbot.mail.collector import Mailbox, MailCollector
from ditbot.mail.inbound.pipeline import Outcome, receive
from tests.mail.dovecot import PASSWORD, USER


def main() -> None:
    when, port = sys.argv[1], int(sys.argv[2])
    settings = Settings.from_env(os.environ, dotenv=Path(os.devnull))
    ctx = Context.from_settings(settings)

    def take(raw: bytes) -> Outcome:
        if when == "before-commit":
            os.kill(os.getpid(), signal.SIGKILL)
        receive(ctx, raw)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("not reached")

    mailbox = Mailbox("127.0.0.1", port, "none", USER, PASSWORD, "INBOX", None, 30.0)
    MailCollector(ctx, mailbox=mailbox, take=take).collect_once()


if __name__ == "__main__":
    main()
