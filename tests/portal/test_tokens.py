"""Portal links: signed, naming one DIT and one contact, expiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ditbot.core.settings import Settings
from ditbot.portal.tokens import make_token, portal_url, read_token

SECRET = "s3cret"
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
    payload, signature = token.split(".")
    assert read_token("another secret", token, now=NOW) is None
    assert read_token(SECRET, f"{other.split('.')[0]}.{signature}", now=NOW) is None
    assert read_token(SECRET, payload, now=NOW) is None
    for junk in ("", ".", "a.b", "é.é", "x" * 5000, token + "x", f"{payload}.{signature}.x"):
        assert read_token(SECRET, junk, now=NOW) is None


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
