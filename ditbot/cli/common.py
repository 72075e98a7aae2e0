"""What every `ditbot` command that touches the database shares."""

from __future__ import annotations

import argparse

from ditbot.core.context import Context


def command_context(args: argparse.Namespace) -> Context:
    """A migrated database for this command; `main` closes its connections at the end."""
    ctx = Context.from_settings(args.settings)
    args.opened = [*getattr(args, "opened", []), ctx]
    ctx.db.upgrade()
    return ctx
