"""The `ditbot` command: serve, import, demo, db upgrade, portal-link, doctor, digest."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.exc import OperationalError

from ditbot.cli.common import command_context, locale_of, say
from ditbot.core.i18n import N_, Plural, Text, _, gettext
from ditbot.core.settings import Settings, SettingsError
from ditbot.domain.errors import DomainError, ValidationFailed

EXIT_SETTINGS = 2
EX_TEMPFAIL = 75  # sysexits.h: what `ditbot mail receive` answers an MTA for "try later"
# What the import summary calls each kind of record (the keys of domain.reference.Summary).
KINDS: dict[str, Plural] = {
    "collaborators": N_("{count} collaborator", "{count} collaborators"),
    "teams": N_("{count} team", "{count} teams"),
    "exchange_types": N_("{count} exchange type", "{count} exchange types"),
    "clients": N_("{count} client", "{count} clients"),
    "contacts": N_("{count} contact", "{count} contacts"),
    "dits": N_("{count} DIT", "{count} DITs"),
}


def serve_requires(socket_mode: bool) -> list[str]:
    """The variables `ditbot serve` cannot start without (CONTRACT.md section 2)."""
    needed = ["SLACK_BOT_TOKEN"]
    needed.append("SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET")
    needed.append("DITBOT_PORTAL_SECRET")
    return needed


def cmd_serve(args: argparse.Namespace) -> int:
    from ditbot.cli.http_server import CannotListen
    from ditbot.cli.playground import serve_playground
    from ditbot.cli.serve import serve
    from ditbot.playground.local import NotLoopback

    settings: Settings = args.settings
    try:
        if args.playground:
            serve_playground(settings)
            return 0
        settings.require(*serve_requires(args.socket_mode))
        serve(settings, socket_mode=args.socket_mode)
    except CannotListen as error:
        print(say(args, _("error: {reason}"), reason=error.said), file=sys.stderr)
        return 1
    except NotLoopback as error:
        print(say(args, _("ditbot cannot start: {reason}"), reason=error.said), file=sys.stderr)
        return EXIT_SETTINGS
    return 0


def playground_wanted(args: argparse.Namespace) -> bool:
    """`serve --playground`, or `serve` with no SLACK_BOT_TOKEN (environment or .env)."""
    if args.command != "serve" or args.socket_mode:
        return False
    return bool(args.playground) or not Settings.from_env().slack_bot_token


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    command_context(args)
    print(say(args, _("Database is up to date.")))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from ditbot.cli.import_file import import_file
    from ditbot.domain.validation import JSON_DEPTH_MAX
    from storage.spill import SpillFailed

    path = Path(args.file)
    try:
        with path.open(encoding="utf-8-sig") as stream:
            stream.read(1)  # a missing or unreadable file is said before the database is opened
        ctx = command_context(args)
        summary = import_file(ctx.db, path)
    except SpillFailed as error:  # before the file's errors: this is not the file
        print(
            say(
                args,
                _(
                    "error: the import could not keep its temporary file in {folder} "
                    "({reason}). Free some room there or set TMPDIR to a folder with room, "
                    "then import the same file again (it writes only what is missing)."
                ),
                folder=error.folder,
                reason=error.reason,
            ),
            file=sys.stderr,
        )
        return 1
    except FileNotFoundError:
        print(say(args, _("error: {path} does not exist."), path=path), file=sys.stderr)
        return 1
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return _not_json(args, path, error)
    except OSError as error:  # a folder, no permission...
        reason = error.strerror or error  # the system's words, in the system's language
        print(
            say(args, _("error: cannot read {path}: {reason}."), path=path, reason=reason),
            file=sys.stderr,
        )
        return 1
    except RecursionError:  # the same limit as every body (ditbot/domain/validation.py)
        print(
            say(
                args,
                _("error: {path} is nested more than {depth} levels deep. Nothing was imported."),
                path=path,
                depth=JSON_DEPTH_MAX,
            ),
            file=sys.stderr,
        )
        return 1
    except ValidationFailed as error:
        print(
            say(args, _("error: {path} was not imported, nothing was written:"), path=path),
            file=sys.stderr,
        )
        for message in error.messages(locale_of(args)).values():
            print(f"  - {message}", file=sys.stderr)
        return 1
    print(summary_line(path.name, summary.created, summary.updated, locale_of(args)))
    return 0


def _not_json(
    args: argparse.Namespace, path: Path, error: UnicodeDecodeError | json.JSONDecodeError
) -> int:
    reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)  # Python's
    if isinstance(error, json.JSONDecodeError):
        text = _(
            "error: {path} is not valid JSON (line {line}, column {column}): {reason}. "
            "Nothing was imported."
        )
        said = say(args, text, path=path, line=error.lineno, column=error.colno, reason=reason)
    else:
        text = _("error: {path} is not valid JSON: {reason}. Nothing was imported.")
        said = say(args, text, path=path, reason=reason)
    print(said, file=sys.stderr)
    return 1


def summary_line(
    name: str, created: dict[str, int], updated: dict[str, int], locale: str = "en"
) -> str:
    """What `ditbot import` says it did, in `locale`: each kind counted, with its plural."""

    def part(counts: dict[str, int]) -> str:
        said = [gettext(locale, KINDS[kind], count=n) for kind, n in counts.items()]
        return ", ".join(said) or gettext(locale, _("nothing"))

    return gettext(
        locale,
        _("Imported {name}: created {created}; updated {updated}."),
        name=name,
        created=part(created),
        updated=part(updated),
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from ditbot.cli.demo import load_demo

    ctx = command_context(args)
    with ctx.db.session() as session:
        load_demo(session, slack_user_id=args.slack_user)
    loaded = say(
        args, _("Demo data loaded: 3 clients, 4 collaborators, 12 DITs (try /dit DIT-2026-0001).")
    )
    hint = say(args, _("Link yourself with: ditbot demo --slack-user <Slack id>."))
    print(loaded if args.slack_user else f"{loaded} {hint}")
    return 0


def _database_error(error: OperationalError, settings: Settings | None) -> Text:
    """One line that says what failed and what to check (the driver's reason flattened)."""
    reason = " ".join(str(error.orig or error).split())
    url = settings.database_url if settings is not None else ""
    check = Text(
        _("Check DATABASE_URL: the folder of the SQLite file must exist and be writable.")
        if url.startswith("sqlite")
        else _("Check DATABASE_URL and that the database server is running.")
    )
    return Text(
        _("error: the database does not answer ({reason}). {check}"), reason=reason, check=check
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ditbot", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve Slack, the REST API, the portal and delivery")
    serve.add_argument("--socket-mode", action="store_true", help="use Slack's Socket Mode")
    serve.add_argument(
        "--playground",
        action="store_true",
        help="run with a built-in Slack in the browser (the default without SLACK_BOT_TOKEN)",
    )
    serve.set_defaults(run=cmd_serve)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply the migrations").set_defaults(run=cmd_db_upgrade)

    load = commands.add_parser("import", help="import staff, clients and DITs from a JSON file")
    load.add_argument("file", help="the JSON file (CONTRACT.md section 5)")
    load.set_defaults(run=cmd_import)

    demo = commands.add_parser("demo", help="load a small demo data set")
    demo.add_argument("--slack-user", help="link the demo technician to this Slack user id")
    demo.set_defaults(run=cmd_demo)

    from ditbot.cli.digest import add_parser as add_digest
    from ditbot.cli.doctor import add_parser as add_doctor
    from ditbot.cli.mail_receive import add_parser as add_mail
    from ditbot.cli.portal_link import add_parser as add_portal_link

    add_portal_link(commands)
    add_doctor(commands)
    add_mail(commands)
    add_digest(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:  # each migration step is news only to whoever asked for details
        logging.getLogger("alembic").setLevel(logging.WARNING)
        # slack_sdk says at INFO each time it waits out a 429 itself: routine pacing, not news
        logging.getLogger("slack_sdk.web.base_client").setLevel(logging.WARNING)
    try:
        args.playground = playground_wanted(args)
        serving = args.command == "serve" and not args.playground
        required = serve_requires(args.socket_mode) if serving else []
        args.settings = Settings.from_env(required=required)
        return int(args.run(args))
    except SettingsError as error:
        # Without settings (they are what cannot be read), DITBOT_LOCALE is read on its own.
        print(
            say(args, _("ditbot cannot start, fix these settings (environment or .env):")),
            file=sys.stderr,
        )
        for problem in error.said(locale_of(args)):
            print(f"  - {problem}", file=sys.stderr)
        # An MTA piping a mail keeps it and retries on 75; on 2 it would bounce it.
        return EX_TEMPFAIL if args.command == "mail" else EXIT_SETTINGS
    except DomainError as error:
        print(
            say(args, _("error: {reason}"), reason=error.message(locale_of(args))), file=sys.stderr
        )
        return 1
    except OperationalError as error:
        said = _database_error(error, getattr(args, "settings", None)).say(locale_of(args))
        print(said, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        for ctx in getattr(args, "opened", []):
            ctx.db.dispose()


if __name__ == "__main__":
    sys.exit(main())
