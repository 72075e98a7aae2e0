"""Block Kit of the mail feature: the `mail_compose` modal, draft messages, failure DMs.

Pure functions: domain objects in, Block Kit dicts out. Client text (names, subjects,
messages, SMTP answers) goes into plain_text objects or escaped verbatim mrkdwn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.ids import Action, Callback, Field, block_id
from bot.views.text import (
    BUTTON_MAX,
    OPTION_MAX,
    escape,
    mrkdwn,
    one_line,
    plain,
    title,
    truncate,
)
from ditbot.core.i18n import N_, Translator, _
from ditbot.domain.mail import Recipient
from ditbot.domain.validation import DETAIL_MAX, SUBJECT_MAX
from storage.models import Dit, Draft, Exchange

MAX_OPTIONS = 100
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


def recipient_label(recipient: Recipient) -> str:
    """`Paul Martin · p.martin@acme.example`, cut to Slack's 75 characters."""
    return truncate(f"{recipient.contact_name} · {recipient.email}", OPTION_MAX)


def _option(recipient: Recipient, t: Translator) -> dict[str, Any]:
    return {
        "text": plain(recipient_label(recipient), OPTION_MAX),
        "value": recipient.value,
        "description": plain(t(_("Mail {slot}"), slot=recipient.slot), OPTION_MAX),
    }


def _button(label: str, action: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action,
        "text": plain(label, BUTTON_MAX),
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _when(moment: datetime | None) -> str:
    """A Slack date token: shown in the reader's own time zone (fallback: UTC)."""
    if moment is None:
        return ""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def mail_form(t: Translator, form: MailForm) -> dict[str, Any]:
    """The `mail_compose` modal (CONTRACT.md section 4)."""
    dit = form.dit
    heading = f"*{escape(dit.number)}* · {escape(dit.client.name)} · {escape(dit.title)}"
    blocks: list[dict[str, Any]] = [
        {"type": "context", "elements": [mrkdwn(heading)]},
        {
            "type": "context",
            "elements": [
                mrkdwn(
                    t(
                        _(
                            ":outbox_tray: *This really sends the e-mail* to the client, from "
                            "{sender}, and records it on the DIT as a sent exchange "
                            "(type Courriel). An e-mail already sent outside ditbot is "
                            "noted with the panel's sent-exchange form instead."
                        ),
                        sender=escape(form.sender),
                    )
                )
            ],
        },
    ]
    if form.resumed:
        blocks.append(
            {
                "type": "context",
                "elements": [mrkdwn(t(_(":memo: Your draft was restored.")))],
            }
        )
    options = [_option(r, t) for r in form.recipients[:MAX_OPTIONS]]
    to_element: dict[str, Any] = {
        "type": "static_select",
        "action_id": Field.TO,
        "placeholder": plain(t(_("Choose an interlocuteur")), 150),
    }
    if options:
        to_element["options"] = options
        initial = next((o for o in options if o["value"] == form.to), None)
        if initial is not None:
            to_element["initial_option"] = initial
        blocks.append(
            {
                "type": "input",
                "block_id": block_id(Field.TO, form.suffix),
                "label": plain(t(_("To")), 2000),
                "element": to_element,
            }
        )
    else:
        blocks.append(
            {
                "type": "section",
                "block_id": block_id(Field.TO, form.suffix),
                "text": mrkdwn(
                    t(
                        _(":warning: No interlocuteur of {client} has an e-mail address."),
                        client=escape(dit.client.name),
                    )
                ),
            }
        )
    blocks.append(
        {
            "type": "input",
            "block_id": block_id(Field.SUBJECT, form.suffix),
            "optional": True,
            "label": plain(t(_("Subject")), 2000),
            "element": {
                "type": "plain_text_input",
                "action_id": Field.SUBJECT,
                "max_length": SUBJECT_MAX,
                **({"initial_value": form.subject[:SUBJECT_MAX]} if form.subject else {}),
            },
        }
    )
    detail_element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": Field.DETAIL,
        "multiline": True,
        "max_length": DETAIL_MAX,
        "placeholder": plain(t(_("Write your message to the client")), 150),
        # Slack sends nothing typed when a modal is closed: each keystroke batch comes to us
        # as a block_actions with the whole view.state, and is kept as the draft.
        "dispatch_action_config": {"trigger_actions_on": ["on_character_entered"]},
    }
    if form.detail:
        detail_element["initial_value"] = form.detail[:DETAIL_MAX]
    blocks.append(
        {
            "type": "input",
            "block_id": block_id(Field.DETAIL, form.suffix),
            "dispatch_action": True,
            "label": plain(t(_("Message")), 2000),
            "hint": plain(
                t(_("Greeting, signature and the client's portal link are added for you.")), 2000
            ),
            "element": detail_element,
        }
    )
    saved = (
        t(_(":floppy_disk: Draft saved {when}."), when=_when(form.draft_saved_at))
        if form.draft_saved_at
        else escape(t(_("Closing the form keeps what you typed as a draft.")))
    )
    blocks.append(
        {
            "type": "actions",
            "block_id": "mail_draft",
            "elements": [_button(t(_("Keep as draft")), Action.DRAFT_SAVE, dit.number)],
        }
    )
    blocks.append({"type": "context", "elements": [mrkdwn(saved)]})
    return {
        "type": "modal",
        "callback_id": Callback.MAIL_COMPOSE,
        "notify_on_close": True,
        "title": title(t(_("Send a mail"))),
        "submit": title(t(_("Send"))),
        "close": title(t(_("Cancel"))),
        "private_metadata": form.metadata,
        "blocks": blocks,
    }


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
    return {
        "text": escape(truncate(fallback, 3000)),
        "blocks": [
            {"type": "section", "text": mrkdwn(body)},
            {
                "type": "actions",
                "elements": [_button(t(_("Open the DIT")), Action.OPEN_PANEL, number)],
            },
        ],
    }


def _preview(draft: Draft) -> str:
    return truncate(one_line(draft.detail) or one_line(draft.subject), PREVIEW)


def draft_buttons(t: Translator, draft: Draft) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": f"draft.{draft.id}",
        "elements": [
            _button(t(_("Resume")), Action.DRAFT_RESUME, str(draft.id), "primary"),
            _button(t(_("Discard")), Action.DRAFT_DISCARD, str(draft.id)),
        ],
    }


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
    return {
        "text": escape(fallback),
        "blocks": [{"type": "section", "text": mrkdwn(body)}, draft_buttons(t, draft)],
    }


def draft_gone_message(t: Translator, number: str) -> dict[str, Any]:
    """What a draft DM becomes once the draft is discarded."""
    text = t(_("The draft of DIT {number} was discarded."), number=escape(number))
    return {"text": text, "blocks": [{"type": "section", "text": mrkdwn(":wastebasket: " + text)}]}


def home_drafts(t: Translator, drafts: Sequence[Draft]) -> list[dict[str, Any]]:
    """The App Home section listing the user's drafts (empty list when there are none)."""
    if not drafts:
        return []
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(t(_("My drafts")), 150)},
    ]
    for draft in drafts[:HOME_DRAFTS]:
        line = t(
            _("*{number}* · {title} · {when}\n{preview}"),
            number=escape(draft.dit.number),
            title=escape(draft.dit.title),
            when=_when(draft.updated_at),
            preview=escape(_preview(draft)) or "…",
        )
        blocks.append({"type": "section", "text": mrkdwn(line)})
        blocks.append(draft_buttons(t, draft))
    if len(drafts) > HOME_DRAFTS:
        more = t(
            N_("And {count} more draft.", "And {count} more drafts."),
            count=len(drafts) - HOME_DRAFTS,
        )
        blocks.append({"type": "context", "elements": [mrkdwn(escape(more))]})
    return blocks
