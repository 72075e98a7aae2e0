"""Portal links: signed, naming one DIT and one contact, expiring."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path

from itsdangerous import URLSafeTimedSerializer

from ditbot.core.settings import Settings
from ditbot.portal.tokens import make_token, portal_url, read_token
from tests.credentials import PORTAL_SECRET
from tests.portal.conftest import legacy_token

SECRET = PORTAL_SECRET
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_a_token_names_its_dit_contact_and_expiry() -> None:
    token = make_token(SECRET, "DIT-2026-0001", "ACME-PM", days=30, now=NOW)
    read = read_token(SECRET, token, now=NOW + timedelta(days=29))
    assert read is not None
    assert (read.dit, read.contact) == ("DIT-2026-0001", "ACME-PM")
    assert read.expires_at == NOW + timedelta(days=30)


def test_an_expired_token_reads_as_nothing() -> None:
    token = make_token(SECRET, "DIT-2026-0001", "ACME-PM", days=30, now=NOW)
    assert read_token(SECRET, token, now=NOW + timedelta(days=30)) is None


def test_a_tampered_or_foreign_token_reads_as_nothing() -> None:
    token = make_token(SECRET, "DIT-2026-0001", "ACME-PM", now=NOW)
    other = make_token(SECRET, "DIT-2026-0002", "ACME-PM", now=NOW)
    payload, stamp, signature = token.split(".")
    later = make_token(SECRET, "DIT-2026-0001", "ACME-PM", days=30, now=NOW + timedelta(days=60))
    assert read_token("another secret", token, now=NOW) is None
    assert read_token(SECRET, f"{other.split('.')[0]}.{stamp}.{signature}", now=NOW) is None
    # a fresher timestamp taken from another token does not prolong this one
    later_stamp = later.split(".")[1]
    assert read_token(SECRET, f"{payload}.{later_stamp}.{signature}", now=NOW) is None
    assert read_token(SECRET, payload, now=NOW) is None
    assert read_token(SECRET, f"{payload}.{signature}", now=NOW) is None
    for junk in ("", ".", "a.b", "a.b.c", "é.é", "é.é.é", "x" * 5000, token + "x", f"{token}.x"):
        assert read_token(SECRET, junk, now=NOW) is None


def test_a_token_is_no_webhook_signature_nor_other_itsdangerous_token() -> None:
    token = make_token(SECRET, "DIT-2026-0001", "ACME-PM", now=NOW)
    payload, stamp, _signature = token.split(".")
    unsalted = URLSafeTimedSerializer(SECRET).dumps({"d": "DIT-2026-0001", "c": "ACME-PM"})
    assert read_token(SECRET, unsalted, now=NOW) is None
    webhook = hmac.new(SECRET.encode(), f"{payload}.{stamp}".encode(), hashlib.sha256).digest()
    forged = f"{payload}.{stamp}.{base64.urlsafe_b64encode(webhook).rstrip(b'=').decode()}"
    assert read_token(SECRET, forged, now=NOW) is None


def test_portal_url_is_under_the_public_url(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"DITBOT_PORTAL_SECRET": SECRET, "DITBOT_PUBLIC_URL": "https://dit.example/"},
        dotenv=tmp_path / "none",
    )
    url = portal_url(settings, "DIT-2026-0001", "ACME-PM")
    assert url.startswith("https://dit.example/portal/")
    read = read_token(SECRET, url.rsplit("/", 1)[1])
    assert read is not None and read.dit == "DIT-2026-0001" and read.contact == "ACME-PM"
    assert read.expires_at > datetime.now(UTC) + timedelta(days=29)


def test_a_link_issued_before_itsdangerous_still_reads_until_it_expires() -> None:
    expiry = NOW + timedelta(days=30)
    token = legacy_token(SECRET, "DIT-2026-0001", "ACME-PM", expiry)
    read = read_token(SECRET, token, now=expiry - timedelta(seconds=1))
    assert read is not None
    assert (read.dit, read.contact, read.expires_at) == ("DIT-2026-0001", "ACME-PM", expiry)
    assert read_token(SECRET, token, now=expiry) is None
    assert read_token(SECRET, token, now=expiry + timedelta(days=1)) is None


def test_a_tampered_or_foreign_legacy_link_reads_as_nothing() -> None:
    expiry = NOW + timedelta(days=30)
    token = legacy_token(SECRET, "DIT-2026-0001", "ACME-PM", expiry)
    other = legacy_token(SECRET, "DIT-2026-0002", "ACME-PM", expiry)
    longer = legacy_token(SECRET, "DIT-2026-0001", "ACME-PM", expiry + timedelta(days=365))
    signature = token.split(".")[1]
    assert read_token("another secret", token, now=NOW) is None
    assert read_token(SECRET, f"{other.split('.')[0]}.{signature}", now=NOW) is None
    assert read_token(SECRET, f"{longer.split('.')[0]}.{signature}", now=NOW) is None
    assert read_token(SECRET, token + "x", now=NOW) is None
