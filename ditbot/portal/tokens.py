"""Signed, expiring portal links (CONTRACT.md section 6).

A token names one DIT and one contact and carries its expiry:
``<payload>.<signature>``, both url-safe base64 without padding, where payload is compact JSON
``{"d": dit, "c": contact, "e": expiry unix seconds}`` and signature is HMAC-SHA256 with
DITBOT_PORTAL_SECRET over a purpose prefix and the encoded payload. The prefix keeps a link
signature from ever being valid as a webhook signature (same secret) and vice versa.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from storage.types import utcnow

PURPOSE = b"ditbot-portal-link.v1:"
MAX_TOKEN_LENGTH = 1000


@dataclass(frozen=True)
class PortalToken:
    """What a valid portal token says: which DIT, which contact, until when."""

    dit: str
    contact: str
    expires_at: datetime


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), PURPOSE + payload.encode("ascii"), hashlib.sha256)
    return _b64encode(digest.digest())


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
    expires = (now or utcnow()) + timedelta(days=days)
    body = {"d": dit_number, "c": contact_code, "e": int(expires.timestamp())}
    payload = _b64encode(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{payload}.{_sign(secret, payload)}"


def read_token(secret: str, token: str, now: datetime | None = None) -> PortalToken | None:
    """The token's content when its signature holds and it has not expired; None otherwise."""
    if not secret or not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        return None
    payload, signature = token.split(".")
    try:
        payload.encode("ascii")
        signature.encode("ascii")
    except UnicodeEncodeError:
        return None
    if not hmac.compare_digest(_sign(secret, payload), signature):
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
    if expires_at <= (now or utcnow()):
        return None
    return PortalToken(dit=dit, contact=contact, expires_at=expires_at)


def portal_url(
    settings: Any, dit_number: str, contact_code: str, now: datetime | None = None
) -> str:
    """`{DITBOT_PUBLIC_URL}/portal/{token}`, valid `settings.portal_link_days` days from `now`."""
    settings.require("DITBOT_PORTAL_SECRET")
    token = make_token(
        settings.portal_secret, dit_number, contact_code, days=settings.portal_link_days, now=now
    )
    return f"{settings.public_url.rstrip('/')}/portal/{quote(token, safe='.-_')}"
