"""The `ditbot` command: serve, import, demo, db upgrade, portal-link, doctor, digest."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.exc import OperationalError

from ditbot.cli.common import command_context
from ditbot.core.settings import Settings, SettingsError
from ditbot.domain.errors import DomainError, ValidationFailed

EXIT_SETTINGS = 2
EX_TEMPFAIL = 75  # sysexits.h: what `ditbot mail receive` answers an MTA for "try later"


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
        print(f"error: {error}", file=sys.stderr)
        return 1
    except NotLoopback as error:
        print(f"ditbot cannot start: {error}", file=sys.stderr)
        return EXIT_SETTINGS
    return 0


def playground_wanted(args: argparse.Namespace) -> bool:
    """`serve --playground`, or `serve` with no SLACK_BOT_TOKEN (environment or .env)."""
    if args.command != "serve" or args.socket_mode:
        return False
    return bool(args.playground) or not Settings.from_env().slack_bot_token


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    command_context(args)
    print("Database is up to date.")
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
            f"error: the import could not keep its temporary file in {error.folder} "
            f"({error.reason}). Free some room there or set TMPDIR to a folder with room, "
            "then import the same file again (it writes only what is missing).",
            file=sys.stderr,
        )
        return 1
    except FileNotFoundError:
        print(f"error: {path} does not exist.", file=sys.stderr)
        return 1
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return _not_json(path, error)
    except OSError as error:  # a folder, no permission...
        print(f"error: cannot read {path}: {error.strerror or error}.", file=sys.stderr)
        return 1
    except RecursionError:  # the same limit as every body (ditbot/domain/validation.py)
        print(
            f"error: {path} is nested more than {JSON_DEPTH_MAX} levels deep. Nothing was "
            "imported.",
            file=sys.stderr,
        )
        return 1
    except ValidationFailed as error:
        print(f"error: {path} was not imported, nothing was written:", file=sys.stderr)
        for message in error.messages(args.settings.locale).values():
            print(f"  - {message}", file=sys.stderr)
        return 1
    print(_summary_line(path.name, summary.created, summary.updated))
    return 0


def _not_json(path: Path, error: UnicodeDecodeError | json.JSONDecodeError) -> int:
    where = (
        f" (line {error.lineno}, column {error.colno})"
        if isinstance(error, json.JSONDecodeError)
        else ""
    )
    print(
        f"error: {path} is not valid JSON{where}: {error}. Nothing was imported.",
        file=sys.stderr,
    )
    return 1


def _summary_line(name: str, created: dict[str, int], updated: dict[str, int]) -> str:
    def part(counts: dict[str, int]) -> str:
        return ", ".join(f"{n} {kind}" for kind, n in counts.items()) or "nothing"

    return f"Imported {name}: created {part(created)}; updated {part(updated)}."


def cmd_demo(args: argparse.Namespace) -> int:
    from ditbot.cli.demo import load_demo

    ctx = command_context(args)
    with ctx.db.session() as session:
        load_demo(session, slack_user_id=args.slack_user)
    hint = "" if args.slack_user else " Link yourself with: ditbot demo --slack-user <Slack id>."
    print("Demo data loaded: 3 clients, 4 collaborateurs, 12 DITs (try /dit DIT-2026-0001)." + hint)
    return 0


def _database_error(error: OperationalError, settings: Settings | None) -> str:
    """One line that says what failed and what to check (the driver's reason flattened)."""
    reason = " ".join(str(error.orig or error).split())
    url = settings.database_url if settings is not None else ""
    check = (
        "Check DATABASE_URL: the folder of the SQLite file must exist and be writable."
        if url.startswith("sqlite")
        else "Check DATABASE_URL and that the database server is running."
    )
    return f"error: the database does not answer ({reason}). {check}"


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
        print("ditbot cannot start, fix these settings (environment or .env):", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        # An MTA piping a mail keeps it and retries on 75; on 2 it would bounce it.
        return EX_TEMPFAIL if args.command == "mail" else EXIT_SETTINGS
    except DomainError as error:
        locale = args.settings.locale if hasattr(args, "settings") else "en"
        print(f"error: {error.message(locale)}", file=sys.stderr)
        return 1
    except OperationalError as error:
        print(_database_error(error, getattr(args, "settings", None)), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        for ctx in getattr(args, "opened", []):
            ctx.db.dispose()


if __name__ == "__main__":
    sys.exit(main())
