"""`ditbot mail receive`: take one raw message on standard input, as an MTA pipes it.

For Postfix (`pipe` in master.cf), procmail or an `.forward` (`"|ditbot mail receive"`). The
exit code is what such a program understands (sysexits.h):
- 0: the mail is recorded on its DIT, kept for triage, or known as an automatic answer, a
  delivery report or a mail already received;
- 75 (EX_TEMPFAIL): ditbot cannot take it now (database down, mail store not writable, settings
  to fix): the MTA keeps the mail and offers it again later;
- 65 (EX_DATAERR): it is not a mail ditbot can read; the reason is on standard error, and the
  MTA bounces it with that reason (a copy is set aside under DITBOT_MAIL_STORE).
"""

from __future__ import annotations

import argparse
import logging
import sys

from sqlalchemy.exc import DBAPIError

from ditbot.cli.common import command_context
from ditbot.mail.inbound.pipeline import Disposition, TemporaryFailure, receive

EX_OK = 0
EX_DATAERR = 65
EX_TEMPFAIL = 75
MAX_BYTES = 64 * 1024 * 1024  # beyond what any mail server relays; refused, not read whole


def cmd_mail_receive(args: argparse.Namespace) -> int:
    if not args.verbose:  # what an MTA puts in a bounce is the one line below, not logs
        logging.getLogger().setLevel(logging.ERROR)
    raw = sys.stdin.buffer.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        print(
            f"ditbot: message refused: larger than {MAX_BYTES // 1024 // 1024} MiB", file=sys.stderr
        )
        return EX_DATAERR
    try:
        ctx = command_context(args)
        outcome = receive(ctx, raw)
    except TemporaryFailure as error:
        print(f"ditbot: mail not taken now, try again later: {error}", file=sys.stderr)
        return EX_TEMPFAIL
    except DBAPIError as error:
        reason = " ".join(str(error.orig or error).split())[:300]
        print(f"ditbot: the database does not answer ({reason}); try again later", file=sys.stderr)
        return EX_TEMPFAIL
    except OSError as error:
        print(f"ditbot: mail not taken now ({error}); try again later", file=sys.stderr)
        return EX_TEMPFAIL
    if outcome.disposition == Disposition.REJECTED:
        print(f"ditbot: message refused: {outcome.reason}", file=sys.stderr)
        return EX_DATAERR
    where = f" on {outcome.dit}" if outcome.dit else ""
    print(f"ditbot: {outcome.disposition}{where}")
    return EX_OK


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Declare `mail receive` on the `ditbot` command."""
    mail = commands.add_parser("mail", help="inbound mail")
    actions = mail.add_subparsers(dest="mail_command", required=True, metavar="ACTION")
    take = actions.add_parser(
        "receive",
        help="take one raw message on standard input (for an MTA's pipe); exit 0, 65 or 75",
    )
    take.set_defaults(run=cmd_mail_receive)
