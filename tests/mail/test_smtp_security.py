"""SMTP_SECURITY none / starttls / tls and SMTP auth, against a real aiosmtpd with TLS."""

from __future__ import annotations

import ssl
from email.message import EmailMessage

import pytest
import trustme

from ditbot.mail.smtp import DeliveryFailed, SmtpSender
from tests.mail.smtp_server import SmtpServer


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A throwaway certificate authority, trusted only where a test says so."""
    return trustme.CA()


@pytest.fixture(scope="module")
def certificate(ca: trustme.CA) -> trustme.LeafCert:
    """A server certificate for 127.0.0.1 and localhost, issued by `ca`."""
    return ca.issue_cert("127.0.0.1", "localhost")


def server_context(certificate: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    return context


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts `ca` and nothing else."""
    return ssl.create_default_context(cadata=ca.cert_pem.bytes().decode("ascii"))


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


def test_starttls_with_auth(ca: trustme.CA, certificate: trustme.LeafCert) -> None:
    server = SmtpServer(tls_context=server_context(certificate), users={"sav": "s3cret"})
    with server:
        sender = SmtpSender(
            server.host,
            server.port,
            security="starttls",
            username="sav",
            password="s3cret",
            ssl_context=trusting(ca),
        )
        sender.send(message(), "sav@sav.example", ["p.martin@acme.example"])
        server.wait_for(1)
    assert server.logins == ["sav"]


def test_implicit_tls(ca: trustme.CA, certificate: trustme.LeafCert) -> None:
    with SmtpServer(implicit_tls=server_context(certificate)) as server:
        sender = SmtpSender(server.host, server.port, security="tls", ssl_context=trusting(ca))
        sender.send(message(), "sav@sav.example", ["p.martin@acme.example"])
        assert len(server.wait_for(1)) == 1


def test_a_wrong_password_is_kept_for_retry_not_failed_for_good(
    ca: trustme.CA,
    certificate: trustme.LeafCert,
) -> None:
    server = SmtpServer(tls_context=server_context(certificate), users={"sav": "s3cret"})
    with server:
        sender = SmtpSender(
            server.host,
            server.port,
            security="starttls",
            username="sav",
            password="wrong",
            ssl_context=trusting(ca),
        )
        with pytest.raises(DeliveryFailed) as caught:
            sender.send(message(), "sav@sav.example", ["p.martin@acme.example"])
    assert caught.value.code == 535 and not caught.value.permanent
    assert server.received == []


def test_an_untrusted_certificate_is_refused(certificate: trustme.LeafCert) -> None:
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
