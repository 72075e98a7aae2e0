"""Fixtures of the inbound tests: a mail ditbot sent on DIT-2026-0001, and the raw answers.

The raw messages under fixtures/ are written the way Thunderbird, Outlook, Gmail, Apple Mail,
Postfix and Exchange write them; `{{SENT_ID}}` and `{{REPLY_TO}}` in their headers stand for
the Message-ID and the reply address of the mail they answer, known only once it is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ditbot.core.context import Context
from ditbot.mail.reply_address import reply_address
from ditbot.mail.worker import MailWorker
from tests.mail.conftest import Sender, drive, exchange

FIXTURES = Path(__file__).parent / "fixtures"
REPLY_TO = "sav+{token}@sav.example"


@pytest.fixture
def env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {
        **env,
        "DITBOT_MAIL_REPLY_TO": REPLY_TO,
        "DITBOT_MAIL_STORE": str(tmp_path / "mail-store"),
    }


@dataclass(frozen=True)
class SentMail:
    exchange_id: int
    message_id: str
    reply_to: str


@pytest.fixture
def sent(
    mail_ctx: Context, worker: MailWorker, queue_mail: Sender, seeded: dict[str, Any]
) -> SentMail:
    """The mail Jeanne Dupuis sent to Paul Martin on DIT-2026-0001, delivered."""
    exchange_id = queue_mail("Bonjour Paul Martin,\n\nLe technicien passe jeudi à 9 h.")
    drive([worker], lambda: exchange(mail_ctx, exchange_id).mail_status == "sent")
    mail = exchange(mail_ctx, exchange_id)
    address = reply_address(mail_ctx.settings, exchange_id)
    assert mail.mail_message_id and address
    return SentMail(exchange_id, mail.mail_message_id, address)


Raw = Callable[..., bytes]


@pytest.fixture
def raw(sent: SentMail) -> Raw:
    """The bytes of fixture `name`, answering `sent` (headers may be replaced)."""

    def read(name: str, replace: dict[bytes, bytes] | None = None) -> bytes:
        data = (FIXTURES / name).read_bytes()
        data = data.replace(b"{{SENT_ID}}", sent.message_id.encode())
        data = data.replace(b"{{REPLY_TO}}", sent.reply_to.encode())
        for old, new in (replace or {}).items():
            assert old in data, old
            data = data.replace(old, new, 1)
        return data

    return read


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
