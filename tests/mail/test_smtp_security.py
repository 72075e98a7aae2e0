"""SMTP_SECURITY none / starttls / tls and SMTP auth, against a real aiosmtpd with TLS."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest

from ditbot.mail.smtp import DeliveryFailed, SmtpSender
from tests.mail.smtp_server import SmtpServer


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def trusting(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def message() -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Jeanne Dupuis <sav@sav.example>"
    mail["To"] = "p.martin@acme.example"
    mail["Subject"] = "Intervention prévue"
    mail.set_content("Bonjour, à jeudi.")
    return mail


def test_plain_smtp_without_auth() -> None:
    with SmtpServer() as server:
        SmtpSender(server.host, server.port).send(
            message(), "sav@sav.example", ["p.martin@acme.example"]
        )
        [received] = server.wait_for(1)
    assert received.message["Subject"] == "Intervention prévue"


def test_starttls_with_auth(certificate: tuple[Path, Path]) -> None:
    server = SmtpServer(tls_context=server_context(certificate), users={"sav": "s3cret"})
    with server:
        sender = SmtpSender(
            server.host,
            server.port,
            security="starttls",
            username="sav",
            password="s3cret",
            ssl_context=trusting(certificate),
        )
        sender.send(message(), "sav@sav.example", ["p.martin@acme.example"])
        server.wait_for(1)
    assert server.logins == ["sav"]


def test_implicit_tls(certificate: tuple[Path, Path]) -> None:
    with SmtpServer(implicit_tls=server_context(certificate)) as server:
        sender = SmtpSender(
            server.host, server.port, security="tls", ssl_context=trusting(certificate)
        )
        sender.send(message(), "sav@sav.example", ["p.martin@acme.example"])
        assert len(server.wait_for(1)) == 1


def test_a_wrong_password_is_kept_for_retry_not_failed_for_good(
    certificate: tuple[Path, Path],
) -> None:
    server = SmtpServer(tls_context=server_context(certificate), users={"sav": "s3cret"})
    with server:
        sender = SmtpSender(
            server.host,
            server.port,
            security="starttls",
            username="sav",
            password="wrong",
            ssl_context=trusting(certificate),
        )
        with pytest.raises(DeliveryFailed) as caught:
            sender.send(message(), "sav@sav.example", ["p.martin@acme.example"])
    assert caught.value.code == 535 and not caught.value.permanent
    assert server.received == []


def test_an_untrusted_certificate_is_refused(certificate: tuple[Path, Path]) -> None:
    with SmtpServer(tls_context=server_context(certificate)) as server:
        sender = SmtpSender(server.host, server.port, security="starttls")
        with pytest.raises(DeliveryFailed, match="CERTIFICATE_VERIFY_FAILED") as caught:
            sender.send(message(), "sav@sav.example", ["p.martin@acme.example"])
    assert not caught.value.permanent and server.received == []


@pytest.mark.parametrize(
    ("stage", "code", "permanent"),
    [
        ("MAIL", 553, True),
        ("RCPT", 550, True),
        ("RCPT", 452, False),
        ("DATA", 554, True),
        ("DATA", 451, False),
    ],
)
def test_answers_are_classified(stage: str, code: int, permanent: bool) -> None:
    with SmtpServer() as server:
        server.fail(stage, code, "said no")
        with pytest.raises(DeliveryFailed) as caught:
            SmtpSender(server.host, server.port).send(
                message(), "sav@sav.example", ["p.martin@acme.example"]
            )
    assert caught.value.reason == f"{code} said no"
    assert caught.value.permanent is permanent


def test_nobody_listening_is_temporary() -> None:
    server = SmtpServer().start()
    port = server.port
    server.stop()
    with pytest.raises(DeliveryFailed, match="connection refused") as caught:
        SmtpSender("127.0.0.1", port, timeout=2).send(
            message(), "sav@sav.example", ["p.martin@acme.example"]
        )
    assert not caught.value.permanent
