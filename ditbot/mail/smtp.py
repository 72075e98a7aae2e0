"""Hand one message to the SMTP server (SMTP_SECURITY none / starttls / tls, optional auth).

Every failure comes back as `DeliveryFailed`, classified: `permanent` when retrying cannot
help (a 5xx answer such as 550 unknown recipient), temporary otherwise (connection refused,
timeouts, 4xx answers such as 451, a dropped connection).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

from ditbot.core.i18n import Text, _
from ditbot.core.settings import Settings

DEFAULT_TIMEOUT = 30.0
# Authentication or TLS problems are the admin's to fix; queued mails should survive the fix.
CONFIGURATION_CODES = {530, 534, 535, 538}


def cleartext_login(settings: Settings) -> Text | None:
    """The warning to give when SMTP AUTH would run without TLS, or None.

    smtplib logs in over a plain connection as readily as over TLS: with SMTP_SECURITY=none
    the login and the password cross the network readable by anyone on the way.
    """
    if not settings.smtp_username or settings.smtp_security != "none":
        return None
    text = _(
        "SMTP_USERNAME is set with SMTP_SECURITY=none: ditbot logs in to {where} without TLS, "
        "so the SMTP password crosses the network in clear. Set SMTP_SECURITY=starttls "
        "(usually port 587) or tls (port 465)."
    )
    return Text(text, where=f"{settings.smtp_host}:{settings.smtp_port}")


class DeliveryFailed(Exception):
    """The server did not take the message; `reason` is what it said (or what went wrong)."""

    def __init__(self, reason: str, *, permanent: bool, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.code = code


@dataclass
class SmtpSender:
    """Opens one SMTP session per message; thread-safe because it keeps no connection."""

    host: str = "localhost"
    port: int = 25
    security: str = "none"
    username: str | None = None
    password: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    ssl_context: ssl.SSLContext | None = None
    local_hostname: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> SmtpSender:
        values: dict[str, object] = {
            "host": settings.smtp_host,
            "port": settings.smtp_port,
            "security": settings.smtp_security,
            "username": settings.smtp_username,
            "password": settings.smtp_password,
            "local_hostname": settings.smtp_ehlo_name,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                timeout=self.timeout,
                context=self._context(),
                local_hostname=self.local_hostname,
            )
        smtp = smtplib.SMTP(
            self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname
        )
        if self.security == "starttls":
            smtp.ehlo()
            smtp.starttls(context=self._context())
            smtp.ehlo()
        return smtp

    def send(self, message: EmailMessage, envelope_from: str, recipients: list[str]) -> None:
        """Deliver `message` or raise DeliveryFailed."""
        try:
            smtp = self._connect()
        except smtplib.SMTPResponseException as error:
            raise _classified(error.smtp_code, error.smtp_error) from error
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryFailed(_describe(error, self.host, self.port), permanent=False) from error
        try:
            if self.username:
                smtp.login(self.username, self.password or "")
            refused = smtp.sendmail(envelope_from, recipients, wire_bytes(message))
            if refused:  # some, not all, recipients refused: report the first
                code, text = next(iter(refused.values()))
                raise _classified(code, text)
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()))
            raise _classified(code, text) from error
        except smtplib.SMTPResponseException as error:
            raise _classified(error.smtp_code, error.smtp_error) from error
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryFailed(_describe(error, self.host, self.port), permanent=False) from error
        finally:
            _quit(smtp)


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as it goes on the wire: CRLF line ends, and lines starting with "From "
    left as they are. (`smtplib.send_message` flattens with mbox's mangling, so a body line
    "From Paris, ..." would reach the client as ">From Paris, ...".)"""
    return message.as_bytes(policy=SMTP_POLICY)


def _classified(code: int, text: bytes | str) -> DeliveryFailed:
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    reason = f"{code} {said}".strip()
    permanent = 500 <= code < 600 and code not in CONFIGURATION_CODES
    return DeliveryFailed(reason, permanent=permanent, code=code)


def _describe(error: BaseException, host: str, port: int) -> str:
    detail = str(error) or type(error).__name__
    if isinstance(error, ConnectionRefusedError):
        return f"connection refused by {host}:{port}"
    if isinstance(error, TimeoutError):
        return f"no answer from {host}:{port} in time ({detail})"
    return f"{type(error).__name__}: {detail} ({host}:{port})"


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()
