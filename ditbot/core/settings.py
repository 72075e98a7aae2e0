"""Settings from the environment and a `.env` file (CONTRACT.md section 2), with pydantic-settings.

Each field names its variable (`validation_alias`) and says how to get it (`description`). Every
problem is collected, so that one run names every bad or missing variable at once.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping, Sequence
from datetime import time
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from dotenv import dotenv_values
from pydantic import AfterValidator, BeforeValidator, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ditbot.core import working_time
from ditbot.core.credentials import GENERATE, MIN_SECRET_LENGTH, published
from ditbot.core.i18n import Text, _
from ditbot.core.working_time import CalendarError

_DOTENV = Path(".env")
SLACK_HOOKS = "https://hooks.slack.com/"


class SettingsError(Exception):
    """One or more settings are missing or invalid; `problems` names each of them (English),
    `said(locale)` says them in a language."""

    def __init__(self, problems: list[Text]) -> None:
        self.texts = problems
        self.problems = [str(problem) for problem in problems]
        super().__init__("\n".join(self.problems))

    def said(self, locale: str) -> list[str]:
        """Each problem in `locale`."""
        return [problem.say(locale) for problem in self.texts]


def _invalid(reason: Text, *, secret: bool = False, shown: object = None) -> PydanticCustomError:
    """A problem told as `NAME='value' reason.` (`shown` replaces the value), or `NAME reason.`."""
    context: dict[str, object] = {"reason": reason}
    if shown is not None:
        context["shown"] = shown
    return PydanticCustomError("invalid_secret" if secret else "invalid", "{reason}", context)


def _prefixed(prefix: str, what: str) -> AfterValidator:
    def check(value: str | None) -> str | None:
        if value and not value.startswith(prefix):
            raise _invalid(
                Text(_("must start with '{prefix}' ({what})"), prefix=prefix, what=Text(what)),
                secret=True,
            )
        return value

    return AfterValidator(check)


def _secret(how: Text, *, key: str | None = None) -> AfterValidator:
    """A secret that is not an example published with ditbot; a `key` (an API token, an HMAC
    key) also has at least MIN_SECRET_LENGTH characters. `how` says how to get a good one."""

    def check(value: str | None) -> str | None:
        if not value:
            return value
        where = published(value)
        if where is not None:
            raise _invalid(
                Text(
                    _("is the example value of {where}, which anyone can read: {how}"),
                    where=where,
                    how=how,
                ),
                secret=True,
            )
        if key is not None and len(value) < MIN_SECRET_LENGTH:
            raise _invalid(
                Text(
                    _(
                        "is too short: {length} characters, where {key} needs at least "
                        "{least}: {how}"
                    ),
                    length=len(value),
                    key=Text(key),
                    least=MIN_SECRET_LENGTH,
                    how=how,
                ),
                secret=True,
            )
        return value

    return AfterValidator(check)


_GENERATE_ONE = Text(_("generate one with `{command}`"), command=GENERATE)


def _whole(low: int, high: int) -> BeforeValidator:
    """A whole number from `low` to `high`, as `int()` reads it (so `4000.0` is refused)."""

    def parse(value: object) -> object:
        if isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                raise _invalid(Text(_("is not a whole number"))) from None
        if isinstance(value, int) and not low <= value <= high:
            raise _invalid(
                Text(_("must be between {low} and {high}"), low=low, high=high), shown=value
            )
        return value

    return BeforeValidator(parse)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _http_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise _invalid(Text(_("is not an http(s) URL")))
    return value


def _database_url(value: str) -> str:
    if not re.match(r"^[a-z0-9+]+://", value):
        raise _invalid(
            Text(
                _(
                    "is not a database URL, e.g. sqlite:///ditbot.db or postgresql+psycopg://user@host/db"
                )
            )
        )
    url = normalize_database_url(value)
    if url.startswith("postgresql+psycopg") and importlib.util.find_spec("psycopg") is None:
        raise _invalid(
            Text(
                _(
                    "needs the PostgreSQL driver, which is not installed: "
                    "pip install 'ditbot[postgres]'"
                )
            )
        )
    return url


def _channel_id(value: str | None) -> str | None:
    if value and not re.fullmatch(r"[CGD][A-Z0-9]{2,}", value):
        raise _invalid(
            Text(
                _(
                    "must be a channel id such as C0123ABCD "
                    "(channel details > About, at the bottom), not a channel name"
                )
            )
        )
    return value


def _address(value: str | None) -> str | None:
    if value and "@" not in parseaddr(value)[1]:
        raise _invalid(Text(_("is not an address, e.g. 'DIT <sav@example.com>'")))
    return value


def _host_name(value: str | None) -> str | None:
    if value and not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?", value):
        raise _invalid(Text(_("is not a host name, e.g. mail.example.com")))
    return value


def _reply_template(value: str | None) -> str | None:
    if not value:
        return value
    local, _at, domain = value.partition("@")
    if value.count("{token}") != 1 or "{token}" not in local or "." not in domain:
        raise _invalid(
            Text(
                _("must be an address with {token} before the @, e.g. sav+{token}@example.com"),
                token="{token}",
            )
        )
    if not re.fullmatch(r"[A-Za-z0-9.!#$%&'*+/=?^_`|~-]*", local.replace("{token}", "")):
        raise _invalid(Text(_("has characters an address cannot hold before the @")))
    return value


def _calendar_check(parse: Any) -> Any:
    def check(value: str) -> str:
        try:
            parse(value)
        except CalendarError as error:
            raise _invalid(error.reason) from None
        return value

    return check


def _zone(value: str) -> str:
    return str(_calendar_check(working_time.parse_zone)(value))


def _working_days(value: str) -> str:
    return str(_calendar_check(working_time.parse_days)(value))


def _working_hours(value: str) -> str:
    return str(_calendar_check(working_time.parse_hours)(value))


def parse_digest_at(text: str) -> tuple[int, time] | None:
    """`mon 08:30` as (weekday, Monday 0; time), in the company's zone; None when empty (off)."""
    if not text.strip():
        return None
    match = re.fullmatch(r"\s*([a-zA-Z]{3})\s+(\d{1,2}):(\d{2})\s*", text)
    day = match.group(1).lower() if match else ""
    if not match or day not in working_time.DAY_NAMES:
        raise CalendarError(_("must be a day and a time such as mon 08:30 (empty: no digest)"))
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise CalendarError(_("must be a day and a time such as mon 08:30 (empty: no digest)"))
    return working_time.DAY_NAMES.index(day), time(hour, minute)


def _digest_at(value: str) -> str:
    return str(_calendar_check(parse_digest_at)(value))


def _holiday_country(value: str) -> str:
    return str(_calendar_check(working_time.parse_holidays)(value))


def _hours() -> BeforeValidator:
    """A number of hours, more than 0 and at most a year (`1.5` is an hour and a half)."""

    def parse(value: object) -> object:
        if isinstance(value, str):
            try:
                value = float(value.replace(",", "."))
            except ValueError:
                raise _invalid(Text(_("is not a number of hours, e.g. 4 or 1.5"))) from None
        if isinstance(value, int | float) and not 0 < value <= 24 * 366:
            raise _invalid(Text(_("must be more than 0 and at most 8784 hours")), shown=value)
        return value

    return BeforeValidator(parse)


def _yes_no(value: object) -> object:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "yes", "true", "on", "oui"):
            return True
        if lowered in ("0", "no", "false", "off", "non"):
            return False
        raise _invalid(Text(_("must be yes or no")))
    return value


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _without_slash(url: str) -> str:
    return url.rstrip("/")


class _LiteralDotEnv(DotEnvSettingsSource):
    """The `.env` file as written: no `${VAR}` expansion, so a password with `${` stays whole."""

    def _read_env_file(self, file_path: Path) -> Mapping[str, str | None]:
        return dotenv_values(file_path, encoding=self.env_file_encoding, interpolate=False)


_ChannelId = Annotated[str | None, AfterValidator(_channel_id)]
_HttpUrl = Annotated[str, AfterValidator(_http_url)]


class Settings(BaseSettings):
    """Every setting of CONTRACT.md section 2, already parsed: read them with `from_env()`."""

    model_config = SettingsConfigDict(
        env_file_encoding="utf-8-sig",  # -sig: Notepad's BOM
        case_sensitive=True,
        extra="ignore",
        frozen=True,
    )

    slack_bot_token: Annotated[
        str | None,
        _prefixed("xoxb-", _("the Bot User OAuth Token")),
        _secret(
            Text(_("copy the Bot User OAuth Token under OAuth & Permissions of your Slack app"))
        ),
    ] = Field(
        None,
        validation_alias="SLACK_BOT_TOKEN",
        description=_(
            "the Bot User OAuth Token (xoxb-...) under OAuth & Permissions of your Slack app"
        ),
    )
    slack_signing_secret: Annotated[
        str | None,
        _secret(
            Text(
                _(
                    "copy the Signing Secret under Basic Information of your Slack app "
                    "(32 hexadecimal characters)"
                )
            ),
            key=_("a signing secret"),
        ),
    ] = Field(
        None,
        validation_alias="SLACK_SIGNING_SECRET",
        description=_("the Signing Secret under Basic Information of your Slack app"),
    )
    slack_app_token: Annotated[
        str | None,
        _prefixed("xapp-", _("an App-Level Token")),
        _secret(
            Text(_("create an App-Level Token with connections:write under Basic Information"))
        ),
    ] = Field(
        None,
        validation_alias="SLACK_APP_TOKEN",
        description=_(
            "an App-Level Token (xapp-...) with connections:write, under Basic Information"
        ),
    )
    slack_api_url: Annotated[_HttpUrl, AfterValidator(_with_slash)] = Field(
        "https://slack.com/api/",
        validation_alias="SLACK_API_URL",
        description=_("the base URL of the Slack Web API (tests point it at a local fake)"),
    )
    database_url: Annotated[str, AfterValidator(_database_url)] = Field(
        "sqlite:///ditbot.db",
        validation_alias="DATABASE_URL",
        description=_("any SQLAlchemy URL, e.g. sqlite:///ditbot.db or postgresql://user@host/db"),
    )
    host: str = Field(
        "127.0.0.1",
        validation_alias="DITBOT_HOST",
        description=_("the address the HTTP server listens on"),
    )
    port: Annotated[int, _whole(0, 65535)] = Field(
        3000, validation_alias="DITBOT_PORT", description=_("the port the HTTP server listens on")
    )
    public_url: Annotated[_HttpUrl, AfterValidator(_without_slash)] = Field(
        "http://localhost:3000",
        validation_alias="DITBOT_PUBLIC_URL",
        description=_("the address clients reach ditbot at: the base of the portal links in mails"),
    )
    api_token: Annotated[str | None, _secret(_GENERATE_ONE, key=_("an API token"))] = Field(
        None,
        validation_alias="DITBOT_API_TOKEN",
        description=_(
            "the bearer token of the REST API (`/api/v1/*`), off while this is unset; "
            "generate one with `{command}`"
        ),
    )
    portal_secret: Annotated[str | None, _secret(_GENERATE_ONE, key=_("an HMAC key"))] = Field(
        None,
        validation_alias="DITBOT_PORTAL_SECRET",
        description=_(
            "a random key that signs portal links and webhooks; generate one with `{command}`"
        ),
    )
    channel_portal: _ChannelId = Field(
        None,
        validation_alias="DITBOT_CHANNEL_PORTAL",
        description=_("the id of the channel for portal messages (channel details > About)"),
    )
    channel_relances: _ChannelId = Field(
        None,
        validation_alias="DITBOT_CHANNEL_RELANCES",
        description=_("the id of the managers' channel for relances (channel details > About)"),
    )
    locale: Annotated[Literal["fr", "en"], BeforeValidator(_lower)] = Field(
        "fr",
        validation_alias="DITBOT_LOCALE",
        description=_("the default language, fr or en (a user's Slack locale wins)"),
    )
    mail_from: Annotated[str | None, AfterValidator(_address)] = Field(
        None,
        validation_alias="DITBOT_MAIL_FROM",
        description=_("the sender address of your mails, e.g. `DIT <sav@example.com>`"),
    )
    smtp_host: str = Field(
        "localhost", validation_alias="SMTP_HOST", description=_("the SMTP server")
    )
    smtp_port: Annotated[int, _whole(1, 65535)] = Field(
        25, validation_alias="SMTP_PORT", description=_("the port of the SMTP server")
    )
    smtp_username: str | None = Field(
        None, validation_alias="SMTP_USERNAME", description=_("the SMTP login, if any")
    )
    smtp_password: Annotated[str | None, _secret(Text(_("set the password of SMTP_USERNAME")))] = (
        Field(None, validation_alias="SMTP_PASSWORD", description=_("the SMTP password, if any"))
    )
    smtp_security: Annotated[Literal["none", "starttls", "tls"], BeforeValidator(_lower)] = Field(
        "none", validation_alias="SMTP_SECURITY", description=_("none, starttls or tls")
    )
    smtp_ehlo_name: Annotated[str | None, AfterValidator(_host_name)] = Field(
        None,
        validation_alias="SMTP_EHLO_NAME",
        description=_(
            "the name ditbot gives in SMTP EHLO, e.g. mail.example.com (default: this "
            "machine's name); some servers refuse a name that is not a public host name"
        ),
    )
    mail_reply_to: Annotated[str | None, AfterValidator(_reply_template)] = Field(
        None,
        validation_alias="DITBOT_MAIL_REPLY_TO",
        description=_(
            "the reply address of the mails, with {token} where ditbot puts the signed DIT "
            "token, e.g. `sav+{token}@example.com` (plus-addressing) or "
            "`dit-{token}@reply.example.com` (a catch-all); the mailbox ditbot reads"
        ),
    )
    mail_store_dir: str = Field(
        "mail-store",
        validation_alias="DITBOT_MAIL_STORE",
        description=_("the folder where received attachments and set-aside messages are kept"),
    )
    imap_host: str | None = Field(
        None,
        validation_alias="IMAP_HOST",
        description=_("the IMAP server whose mailbox ditbot serve reads (unset: no collector)"),
    )
    imap_port: Annotated[int | None, _whole(1, 65535)] = Field(
        None,
        validation_alias="IMAP_PORT",
        description=_("the IMAP port (default 993 with IMAP_SECURITY=tls, else 143)"),
    )
    imap_security: Annotated[Literal["none", "starttls", "tls"], BeforeValidator(_lower)] = Field(
        "tls", validation_alias="IMAP_SECURITY", description=_("tls (IMAPS), starttls or none")
    )
    imap_username: str | None = Field(
        None, validation_alias="IMAP_USERNAME", description=_("the IMAP login")
    )
    imap_password: str | None = Field(
        None, validation_alias="IMAP_PASSWORD", description=_("the IMAP password")
    )
    imap_folder: str = Field(
        "INBOX", validation_alias="IMAP_FOLDER", description=_("the folder ditbot reads")
    )
    imap_move_to: str | None = Field(
        None,
        validation_alias="IMAP_MOVE_TO",
        description=_(
            "a folder where handled messages are moved (unset: they stay, flagged \\Seen, "
            "and only unseen messages are read)"
        ),
    )
    imap_poll_seconds: Annotated[int, _whole(5, 86400)] = Field(
        60,
        validation_alias="IMAP_POLL_SECONDS",
        description=_(
            "how often the mailbox is read when the server has no IDLE (and at most "
            "how long an IDLE waits)"
        ),
    )
    mail_templates_dir: str | None = Field(
        None,
        validation_alias="DITBOT_MAIL_TEMPLATES",
        description=_("a folder whose templates override those of ditbot/mail/templates/"),
    )
    portal_window_days: Annotated[int, _whole(0, 3650)] = Field(
        7,
        validation_alias="DITBOT_PORTAL_WINDOW_DAYS",
        description=_("the days a finished or closed DIT still accepts portal messages"),
    )
    portal_link_days: Annotated[int, _whole(1, 3650)] = Field(
        30,
        validation_alias="DITBOT_PORTAL_LINK_DAYS",
        description=_("the lifetime of a portal link, in days"),
    )
    relance_after_hours: Annotated[float, _whole(1, 24 * 365)] = Field(
        24.0,
        validation_alias="DITBOT_RELANCE_AFTER_HOURS",
        description=_("the hours after which a client message on an unanswered one is a relance"),
    )

    # -- response timers, reminders, escalation, digest (issue 12) -----------------------
    timezone: Annotated[str, AfterValidator(_zone)] = Field(
        "Europe/Paris",
        validation_alias="DITBOT_TIMEZONE",
        description=_("the company's time zone, e.g. Europe/Paris (working hours are read in it)"),
    )
    working_days: Annotated[str, AfterValidator(_working_days)] = Field(
        "mon-fri",
        validation_alias="DITBOT_WORKING_DAYS",
        description=_("the working days, e.g. mon-fri or mon,tue,wed,thu,fri,sat"),
    )
    working_hours: Annotated[str, AfterValidator(_working_hours)] = Field(
        "08:00-18:00",
        validation_alias="DITBOT_WORKING_HOURS",
        description=_("the opening hours of a working day, e.g. 08:00-18:00 (24:00 for midnight)"),
    )
    holidays: Annotated[str, AfterValidator(_holiday_country)] = Field(
        "FR",
        validation_alias="DITBOT_HOLIDAYS",
        description=_(
            "whose public holidays are days off: a country code (FR), with a subdivision "
            "(DE-BY), or none"
        ),
    )
    target_first_response_hours: Annotated[float, _hours()] = Field(
        4.0,
        validation_alias="DITBOT_TARGET_FIRST_RESPONSE_HOURS",
        description=_("business hours within which a client's first message gets an answer"),
    )
    target_next_response_hours: Annotated[float, _hours()] = Field(
        8.0,
        validation_alias="DITBOT_TARGET_NEXT_RESPONSE_HOURS",
        description=_("business hours within which a client's later messages get an answer"),
    )
    reminder_percent: Annotated[int, _whole(1, 1000)] = Field(
        75,
        validation_alias="DITBOT_REMINDER_PERCENT",
        description=_("the share of the target after which the technician gets a reminder (DM)"),
    )
    escalation_percent: Annotated[int, _whole(1, 1000)] = Field(
        100,
        validation_alias="DITBOT_ESCALATION_PERCENT",
        description=_("the share of the target after which the managers' channel is told"),
    )
    reminders_off_hours: Annotated[bool, BeforeValidator(_yes_no)] = Field(
        False,
        validation_alias="DITBOT_REMINDERS_OFF_HOURS",
        description=_("yes to send reminders and escalations outside working hours too"),
    )
    reminder_scan_seconds: Annotated[int, _whole(1, 3600)] = Field(
        30,
        validation_alias="DITBOT_REMINDER_SCAN_SECONDS",
        description=_("how often ditbot serve looks for waits past their reminder or escalation"),
    )
    digest_at: Annotated[str, AfterValidator(_digest_at)] = Field(
        "",
        validation_alias="DITBOT_DIGEST_AT",
        description=_(
            "when ditbot serve posts the weekly digest, e.g. mon 08:30 (DITBOT_TIMEZONE); "
            "empty: never"
        ),
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The values given only: `from_env()` reads the environment and `.env` (or yours)."""
        return (init_settings,)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        dotenv: Path | None = None,
        required: Sequence[str] = (),
    ) -> Settings:
        """Build settings from `environ` (default: os.environ) over `.env` (default: ./.env).

        `required` names variables the caller needs (see HOW_TO_GET): a missing one is reported
        in the same SettingsError as the invalid ones, so one run names every problem.
        """
        environment = EnvSettingsSource(cls)
        if environ is not None:
            environment.env_vars = dict(environ)
        file = _LiteralDotEnv(cls, env_file=_DOTENV if dotenv is None else dotenv)
        given = _given({**file(), **environment()})  # the environment wins over .env
        problems = [_not_set(name) for name in required if name not in given]
        try:
            settings = cls.model_validate(given)
        except ValidationError as error:
            raise SettingsError(problems + [_problem(e) for e in error.errors()]) from None
        if problems:
            raise SettingsError(problems)
        return settings

    @property
    def response_url_bases(self) -> tuple[str, ...]:
        """Where a Slack `response_url` may point for ditbot to POST to it: Slack's
        `https://hooks.slack.com/`, or the host of SLACK_API_URL (a local fake in tests)."""
        api = urlparse(self.slack_api_url)
        return (SLACK_HOOKS, f"{api.scheme}://{api.netloc}/")

    def require(self, *names: str) -> None:
        """Raise SettingsError naming each variable of `names` that is unset, and how to get it."""
        missing = [_not_set(name) for name in names if not getattr(self, _FIELD_OF[name])]
        if missing:
            raise SettingsError(missing)


def _given(variables: Mapping[str, Any]) -> dict[str, str]:
    """The variables that are set, stripped: a blank one is unset, as if absent."""
    return {
        name: value.strip()
        for name, value in variables.items()
        if isinstance(value, str) and value.strip()
    }


def _variable(field: FieldInfo) -> str:
    assert isinstance(field.validation_alias, str)
    return field.validation_alias


_FIELD_OF = {_variable(field): name for name, field in Settings.model_fields.items()}
HOW_TO_GET = {
    _variable(field): Text(field.description or "", command=GENERATE, token="{token}")
    for field in Settings.model_fields.values()
}


def _not_set(name: str) -> Text:
    return Text(_("{name} is not set: {how}."), name=name, how=HOW_TO_GET[name])


def _problem(error: ErrorDetails) -> Text:
    """One line for one validation error: the variable, its value unless secret, what is wrong."""
    name = str(error["loc"][0])
    context = error.get("ctx", {})
    reason = context.get("reason")
    if not isinstance(reason, Text):
        reason = Text("{said}", said=error["msg"])  # pydantic's own words, in English
    if error["type"] == "invalid_secret":
        return Text(_("{name} {reason}."), name=name, reason=reason)
    if error["type"] == "literal_error":
        reason = Text(_("must be {expected}"), expected=_choices(str(context["expected"])))
    elif error["type"].startswith(("int_", "float_")):
        reason = Text(_("is not a whole number"))
    value = repr(context.get("shown", error["input"]))
    return Text(_("{name}={value} {reason}."), name=name, value=value, reason=reason)


def _choices(expected: str) -> Text | str:
    """pydantic's `'a', 'b' or 'c'` with its `or` in the reader's language."""
    values = re.findall(r"'[^']*'", expected)
    if len(values) < 2:
        return expected
    return Text(_("{some} or {last}"), some=", ".join(values[:-1]), last=values[-1])


def normalize_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain `postgresql://` URLs (the `[postgres]` extra)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
