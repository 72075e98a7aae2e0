"""Signed, expiring portal links (CONTRACT.md section 6).

A token names one DIT and one contact and expires. It is an itsdangerous
``URLSafeTimedSerializer`` token (``<payload>.<timestamp>.<signature>``, url-safe): the payload
is compact JSON ``{"d": dit, "c": contact, "t": lifetime in seconds}``, the timestamp is when it
was issued, and the signature is HMAC-SHA256 with a key derived from DITBOT_PORTAL_SECRET and a
salt of its own, so a link signature is never valid as a webhook signature (same secret) nor as
any other itsdangerous token of ditbot, and vice versa.

Links issued before itsdangerous (``<payload>.<signature>``, see `_read_legacy`) are still read
until they expire; none are issued any more.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer

from ditbot.core.credentials import same
from storage.types import utcnow

SALT = "ditbot.portal.link.v2"
MAX_TOKEN_LENGTH = 1000
# The format before itsdangerous: its HMAC covered this prefix and the encoded payload.
LEGACY_PURPOSE = b"ditbot-portal-link.v1:"


@dataclass(frozen=True)
class PortalToken:
    """What a valid portal token says: which DIT, which contact, until when."""

    dit: str
    contact: str
    expires_at: datetime


class _ClockSigner(TimestampSigner):
    """A TimestampSigner that stamps with ditbot's clock, so a caller's `now` is honoured."""

    def __init__(self, *args: Any, clock: Callable[[], datetime] = utcnow, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock

    def get_timestamp(self) -> int:
        return int(self.clock().timestamp())


def _serializer(secret: str, now: datetime | None = None) -> URLSafeTimedSerializer:
    clock: Callable[[], datetime] = utcnow if now is None else (lambda: now)
    return URLSafeTimedSerializer(
        secret,
        salt=SALT,
        signer=_ClockSigner,
        signer_kwargs={"digest_method": hashlib.sha256, "clock": clock},
    )


def make_token(
    secret: str,
    dit_number: str,
    contact_code: str,
    days: int = 30,
    now: datetime | None = None,
) -> str:
    """A token for `contact_code` on `dit_number`, valid `days` days from `now`."""
    if not secret:
        raise ValueError("a portal secret is required to sign portal links")
    lifetime = int(timedelta(days=days).total_seconds())
    return _serializer(secret, now).dumps({"d": dit_number, "c": contact_code, "t": lifetime})


def read_token(secret: str, token: str, now: datetime | None = None) -> PortalToken | None:
    """The token's content when its signature holds and it has not expired; None otherwise."""
    if not secret or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    moment = now or utcnow()
    try:
        body, issued = _serializer(secret).loads(token, return_timestamp=True)
    except BadData:
        return _read_legacy(secret, token, moment)
    # The lifetime is chosen when the link is issued (settings.portal_link_days at that time),
    # so it is signed in the payload and checked here rather than as a reader-side max_age.
    if not isinstance(body, dict):
        return None
    dit, contact, lifetime = body.get("d"), body.get("c"), body.get("t")
    if not isinstance(dit, str) or not isinstance(contact, str) or type(lifetime) is not int:
        return None
    try:
        expires_at = issued + timedelta(seconds=lifetime)
    except OverflowError:
        return None
    return _unexpired(dit, contact, expires_at, moment)


def _unexpired(dit: str, contact: str, expires_at: datetime, now: datetime) -> PortalToken | None:
    return (
        PortalToken(dit=dit, contact=contact, expires_at=expires_at) if now < expires_at else None
    )


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _read_legacy(secret: str, token: str, now: datetime) -> PortalToken | None:
    """A link of the format before itsdangerous, read (never issued) until it expires.

    ``<payload>.<signature>``, both url-safe base64 without padding, where payload is compact
    JSON ``{"d": dit, "c": contact, "e": expiry unix seconds}`` and signature is HMAC-SHA256
    with DITBOT_PORTAL_SECRET over LEGACY_PURPOSE and the encoded payload. Issued links live at
    most portal_link_days (30 by default), so this reader can go once that long has passed
    since the release that stopped issuing them.
    """
    if token.count(".") != 1 or not token.isascii():
        return None
    payload, signature = token.split(".")
    digest = hmac.new(secret.encode(), LEGACY_PURPOSE + payload.encode(), hashlib.sha256)
    expected = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")
    if not same(signature, expected):
        return None
    try:
        body: Any = json.loads(_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(body, dict):
        return None
    dit, contact, expiry = body.get("d"), body.get("c"), body.get("e")
    if not isinstance(dit, str) or not isinstance(contact, str) or type(expiry) is not int:
        return None
    try:
        expires_at = datetime.fromtimestamp(expiry, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return _unexpired(dit, contact, expires_at, now)


def portal_url(
    settings: Any, dit_number: str, contact_code: str, now: datetime | None = None
) -> str:
    """`{DITBOT_PUBLIC_URL}/portal/{token}`, valid `settings.portal_link_days` days from `now`."""
    settings.require("DITBOT_PORTAL_SECRET")
    token = make_token(
        settings.portal_secret, dit_number, contact_code, days=settings.portal_link_days, now=now
    )
    return f"{settings.public_url.rstrip('/')}/portal/{quote(token, safe='.-_')}"
