"""The portal webhook's signature (CONTRACT.md section 6).

`X-Ditbot-Timestamp: <unix seconds>` and `X-Ditbot-Signature: v1=<hex>`, where hex is
HMAC-SHA256 with DITBOT_PORTAL_SECRET of ``"{timestamp}.{raw body}"``. Like Slack's scheme:
the raw bytes are signed, so the body is verified before it is parsed, and a timestamp more
than five minutes away is refused (a captured request cannot be replayed later).
"""

from __future__ import annotations

import hashlib
import hmac
import time

from ditbot.core.credentials import same

TIMESTAMP_HEADER = "X-Ditbot-Timestamp"
SIGNATURE_HEADER = "X-Ditbot-Signature"
VERSION = "v1"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """The header value `v1=<hex>` for `body` sent at `timestamp`."""
    message = str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers that sign `body` (for integrators' tests, our tests and the benchmark)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: signature(secret, stamp, body),
        "Content-Type": "application/json",
    }


def verify(
    secret: str,
    timestamp: str | None,
    header: str | None,
    body: bytes,
    now: float | None = None,
) -> bool:
    """True when `header` signs `body` at `timestamp`, and `timestamp` is within 300 s of now.

    The header may carry several comma-separated signatures (during a secret rotation the
    sender signs with both); one that matches is enough.
    """
    if not secret or not timestamp or not header:
        return False
    stamp = timestamp.strip()
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        return False
    current = time.time() if now is None else now
    if abs(current - int(stamp)) > TOLERANCE_SECONDS:
        return False
    expected = signature(secret, stamp, body)
    return any(same(candidate.strip(), expected) for candidate in header.split(","))
