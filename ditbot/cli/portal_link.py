"""`ditbot portal-link DIT_NUMBER [--contact CODE]`: print a client's portal link."""

from __future__ import annotations

import argparse

from ditbot.cli.common import command_context
from ditbot.core.i18n import _
from ditbot.domain.errors import DomainError
from ditbot.domain.exchanges import get_dit
from ditbot.domain.portal import find_dit_and_contact
from ditbot.portal.tokens import portal_url


def cmd_portal_link(args: argparse.Namespace) -> int:
    """Print `{DITBOT_PUBLIC_URL}/portal/{token}` for the DIT and the contact (default: the
    DIT's interlocuteur); the link expires after DITBOT_PORTAL_LINK_DAYS days."""
    args.settings.require("DITBOT_PORTAL_SECRET")
    ctx = command_context(args)
    with ctx.db.session() as session:
        dit = get_dit(session, args.dit)
        code = args.contact or (dit.contact.code if dit.contact else None)
        if code is None:
            raise DomainError(
                _(
                    "DIT {number} has no contact: name the contact with --contact CODE "
                    "(one of the client {client})."
                ),
                "contact",
                number=dit.number,
                client=dit.client.name,
            )
        dit, contact = find_dit_and_contact(session, dit.number, code)
        print(portal_url(args.settings, dit.number, contact.code))
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Declare `portal-link` on the `ditbot` command."""
    link = commands.add_parser(
        "portal-link", help="print the client portal link of a DIT (for one client contact)"
    )
    link.add_argument("dit", metavar="DIT_NUMBER", help="the DIT number, e.g. DIT-2026-0001")
    link.add_argument(
        "--contact", metavar="CODE", help="the client contact's code (default: the DIT's)"
    )
    link.set_defaults(run=cmd_portal_link)
