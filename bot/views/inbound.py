"""The dispatch channel's post of a mail no DIT was found for, and its "attach" modal.

The client's text, address and subject are plain text (Slack never formats or links it): a
mail can never ping or inject markup. The post carries two buttons, "Attach to a DIT" and
"Dismiss"; once handled it is rewritten to say by whom, without buttons.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    ExternalDataSelectElement,
    InputBlock,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.ids import Action, Callback, Field
from bot.views.text import BUTTON_MAX, PLACEHOLDER_MAX, one_line, plain, title, truncate
from ditbot.core.i18n import Translator, _
from storage.models import InboundMail

PREVIEW = 1500


def _sender(row: InboundMail) -> str:
    name = one_line(row.from_name)
    address = row.from_address or "?"
    return f"{name} <{address}>" if name else address


def unmatched_message(t: Translator, row: InboundMail) -> dict[str, Any]:
    """The post of an unmatched mail, with its buttons (value: the inbound mail's id)."""
    fallback = t(
        _("A mail from {sender} matches no DIT: attach it to one or dismiss it."),
        sender=_sender(row),
    )
    facts = t(
        _("From: {sender}\nSubject: {subject}\nWhy it is here: {reason}"),
        sender=_sender(row),
        subject=one_line(row.subject) or "—",
        reason=one_line(row.reason) or "—",
    )
    blocks: list[Block] = [
        SectionBlock(text=plain(t(_("📨 A mail matches no DIT")))),
        SectionBlock(text=plain(facts)),
        SectionBlock(text=plain(truncate(row.text or t(_("(mail without text)")), PREVIEW))),
    ]
    if row.attachments:
        names = ", ".join(str(item.get("filename")) for item in row.attachments)
        blocks.append(
            ContextBlock(elements=[plain(t(_("Attachments: {names}"), names=names), 2000)])
        )
    blocks.append(
        ActionsBlock(
            elements=[
                ButtonElement(
                    text=plain(t(_("Attach to a DIT")), BUTTON_MAX),
                    action_id=Action.INBOUND_ATTACH,
                    value=str(row.id),
                    style="primary",
                ),
                ButtonElement(
                    text=plain(t(_("Dismiss")), BUTTON_MAX),
                    action_id=Action.INBOUND_DISMISS,
                    value=str(row.id),
                ),
            ]
        )
    )
    return {"text": truncate(fallback, 3000), "blocks": blocks}


def handled_message(t: Translator, row: InboundMail, who: str, dit: str | None) -> dict[str, Any]:
    """The post once the mail is attached (to `dit`) or dismissed, by `who`."""
    if dit is not None:
        said = t(
            _("📨 Mail from {sender} attached to {dit} by {who}."),
            sender=_sender(row),
            dit=dit,
            who=who,
        )
    else:
        said = t(_("📨 Mail from {sender} dismissed by {who}."), sender=_sender(row), who=who)
    blocks: list[Block] = [
        SectionBlock(text=plain(said)),
        ContextBlock(elements=[plain(one_line(row.subject) or "—", 2000)]),
    ]
    return {"text": truncate(said, 3000), "blocks": blocks}


def attach_modal(t: Translator, row: InboundMail, metadata: str) -> View:
    """Choose the DIT (by number or client, as the exchange forms do)."""
    chooser = ExternalDataSelectElement(
        action_id=Field.DIT,
        min_query_length=2,
        placeholder=plain(t(_("Type a DIT number or a client")), PLACEHOLDER_MAX),
    )
    return View(
        type="modal",
        callback_id=Callback.INBOUND_ATTACH,
        title=title(t(_("Attach the mail"))),
        submit=title(t(_("Attach"))),
        close=title(t(_("Cancel"))),
        private_metadata=metadata,
        blocks=[
            SectionBlock(
                text=plain(
                    t(
                        _("From: {sender}\nSubject: {subject}"),
                        sender=_sender(row),
                        subject=one_line(row.subject) or "—",
                    )
                )
            ),
            InputBlock(block_id=Field.DIT, label=plain(t(_("DIT")), 2000), element=chooser),
        ],
    )
