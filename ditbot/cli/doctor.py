"""`ditbot doctor`: checks what ditbot needs and says, in plain words, what is wrong.

Settings, database (reachable, migrated), SMTP (connect, EHLO, NOOP), the Slack token
(auth.test), the two notification channels (exist, the bot is a member) and the last delivery
errors. It changes nothing (it does not even migrate) and exits 1 when something is wrong.
"""

from __future__ import annotations

import argparse
import smtplib
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from ditbot.core.settings import HOW_TO_GET, Settings
from storage.vocabulary import OutboxStatus

Level = Literal["ok", "warn", "fail"]
TIMEOUT = 10
RECENT = timedelta(days=7)
MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


@dataclass(frozen=True)
class Finding:
    """One line of the report."""

    level: Level
    area: str
    text: str


def check_settings(settings: Settings) -> Iterator[Finding]:
    def missing(name: str, why: str) -> Finding:
        return Finding("fail", "settings", f"{name} is not set ({why}): {HOW_TO_GET[name]}.")

    if not settings.slack_bot_token:
        yield missing("SLACK_BOT_TOKEN", "ditbot cannot talk to Slack")
    if not settings.slack_signing_secret and not settings.slack_app_token:
        yield missing("SLACK_SIGNING_SECRET", "needed by `ditbot serve` in HTTP mode")
    if not settings.portal_secret:
        yield missing("DITBOT_PORTAL_SECRET", "portal links and webhook need it")
    if not settings.mail_from:
        yield missing("DITBOT_MAIL_FROM", "no mail can be sent without it")
    if not settings.api_token:
        yield Finding("warn", "settings", "DITBOT_API_TOKEN is not set: the REST API is off.")
    for name, value, what in (
        ("DITBOT_CHANNEL_PORTAL", settings.channel_portal, "portal messages"),
        ("DITBOT_CHANNEL_RELANCES", settings.channel_relances, "relances"),
    ):
        if not value:
            yield Finding("warn", "settings", f"{name} is not set: {what} are not posted to Slack.")
    if "localhost" in settings.public_url or "127.0.0.1" in settings.public_url:
        yield Finding(
            "warn",
            "settings",
            f"DITBOT_PUBLIC_URL is {settings.public_url}: portal links in mails will only work "
            "on this machine. Set it to the address clients can reach.",
        )
    yield Finding("ok", "settings", "Settings read (environment and .env).")


def check_database(settings: Settings) -> Iterator[Finding]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import Database, alembic_config

    database = Database(settings.database_url)
    try:
        try:
            with database.engine.connect() as connection:
                current = set(MigrationContext.configure(connection).get_current_heads())
        except SQLAlchemyError as error:
            yield Finding(
                "fail",
                "database",
                f"The database at {_safe_url(settings.database_url)} does not answer "
                f"({_first_line(error)}). Check DATABASE_URL and that the server runs.",
            )
            return
        expected = set(ScriptDirectory.from_config(alembic_config(database.url)).get_heads())
        if current != expected:
            yield Finding(
                "fail",
                "database",
                "The database is not up to date (migrations missing): run `ditbot db upgrade` "
                "(`ditbot serve` also does it when it starts).",
            )
            return
        yield Finding(
            "ok", "database", f"Database reachable and migrated ({database.engine.dialect.name})."
        )
        yield from check_deliveries(database)
    finally:
        database.dispose()


def check_mailbox(
    settings: Settings, timeout: float = TIMEOUT, ssl_context: ssl.SSLContext | None = None
) -> Iterator[Finding]:
    """The IMAP mailbox `ditbot serve` reads: login, folder, how many messages wait."""
    if not settings.imap_host:
        if settings.mail_reply_to:
            yield Finding(
                "warn",
                "mail",
                "DITBOT_MAIL_REPLY_TO is set but IMAP_HOST is not: replies come back only if "
                "your mail server pipes them to `ditbot mail receive`.",
            )
        return
    from ditbot.mail.collector import NETWORK_ERRORS, Mailbox, MailboxProblem, count_waiting

    mailbox = Mailbox.from_settings(settings)
    try:
        waiting = count_waiting(mailbox, ssl_context=ssl_context, timeout=timeout)
    except MailboxProblem as problem:
        yield Finding("fail", "mail", f"Mailbox {mailbox.where}: {problem}.")
        return
    except NETWORK_ERRORS as error:
        yield Finding(
            "fail",
            "mail",
            f"Mailbox {mailbox.where} does not answer ({_first_line(error)}): check IMAP_HOST, "
            "IMAP_PORT and IMAP_SECURITY.",
        )
        return
    handled = f"moved to {mailbox.move_to}" if mailbox.move_to else "flagged as seen"
    yield Finding(
        "ok",
        "mail",
        f"Mailbox {mailbox.where} read: {waiting} {'message' if waiting == 1 else 'messages'} "
        f"waiting; handled ones are {handled}.",
    )
    if settings.imap_security == "none":
        yield Finding(
            "warn",
            "mail",
            "IMAP_SECURITY=none: the mailbox password and the mails travel in clear.",
        )


def check_smtp(settings: Settings, timeout: float = TIMEOUT) -> Iterator[Finding]:
    from ditbot.mail.smtp import cleartext_login

    where = f"{settings.smtp_host}:{settings.smtp_port}"
    plain = cleartext_login(settings)
    if plain is not None:
        yield Finding("warn", "smtp", plain)
    try:
        server: smtplib.SMTP
        if settings.smtp_security == "tls":
            server = smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=timeout,
                context=ssl.create_default_context(),
            )
        else:
            server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
        with server:
            server.ehlo()
            if settings.smtp_security == "starttls":
                server.starttls(context=ssl.create_default_context())
                server.ehlo()
            if settings.smtp_username:
                server.login(settings.smtp_username, settings.smtp_password or "")
            code, _message = server.noop()
            if code != 250:
                yield Finding(
                    "fail", "smtp", f"The SMTP server at {where} answered NOOP with {code}."
                )
                return
    except smtplib.SMTPAuthenticationError:
        yield Finding(
            "fail", "smtp", f"The SMTP server at {where} refused SMTP_USERNAME/SMTP_PASSWORD."
        )
        return
    except (OSError, smtplib.SMTPException, ssl.SSLError) as error:
        yield Finding(
            "fail",
            "smtp",
            f"Cannot talk to the SMTP server at {where} ({_first_line(error)}). Check SMTP_HOST, "
            "SMTP_PORT and SMTP_SECURITY.",
        )
        return
    login = " and logged in" if settings.smtp_username else ""
    yield Finding("ok", "smtp", f"SMTP server at {where} answers{login}.")


def slack_client(settings: Settings) -> Any:
    from slack_sdk import WebClient

    return WebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=TIMEOUT
    )


# What Slack answers when the token itself is refused (anything else is Slack not answering).
TOKEN_REFUSED = {
    "account_inactive",
    "invalid_auth",
    "not_allowed_token_type",
    "not_authed",
    "token_expired",
    "token_revoked",
}
STILL_STARTS = (
    "`ditbot serve` still starts (portal, REST API, mail) and connects to Slack when it answers"
)


def check_slack(settings: Settings, client: Any | None = None) -> Iterator[Finding]:
    from slack_sdk.errors import SlackApiError

    if not settings.slack_bot_token:
        return
    client = client or slack_client(settings)
    try:
        identity = client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error", "error")
        if code in TOKEN_REFUSED:
            yield Finding(
                "fail",
                "slack",
                f"Slack refused the bot token ({code}): copy the Bot User OAuth Token again "
                "(OAuth & Permissions) into SLACK_BOT_TOKEN; reinstall the app if it was "
                "revoked.",
            )
        else:
            yield _slack_down(settings, f"{code}, HTTP {error.response.status_code}")
        return
    except OSError as error:
        yield _slack_down(settings, _first_line(getattr(error, "reason", None) or error))
        return
    yield Finding(
        "ok",
        "slack",
        f"Slack token works: bot {identity.get('user')} in workspace {identity.get('team')}.",
    )
    if settings.slack_app_token:
        yield check_socket_mode(client, settings)
    for name, channel in (
        ("DITBOT_CHANNEL_PORTAL", settings.channel_portal),
        ("DITBOT_CHANNEL_RELANCES", settings.channel_relances),
    ):
        if channel:
            yield check_channel(client, name, channel)


def _slack_down(settings: Settings, reason: str) -> Finding:
    return Finding(
        "fail",
        "slack",
        f"Slack does not answer at {settings.slack_api_url} ({reason}): {STILL_STARTS}; "
        "check this machine's way out to Slack (proxy, firewall, DNS).",
    )


def check_socket_mode(client: Any, settings: Settings) -> Finding:
    """SLACK_APP_TOKEN opens Socket Mode connections (apps.connections.open issues a URL)."""
    from slack_sdk.errors import SlackApiError

    try:
        client.apps_connections_open(app_token=settings.slack_app_token)
    except SlackApiError as error:
        code = error.response.get("error", "error")
        if code in TOKEN_REFUSED:
            return Finding(
                "fail",
                "slack",
                f"Slack refused SLACK_APP_TOKEN ({code}): create an App-Level Token with "
                "connections:write (Basic Information) and enable Socket Mode.",
            )
        return Finding(
            "fail",
            "slack",
            f"Slack does not open Socket Mode connections ({code}, HTTP "
            f"{error.response.status_code}): {STILL_STARTS}.",
        )
    except OSError as error:
        return _slack_down(settings, _first_line(getattr(error, "reason", None) or error))
    return Finding("ok", "slack", "SLACK_APP_TOKEN opens Socket Mode connections.")


def check_channel(client: Any, name: str, channel: str) -> Finding:
    from slack_sdk.errors import SlackApiError

    try:
        info = client.conversations_info(channel=channel)["channel"]
    except SlackApiError as error:
        code = error.response.get("error", "error")
        advice = {
            "channel_not_found": "no such channel, or a private channel the bot was not "
            "invited to: check the id (channel details > About) and invite the bot",
            "missing_scope": "the app lacks the channels:read (or groups:read) scope",
        }.get(code, "Slack refused to describe it")
        return Finding("fail", "slack", f"{name}={channel}: {code} ({advice}).")
    except OSError as error:
        return Finding("fail", "slack", f"{name}={channel}: Slack does not answer ({error}).")
    label = f"#{info.get('name', channel)}"
    if info.get("is_archived"):
        return Finding("fail", "slack", f"{name}={channel} ({label}) is archived: pick another.")
    if not info.get("is_member"):
        return Finding(
            "fail",
            "slack",
            f"{name}={channel} ({label}): the bot is not a member; type `/invite @ditbot` in "
            f"{label}.",
        )
    return Finding("ok", "slack", f"{name}={channel} ({label}) exists and the bot is a member.")


def check_deliveries(database: Any) -> Iterator[Finding]:
    """Lanes whose last delivery failed, and items given up on, or retrying, lately."""
    from storage.outbox import lane_errors, recent_failures
    from storage.types import utcnow

    since = utcnow() - RECENT
    clean = True
    with database.session() as session:
        for lane in lane_errors(session):
            clean = False
            when = _when(lane.last_error_at)
            yield Finding("fail", "delivery", f"Lane {lane.lane} failed{when}: {lane.last_error}")
        for item in recent_failures(session, limit=20):
            what = f"{item.kind} #{item.id}" + (f" ({item.lane})" if item.lane else "")
            error = _first_line(item.last_error or "")
            if item.status == OutboxStatus.FAILED and (
                item.done_at is None or item.done_at >= since
            ):
                clean = False
                yield Finding(
                    "fail", "delivery", f"{what} was given up{_when(item.done_at)}: {error}"
                )
            elif item.status == OutboxStatus.PENDING:
                clean = False
                yield Finding(
                    "warn",
                    "delivery",
                    f"{what} is being retried (attempt {item.attempts}): {error}",
                )
    if clean:
        yield Finding("ok", "delivery", "No recent delivery error.")


def run_checks(
    settings: Settings, *, slack: Any | None = None, smtp_timeout: float = TIMEOUT
) -> list[Finding]:
    checks: list[Callable[[], Iterator[Finding]]] = [
        lambda: check_settings(settings),
        lambda: check_database(settings),
        lambda: check_smtp(settings, smtp_timeout),
        lambda: check_slack(settings, slack),
        lambda: check_mailbox(settings),
    ]
    return [finding for check in checks for finding in check()]


def report(findings: list[Finding]) -> tuple[str, int]:
    """The text to print and the exit code (1 when anything failed)."""
    lines = [f"{MARKS[f.level]}  {f.area:<9} {f.text}" for f in findings]
    failures = sum(1 for f in findings if f.level == "fail")
    if failures:
        problems = "problem" if failures == 1 else "problems"
        lines.append(f"{failures} {problems} found: fix the FAIL lines above.")
    else:
        lines.append("Everything ditbot needs is in place.")
    return "\n".join(lines), 1 if failures else 0


def cmd_doctor(args: argparse.Namespace) -> int:
    text, code = report(run_checks(args.settings))
    print(text)
    return code


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Declare `doctor` on the `ditbot` command."""
    doctor = commands.add_parser(
        "doctor", help="check settings, database, SMTP, Slack token and channels, deliveries"
    )
    doctor.set_defaults(run=cmd_doctor)


def _first_line(error: object) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


def _when(value: Any) -> str:
    return f" at {value:%Y-%m-%d %H:%M} UTC" if value is not None else ""


def _safe_url(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # unparsable: say nothing of it rather than leak it
        return "DATABASE_URL"
