"""`ditbot doctor`: checks what ditbot needs and says, in plain words, what is wrong.

Settings, database (reachable, migrated), SMTP (connect, EHLO, NOOP), the Slack token
(auth.test), the two notification channels (exist, the bot is a member) and the last delivery
errors. It changes nothing (it does not even migrate) and exits 1 when something is wrong.
"""

from __future__ import annotations

import argparse
import logging
import smtplib
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from ditbot.core.i18n import N_, Text, _, gettext
from ditbot.core.settings import HOW_TO_GET, Settings
from storage.vocabulary import OutboxStatus

Level = Literal["ok", "warn", "fail"]
TIMEOUT = 10
RECENT = timedelta(days=7)
MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


@dataclass(frozen=True)
class Finding:
    """One line of the report, said in the command's language (`text` is the English)."""

    level: Level
    area: str
    said: Text

    @property
    def text(self) -> str:
        return str(self.said)


def check_settings(settings: Settings) -> Iterator[Finding]:
    def missing(name: str, why: str) -> Finding:
        text = Text(
            _("{name} is not set ({why}): {how}."), name=name, why=Text(why), how=HOW_TO_GET[name]
        )
        return Finding("fail", "settings", text)

    if not settings.slack_bot_token:
        yield missing("SLACK_BOT_TOKEN", _("ditbot cannot talk to Slack"))
    if not settings.slack_signing_secret and not settings.slack_app_token:
        yield missing("SLACK_SIGNING_SECRET", _("needed by `ditbot serve` in HTTP mode"))
    if not settings.portal_secret:
        yield missing("DITBOT_PORTAL_SECRET", _("portal links and webhook need it"))
    if not settings.mail_from:
        yield missing("DITBOT_MAIL_FROM", _("no mail can be sent without it"))
    if not settings.api_token:
        yield Finding(
            "warn", "settings", Text(_("DITBOT_API_TOKEN is not set: the REST API is off."))
        )
    if not settings.channel_portal:
        text = _("DITBOT_CHANNEL_PORTAL is not set: portal messages are not posted to Slack.")
        yield Finding("warn", "settings", Text(text))
    if not settings.channel_relances:
        text = _("DITBOT_CHANNEL_RELANCES is not set: relances are not posted to Slack.")
        yield Finding("warn", "settings", Text(text))
    if "localhost" in settings.public_url or "127.0.0.1" in settings.public_url:
        text = _(
            "DITBOT_PUBLIC_URL is {url}: portal links in mails will only work on this machine. "
            "Set it to the address clients can reach."
        )
        yield Finding("warn", "settings", Text(text, url=settings.public_url))
    yield Finding("ok", "settings", Text(_("Settings read (environment and .env).")))


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
            text = _(
                "The database at {url} does not answer ({reason}). Check DATABASE_URL and "
                "that the server runs."
            )
            url, reason = _safe_url(settings.database_url), _first_line(error)
            yield Finding("fail", "database", Text(text, url=url, reason=reason))
            return
        expected = set(ScriptDirectory.from_config(alembic_config(database.url)).get_heads())
        if current != expected:
            text = _(
                "The database is not up to date (migrations missing): run `ditbot db upgrade` "
                "(`ditbot serve` also does it when it starts)."
            )
            yield Finding("fail", "database", Text(text))
            return
        text = _("Database reachable and migrated ({dialect}).")
        yield Finding("ok", "database", Text(text, dialect=database.engine.dialect.name))
        yield from check_deliveries(database)
    finally:
        database.dispose()


def check_mailbox(
    settings: Settings, timeout: float = TIMEOUT, ssl_context: ssl.SSLContext | None = None
) -> Iterator[Finding]:
    """The IMAP mailbox `ditbot serve` reads: login, folder, how many messages wait."""
    if not settings.imap_host:
        if settings.mail_reply_to:
            text = _(
                "DITBOT_MAIL_REPLY_TO is set but IMAP_HOST is not: replies come back only if "
                "your mail server pipes them to `ditbot mail receive`."
            )
            yield Finding("warn", "mail", Text(text))
        return
    from ditbot.mail.collector import NETWORK_ERRORS, Mailbox, MailboxProblem, count_waiting

    mailbox = Mailbox.from_settings(settings)
    try:
        waiting = count_waiting(mailbox, ssl_context=ssl_context, timeout=timeout)
    except MailboxProblem as problem:
        said = Text(_("Mailbox {where}: {problem}."), where=mailbox.where, problem=str(problem))
        yield Finding("fail", "mail", said)
        return
    except NETWORK_ERRORS as error:
        text = _(
            "Mailbox {where} does not answer ({reason}): check IMAP_HOST, IMAP_PORT and "
            "IMAP_SECURITY."
        )
        yield Finding("fail", "mail", Text(text, where=mailbox.where, reason=_first_line(error)))
        return
    handled = (
        Text(_("moved to {folder}"), folder=mailbox.move_to)
        if mailbox.move_to
        else Text(_("flagged as seen"))
    )
    read = N_(
        "Mailbox {where} read: {count} message waiting; handled ones are {handled}.",
        "Mailbox {where} read: {count} messages waiting; handled ones are {handled}.",
    )
    yield Finding("ok", "mail", Text(read, where=mailbox.where, count=waiting, handled=handled))
    if settings.imap_security == "none":
        text = _("IMAP_SECURITY=none: the mailbox password and the mails travel in clear.")
        yield Finding("warn", "mail", Text(text))


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
                text = _("The SMTP server at {where} answered NOOP with {code}.")
                yield Finding("fail", "smtp", Text(text, where=where, code=code))
                return
    except smtplib.SMTPAuthenticationError:
        text = _("The SMTP server at {where} refused SMTP_USERNAME/SMTP_PASSWORD.")
        yield Finding("fail", "smtp", Text(text, where=where))
        return
    except (OSError, smtplib.SMTPException, ssl.SSLError) as error:
        text = _(
            "Cannot talk to the SMTP server at {where} ({reason}). Check SMTP_HOST, SMTP_PORT "
            "and SMTP_SECURITY."
        )
        yield Finding("fail", "smtp", Text(text, where=where, reason=_first_line(error)))
        return
    text = (
        _("SMTP server at {where} answers and logged in.")
        if settings.smtp_username
        else _("SMTP server at {where} answers.")
    )
    yield Finding("ok", "smtp", Text(text, where=where))


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
STILL_STARTS = Text(
    _("`ditbot serve` still starts (portal, REST API, mail) and connects to Slack when it answers")
)


def check_slack(settings: Settings, client: Any | None = None) -> Iterator[Finding]:
    from slack_sdk.errors import SlackApiError

    if not settings.slack_bot_token:
        return
    client = client or slack_client(settings)
    try:
        with _quiet(SLACK_SDK_LOG):  # its own ERROR line would repeat this check's finding
            identity = client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error", "error")
        if code in TOKEN_REFUSED:
            text = _(
                "Slack refused the bot token ({code}): copy the Bot User OAuth Token again "
                "(OAuth & Permissions) into SLACK_BOT_TOKEN; reinstall the app if it was "
                "revoked."
            )
            yield Finding("fail", "slack", Text(text, code=code))
        else:
            yield _slack_down(settings, f"{code}, HTTP {error.response.status_code}")
        return
    except OSError as error:
        yield _slack_down(settings, _first_line(getattr(error, "reason", None) or error))
        return
    text = _("Slack token works: bot {bot} in workspace {team}.")
    yield Finding("ok", "slack", Text(text, bot=identity.get("user"), team=identity.get("team")))
    if settings.slack_app_token:
        with _quiet(SLACK_SDK_LOG):
            socket_mode = check_socket_mode(client, settings)
        yield socket_mode
    for name, channel in (
        ("DITBOT_CHANNEL_PORTAL", settings.channel_portal),
        ("DITBOT_CHANNEL_RELANCES", settings.channel_relances),
    ):
        if channel:
            with _quiet(SLACK_SDK_LOG):
                found = check_channel(client, name, channel)
            yield found


SLACK_SDK_LOG = "slack_sdk.web.base_client"  # the logger `ditbot` sets to WARNING (cli/main.py)


@contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """`logger` says nothing below CRITICAL meanwhile: the finding says it, once."""
    log = logging.getLogger(logger)
    before = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(before)


def _slack_down(settings: Settings, reason: str) -> Finding:
    text = _(
        "Slack does not answer at {url} ({reason}): {still}; check this machine's way out to "
        "Slack (proxy, firewall, DNS)."
    )
    return Finding(
        "fail", "slack", Text(text, url=settings.slack_api_url, reason=reason, still=STILL_STARTS)
    )


def check_socket_mode(client: Any, settings: Settings) -> Finding:
    """SLACK_APP_TOKEN opens Socket Mode connections (apps.connections.open issues a URL)."""
    from slack_sdk.errors import SlackApiError

    try:
        client.apps_connections_open(app_token=settings.slack_app_token)
    except SlackApiError as error:
        code = error.response.get("error", "error")
        if code in TOKEN_REFUSED:
            text = _(
                "Slack refused SLACK_APP_TOKEN ({code}): create an App-Level Token with "
                "connections:write (Basic Information) and enable Socket Mode."
            )
            return Finding("fail", "slack", Text(text, code=code))
        text = _("Slack does not open Socket Mode connections ({code}, HTTP {status}): {still}.")
        status = error.response.status_code
        return Finding("fail", "slack", Text(text, code=code, status=status, still=STILL_STARTS))
    except OSError as error:
        return _slack_down(settings, _first_line(getattr(error, "reason", None) or error))
    return Finding("ok", "slack", Text(_("SLACK_APP_TOKEN opens Socket Mode connections.")))


def check_channel(client: Any, name: str, channel: str) -> Finding:
    from slack_sdk.errors import SlackApiError

    try:
        info = client.conversations_info(channel=channel)["channel"]
    except SlackApiError as error:
        code = error.response.get("error", "error")
        advice = {
            "channel_not_found": _(
                "no such channel, or a private channel the bot was not "
                "invited to: check the id (channel details > About) and invite the bot"
            ),
            "missing_scope": _("the app lacks the channels:read (or groups:read) scope"),
        }.get(code, _("Slack refused to describe it"))
        text = _("{name}={channel}: {code} ({advice}).")
        said = Text(text, name=name, channel=channel, code=code, advice=Text(advice))
        return Finding("fail", "slack", said)
    except OSError as error:
        text = _("{name}={channel}: Slack does not answer ({reason}).")
        return Finding("fail", "slack", Text(text, name=name, channel=channel, reason=str(error)))
    where = {"name": name, "channel": channel, "label": f"#{info.get('name', channel)}"}
    if info.get("is_archived"):
        text = _("{name}={channel} ({label}) is archived: pick another.")
        return Finding("fail", "slack", Text(text, **where))
    if not info.get("is_member"):
        text = _(
            "{name}={channel} ({label}): the bot is not a member; type `/invite @ditbot` in "
            "{label}."
        )
        return Finding("fail", "slack", Text(text, **where))
    text = _("{name}={channel} ({label}) exists and the bot is a member.")
    return Finding("ok", "slack", Text(text, **where))


def check_deliveries(database: Any) -> Iterator[Finding]:
    """Lanes whose last delivery failed, and items given up on, or retrying, lately."""
    from storage.outbox import lane_errors, recent_failures
    from storage.types import utcnow

    since = utcnow() - RECENT
    clean = True
    with database.session() as session:
        for lane in lane_errors(session):
            clean = False
            text = _when(
                lane.last_error_at,
                _("Lane {lane} failed: {error}"),
                _("Lane {lane} failed at {when} UTC: {error}"),
            )
            when = _stamp(lane.last_error_at)
            said = Text(text, lane=lane.lane, when=when, error=lane.last_error)
            yield Finding("fail", "delivery", said)
        for item in recent_failures(session, limit=20):
            what = f"{item.kind} #{item.id}" + (f" ({item.lane})" if item.lane else "")
            error = _first_line(item.last_error or "")
            if item.status == OutboxStatus.FAILED and (
                item.done_at is None or item.done_at >= since
            ):
                clean = False
                text = _when(
                    item.done_at,
                    _("{what} was given up: {error}"),
                    _("{what} was given up at {when} UTC: {error}"),
                )
                said = Text(text, what=what, when=_stamp(item.done_at), error=error)
                yield Finding("fail", "delivery", said)
            elif item.status == OutboxStatus.PENDING:
                clean = False
                text = _("{what} is being retried (attempt {attempt}): {error}")
                said = Text(text, what=what, attempt=item.attempts, error=error)
                yield Finding("warn", "delivery", said)
    if clean:
        yield Finding("ok", "delivery", Text(_("No recent delivery error.")))


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


def report(findings: list[Finding], locale: str = "en") -> tuple[str, int]:
    """The text to print in `locale` and the exit code (1 when anything failed).

    The marks (ok, warn, FAIL) and the areas stay as they are: a script may grep them.
    """
    lines = [f"{MARKS[f.level]}  {f.area:<9} {f.said.say(locale)}" for f in findings]
    failures = sum(1 for f in findings if f.level == "fail")
    if failures:
        found = N_(
            "{count} problem found: fix the FAIL line above.",
            "{count} problems found: fix the FAIL lines above.",
        )
        lines.append(gettext(locale, found, count=failures))
    else:
        lines.append(gettext(locale, _("Everything ditbot needs is in place.")))
    return "\n".join(lines), 1 if failures else 0


def cmd_doctor(args: argparse.Namespace) -> int:
    text, code = report(run_checks(args.settings), args.settings.locale)
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


def _when(value: Any, without: str, with_time: str) -> str:
    """`with_time` (its {when} filled by `_stamp`) when the datetime `value` is known."""
    return with_time if value is not None else without


def _stamp(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else ""


def _safe_url(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # unparsable: say nothing of it rather than leak it
        return "DATABASE_URL"
