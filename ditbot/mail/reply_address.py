"""The reply address of a mail: `DITBOT_MAIL_REPLY_TO` with a signed token naming the mail.

`sav+{token}@example.com` becomes `sav+r42-k3j5h2m4q7@example.com` for the mail recorded as
exchange 42: the client's answer comes back to the mailbox ditbot reads, and the token names
the mail it answers even when the client's program drops `In-Reply-To` (some webmails and
phones do). The token is an HMAC with `DITBOT_PORTAL_SECRET`, so nobody can write into another
DIT by guessing numbers; it is lower case and made of letters, digits and a dash, because some
mail servers change the case of the local part or refuse other characters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from email.utils import getaddresses

from ditbot.core.settings import Settings

MAC_LENGTH = 10  # 50 bits of HMAC-SHA256: guessing one takes ~10^15 tries
TOKEN = re.compile(rf"r(?P<id>[0-9]{{1,12}})-(?P<mac>[a-z2-7]{{{MAC_LENGTH}}})")


def _mac(secret: str, exchange_id: int) -> str:
    digest = hmac.new(secret.encode(), f"reply-to:{exchange_id}".encode(), hashlib.sha256)
    return base64.b32encode(digest.digest()).decode("ascii")[:MAC_LENGTH].lower()


def make_token(secret: str, exchange_id: int) -> str:
    """`r<exchange id>-<mac>`."""
    return f"r{exchange_id}-{_mac(secret, exchange_id)}"


def read_token(secret: str, token: str) -> int | None:
    """The exchange id a token names, or None when it is not one of ours (or forged)."""
    found = TOKEN.fullmatch(token.strip().lower())
    if found is None:
        return None
    exchange_id = int(found["id"])
    if not hmac.compare_digest(found["mac"], _mac(secret, exchange_id)):
        return None
    return exchange_id


def reply_address(settings: Settings, exchange_id: int) -> str | None:
    """The address a reply to mail `exchange_id` should go to; None when not configured."""
    if not settings.mail_reply_to or not settings.portal_secret:
        return None
    return settings.mail_reply_to.replace(
        "{token}", make_token(settings.portal_secret, exchange_id)
    )


def _pattern(template: str) -> re.Pattern[str]:
    before, _, after = template.partition("{token}")
    return re.compile(
        re.escape(before) + r"(?P<token>[A-Za-z0-9-]+)" + re.escape(after), re.IGNORECASE
    )


def exchange_named_by(settings: Settings, addresses: Iterable[str]) -> int | None:
    """The exchange id named by the first of `addresses` that is a valid reply address."""
    if not settings.mail_reply_to or not settings.portal_secret:
        return None
    pattern = _pattern(settings.mail_reply_to)
    for _, address in getaddresses(list(addresses)):
        found = pattern.fullmatch(address.strip())
        if found is not None:
            exchange_id = read_token(settings.portal_secret, found["token"])
            if exchange_id is not None:
                return exchange_id
    return None
