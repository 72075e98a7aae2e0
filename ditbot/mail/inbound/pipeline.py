"""The one path of a mail that comes in, from the IMAP collector or `ditbot mail receive`.

`receive(ctx, raw)` reads the message, then in one transaction: a key already received is a
duplicate (nothing more happens, no file is written); a delivery report fails the mail it
names; an automatic answer becomes a note on the mail it answers; a reply is recorded on its
DIT; anything else is kept for triage; a message that cannot be read is set aside with its
reason. Files (attachments, a set-aside message) are written before the record is committed,
under names derived from the key, so a crash between the two leaves files that the next attempt
overwrites, never a second record.

`TemporaryFailure` means "take this mail again later": the database or the mail store did not
answer. Everything else ends in an `Outcome`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from ditbot.core.context import Context
from ditbot.domain import inbound as domain
from ditbot.domain.errors import Conflict
from ditbot.mail.inbound.kinds import auto_reply_reason, bounce_of
from ditbot.mail.inbound.match import Match, answered_mail, find_dit
from ditbot.mail.inbound.parse import Attachment, NotAMail, ParsedMail, parse
from ditbot.mail.inbound.store import MailStore
from storage import outbox
from storage.db import database_unavailable
from storage.vocabulary import InboundStatus

log = logging.getLogger(__name__)
DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "noreply-dmarc")


class Disposition(StrEnum):
    """What `receive` did with a message (InboundStatus, or a duplicate of an earlier one)."""

    RECORDED = InboundStatus.RECORDED.value
    UNMATCHED = InboundStatus.UNMATCHED.value
    AUTO_REPLY = InboundStatus.AUTO_REPLY.value
    BOUNCE = InboundStatus.BOUNCE.value
    REJECTED = InboundStatus.REJECTED.value
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Outcome:
    disposition: Disposition
    inbound_id: int | None = None
    exchange_id: int | None = None
    dit: str | None = None
    reason: str | None = None


class TemporaryFailure(Exception):
    """The mail could not be taken now (database or disk); it must be offered again."""


def receive(ctx: Context, raw: bytes, *, now: datetime | None = None) -> Outcome:
    """Take one raw message (see the module docstring)."""
    store = MailStore(ctx.settings.mail_store_dir)
    try:
        return _receive(ctx, store, raw, now)
    except (DBAPIError, PoolTimeout) as error:
        if isinstance(error, PoolTimeout) or database_unavailable(error):
            raise TemporaryFailure(
                f"the database does not answer: {error.__class__.__name__}"
            ) from error
        raise
    except OSError as error:
        raise TemporaryFailure(
            f"cannot write under DITBOT_MAIL_STORE ({ctx.settings.mail_store_dir}): {error}"
        ) from error


def _receive(ctx: Context, store: MailStore, raw: bytes, now: datetime | None) -> Outcome:
    try:
        mail = parse(raw)
    except NotAMail as refused:
        return _set_aside(ctx, store, raw, refused.reason)
    facts = _facts(mail)
    bounce = bounce_of(mail.message)
    auto = None if bounce is not None else _automatic(mail)
    try:
        # One transaction from the key's lookup to the record (a transaction more would cost a
        # BEGIN and a COMMIT round trip on PostgreSQL); the files are written inside it, before
        # the record, and only for a mail not received yet.
        with ctx.db.session() as session:
            earlier = domain.already_received(session, mail.key)
            if earlier is not None:
                return _duplicate(earlier.inbound_id, earlier.exchange_id)
            if bounce is None and auto is None:
                facts = replace(facts, attachments=_kept_files(store, mail))
            if bounce is not None:
                failed = (
                    domain.sent_mail_by_message_id(session, bounce.original_message_id)
                    if bounce.original_message_id
                    else None
                ) or answered_mail(session, mail, ctx.settings)
                row = domain.record_bounce(
                    session, facts, failed, bounce.reason, final=bounce.final
                )
                outcome = Outcome(
                    Disposition.BOUNCE,
                    row.id,
                    failed.id if failed else None,
                    failed.dit.number if failed else None,
                    bounce.reason,
                )
            elif auto is not None:
                answers = answered_mail(session, mail, ctx.settings)
                row = domain.note_auto_reply(session, facts, answers, auto)
                outcome = Outcome(
                    Disposition.AUTO_REPLY,
                    row.id,
                    answers.id if answers else None,
                    answers.dit.number if answers else None,
                    auto,
                )
            else:
                outcome = _reply(ctx, session, mail, facts, now)
    except IntegrityError:
        # Another process (a second `ditbot serve`, the MTA retrying) recorded it meanwhile.
        with ctx.db.session() as session:
            earlier = domain.already_received(session, mail.key)
            if earlier is None:
                raise
            return _duplicate(earlier.inbound_id, earlier.exchange_id)
    ctx.wake_delivery(outbox.enqueued_kinds(session))
    log.info(
        "mail %s from %s: %s%s",
        mail.message_id or mail.key[:20],
        mail.from_address,
        outcome.disposition,
        f" on {outcome.dit}" if outcome.dit else f" ({outcome.reason})" if outcome.reason else "",
    )
    return outcome


def _reply(
    ctx: Context,
    session: Session,
    mail: ParsedMail,
    facts: domain.InboundFacts,
    now: datetime | None,
) -> Outcome:
    found = find_dit(session, mail, ctx.settings)
    if isinstance(found, Match):
        settings = ctx.settings
        try:
            row = domain.record_reply(
                session,
                facts,
                found.dit,
                found.contact,
                unknown_sender=found.unknown_sender,
                window_days=settings.portal_window_days,
                relance_after_hours=settings.relance_after_hours,
                locale=settings.locale,
                now=now,
                key_checked=True,  # `_receive` looked the key up: not received yet
            )
        except Conflict as closed:
            # kept in the team's language (the dispatch channel shows it), logged in English
            kept = domain.keep_unmatched(
                session, facts, closed.message(ctx.settings.locale), dit=found.dit
            )
            english = closed.message("en")
            return Outcome(Disposition.UNMATCHED, kept.id, None, found.dit.number, english)
        return Outcome(Disposition.RECORDED, row.id, row.exchange_id, found.dit.number)
    kept = domain.keep_unmatched(session, facts, found.reason(ctx.settings.locale))
    return Outcome(Disposition.UNMATCHED, kept.id, None, None, found.reason("en"))


def _automatic(mail: ParsedMail) -> str | None:
    reason = auto_reply_reason(mail.message, mail.subject)
    if reason is None and mail.from_address.partition("@")[0].lower() in DAEMONS:
        reason = f"From: {mail.from_address} (a mail server's report)"
    return reason


def _facts(mail: ParsedMail) -> domain.InboundFacts:
    return domain.InboundFacts(
        key=mail.key,
        message_id=mail.message_id,
        from_address=mail.from_address,
        from_name=mail.from_name,
        subject=mail.subject or None,
        sent_at=mail.sent_at,
        text=mail.text,
    )


def _kept_files(store: MailStore, mail: ParsedMail) -> list[dict[str, Any]]:
    files = list(mail.attachments)
    if domain.needs_full_text(mail.text):
        files.append(Attachment(domain.FULL_TEXT_NAME, "text/plain", mail.text.encode("utf-8")))
    return store.keep_attachments(mail.key, files) if files else []


def _set_aside(ctx: Context, store: MailStore, raw: bytes, reason: str) -> Outcome:
    key = f"sha256:{hashlib.sha256(raw).hexdigest()}"
    with ctx.db.session() as session:
        earlier = domain.already_received(session, key)
        if earlier is not None:
            return _duplicate(earlier.inbound_id, None)
    path = store.set_aside(key, raw)
    facts = domain.InboundFacts(
        key=key,
        message_id=None,
        from_address="",
        from_name="",
        subject=None,
        sent_at=None,
        text="",
        raw_path=path,
    )
    try:
        with ctx.db.session() as session:
            row = domain.set_aside(session, facts, reason)
            row_id = row.id
    except IntegrityError:
        return Outcome(Disposition.DUPLICATE, reason=reason)
    log.warning("a message was set aside (%s): %s", reason, path)
    return Outcome(Disposition.REJECTED, row_id, reason=reason)


def _duplicate(inbound_id: int, exchange_id: int | None) -> Outcome:
    return Outcome(Disposition.DUPLICATE, inbound_id, exchange_id)
