"""Block Kit of the mail feature: the `mail_compose` modal, draft messages, failure DMs.

Pure functions: domain objects in, `slack_sdk.models` Block Kit out. Client text (names, subjects,
messages, SMTP answers) goes into plain_text objects or escaped verbatim mrkdwn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import DispatchActionConfig
from slack_sdk.models.views import View

from bot.ids import Action, Callback, Field, block_id
from bot.views.choice import Choice, chosen_line, select
from bot.views.text import (
    BUTTON_MAX,
    HEADER_MAX,
    LABEL_MAX,
    PLACEHOLDER_MAX,
    escape,
    mrkdwn,
    one_line,
    plain,
    slack_date,
    title,
    truncate,
)
from ditbot.core.i18n import N_, Translator, _
from ditbot.domain.mail import Recipient
from ditbot.domain.validation import DETAIL_MAX, SUBJECT_MAX
from storage.models import Dit, Draft, Exchange

HOME_DRAFTS = 8
PREVIEW = 120


@dataclass(frozen=True)
class MailForm:
    """What the mail form shows; `suffix` renews block_ids so Slack forgets typed values."""

    dit: Dit
    recipients: Sequence[Recipient]
    to: str | None
    subject: str
    detail: str
    metadata: str
    sender: str
    suffix: str = ""
    draft_saved_at: datetime | None = None
    resumed: bool = False


def recipient_choice(recipient: Recipient) -> Choice:
    """One address of one contact: the name as option text, the address as description."""
    return Choice(
        value=recipient.value,
        name=recipient.contact_name,
        mails=((recipient.slot, recipient.email),),
        code=recipient.contact_code,
    )


def _button(label: str, action: str, value: str, style: str | None = None) -> ButtonElement:
    return ButtonElement(action_id=action, text=plain(label, BUTTON_MAX), value=value, style=style)


def _when(moment: datetime | None) -> str:
    """A Slack date token: shown in the reader's own time zone (fallback: UTC)."""
    return slack_date(moment)


def mail_form(t: Translator, form: MailForm) -> View:
    """The `mail_compose` modal (CONTRACT.md section 4)."""
    dit = form.dit
    heading = f"*{escape(dit.number)}* · {escape(dit.client.name)} · {escape(dit.title)}"
    really = t(
        _(
            ":outbox_tray: *This really sends the e-mail* to the client, from "
            "{sender}, and records it on the DIT as a sent exchange "
            "(type E-mail). An e-mail already sent outside ditbot is "
            "noted with the panel's sent-exchange form instead."
        ),
        sender=escape(form.sender),
    )
    blocks: list[Block] = [
        ContextBlock(elements=[mrkdwn(heading)]),
        ContextBlock(elements=[mrkdwn(really)]),
    ]
    if form.resumed:
        blocks.append(ContextBlock(elements=[mrkdwn(t(_(":memo: Your draft was restored.")))]))
    choices = [recipient_choice(r) for r in form.recipients]
    if choices:
        # Up to 100 addresses a static_select, beyond an external_select searched as typed
        # (bot/views/choice.py, the rule of every select of people). It dispatches its action:
        # the choice is kept in the draft, and the line under it names the address in full.
        to_element = select(Field.TO, choices, form.to, t, t(_("Choose a contact")))
        blocks.append(
            InputBlock(
                block_id=block_id(Field.TO, form.suffix),
                dispatch_action=True,
                label=plain(t(_("To")), LABEL_MAX),
                element=to_element,
            )
        )
        picked = next((c for c in choices if c.value == form.to), None)
        if picked is not None:
            blocks.append(ContextBlock(elements=[mrkdwn(chosen_line(t, picked))]))
    else:
        nobody = t(
            _(":warning: No contact of {client} has an e-mail address."),
            client=escape(dit.client.name),
        )
        blocks.append(SectionBlock(block_id=block_id(Field.TO, form.suffix), text=mrkdwn(nobody)))
    blocks.append(
        InputBlock(
            block_id=block_id(Field.SUBJECT, form.suffix),
            optional=True,
            dispatch_action=True,  # kept in the draft as it is typed, like the message
            label=plain(t(_("Subject")), LABEL_MAX),
            element=PlainTextInputElement(
                action_id=Field.SUBJECT,
                max_length=SUBJECT_MAX,
                initial_value=form.subject[:SUBJECT_MAX] if form.subject else None,
                dispatch_action_config=DispatchActionConfig(
                    trigger_actions_on=["on_character_entered"]
                ),
            ),
        )
    )
    detail_element = PlainTextInputElement(
        action_id=Field.DETAIL,
        multiline=True,
        max_length=DETAIL_MAX,
        placeholder=plain(t(_("Write your message to the client")), PLACEHOLDER_MAX),
        # Slack sends nothing typed when a modal is closed: each keystroke batch comes to us
        # as a block_actions with the whole view.state, and is kept as the draft.
        dispatch_action_config=DispatchActionConfig(trigger_actions_on=["on_character_entered"]),
        initial_value=form.detail[:DETAIL_MAX] if form.detail else None,
    )
    hint = t(_("Greeting, signature and the client's portal link are added for you."))
    blocks.append(
        InputBlock(
            block_id=block_id(Field.DETAIL, form.suffix),
            dispatch_action=True,
            label=plain(t(_("Message")), LABEL_MAX),
            hint=plain(hint, LABEL_MAX),
            element=detail_element,
        )
    )
    saved = (
        t(_(":floppy_disk: Draft saved {when}."), when=_when(form.draft_saved_at))
        if form.draft_saved_at
        else escape(t(_("Closing the form keeps what you typed as a draft.")))
    )
    blocks.append(
        ActionsBlock(
            block_id="mail_draft",
            elements=[_button(t(_("Keep as draft")), Action.DRAFT_SAVE, dit.number)],
        )
    )
    blocks.append(ContextBlock(elements=[mrkdwn(saved)]))
    return View(
        type="modal",
        callback_id=Callback.MAIL_COMPOSE,
        notify_on_close=True,
        title=title(t(_("Send a mail"))),
        submit=title(t(_("Send"))),
        close=title(t(_("Cancel"))),
        private_metadata=form.metadata,
        blocks=blocks,
    )


def mail_failed_message(t: Translator, exchange: Exchange) -> dict[str, Any]:
    """The DM telling the author that their mail was not delivered, and why."""
    number = exchange.dit.number
    recipient = exchange.recipient_email or "?"
    reason = one_line(exchange.mail_error) or "?"
    fallback = t(
        _("Your mail on DIT {number} to {recipient} was not sent: {reason}"),
        number=number,
        recipient=recipient,
        reason=reason,
    )
    body = t(
        _(
            ":warning: *Your mail on DIT {number} was not sent.*\n"
            "To: {recipient}\nSubject: {subject}\nReason given: {reason}\n"
            "Check the address, then send it again from the DIT."
        ),
        number=escape(number),
        recipient=escape(recipient),
        subject=escape(one_line(exchange.subject)),
        reason=escape(truncate(reason, 1500)),
    )
    blocks: list[Block] = [
        SectionBlock(text=mrkdwn(body)),
        ActionsBlock(elements=[_button(t(_("Open the DIT")), Action.OPEN_PANEL, number)]),
    ]
    return {"text": escape(truncate(fallback, 3000)), "blocks": blocks}


def _preview(draft: Draft) -> str:
    return truncate(one_line(draft.detail) or one_line(draft.subject), PREVIEW)


def draft_buttons(t: Translator, draft: Draft) -> ActionsBlock:
    return ActionsBlock(
        block_id=f"draft.{draft.id}",
        elements=[
            _button(t(_("Resume")), Action.DRAFT_RESUME, str(draft.id), "primary"),
            _button(t(_("Discard")), Action.DRAFT_DISCARD, str(draft.id)),
        ],
    )


def draft_kept_message(t: Translator, draft: Draft) -> dict[str, Any]:
    """The DM sent when a mail form with text is closed: the draft, resume or discard."""
    number = draft.dit.number
    fallback = t(_("Your mail on DIT {number} was kept as a draft."), number=number)
    body = t(
        _(":memo: *Draft kept* for DIT {number} ({title}):\n> {preview}"),
        number=escape(number),
        title=escape(draft.dit.title),
        preview=escape(_preview(draft)) or "…",
    )
    blocks: list[Block] = [SectionBlock(text=mrkdwn(body)), draft_buttons(t, draft)]
    return {"text": escape(fallback), "blocks": blocks}


GONE = {
    "discarded": (":wastebasket:", _("The draft of DIT {number} was discarded.")),
    "emptied": (":wastebasket:", _("The draft of DIT {number} was emptied: nothing is kept.")),
    "sent": (":outbox_tray:", _("The draft of DIT {number} was sent.")),
}


def draft_gone_message(t: Translator, number: str, why: str = "discarded") -> dict[str, Any]:
    """What a draft DM becomes once the draft is discarded, emptied or sent."""
    emoji, message = GONE.get(why, GONE["discarded"])
    text = t(message, number=escape(number))
    blocks: list[Block] = [SectionBlock(text=mrkdwn(f"{emoji} {text}"))]
    return {"text": text, "blocks": blocks}


def home_drafts(t: Translator, drafts: Sequence[Draft]) -> list[Block]:
    """The App Home section listing the user's drafts (empty list when there are none)."""
    if not drafts:
        return []
    blocks: list[Block] = [HeaderBlock(text=plain(t(_("My drafts")), HEADER_MAX))]
    for draft in drafts[:HOME_DRAFTS]:
        line = t(
            _("*{number}* · {title} · {when}\n{preview}"),
            number=escape(draft.dit.number),
            title=escape(draft.dit.title),
            when=_when(draft.updated_at),
            preview=escape(_preview(draft)) or "…",
        )
        blocks.append(SectionBlock(text=mrkdwn(line)))
        blocks.append(draft_buttons(t, draft))
    if len(drafts) > HOME_DRAFTS:
        more = t(
            N_("And {count} more draft.", "And {count} more drafts."),
            count=len(drafts) - HOME_DRAFTS,
        )
        blocks.append(ContextBlock(elements=[mrkdwn(escape(more))]))
    return blocks
