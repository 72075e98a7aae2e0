"""The received / sent exchange forms (`exchange_received`, `exchange_sent`), new or edit.

Fields follow CONTRACT.md section 4: input block_id = field name (+ `.suffix`), element
action_id = field name. Envoyé par and Reçu par carry `dispatch_action`: the form is redrawn
with the chosen person's Mail 1 and Mail 2 in full under the select (bot/views/choice.py), and
on the sent form Mail destinataire follows Reçu par (a new suffix on its block_id resets the
typed value).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DateTimePickerElement,
    ExternalDataSelectElement,
    InputBlock,
    InputInteractiveElement,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.ids import Callback, Field, block_id
from bot.views.choice import SEP, STATIC_OPTIONS_MAX, Choice, chosen_line, option, select
from bot.views.exchange import type_label
from bot.views.text import (
    LABEL_MAX,
    OPTION_MAX,
    PLACEHOLDER_MAX,
    escape,
    mrkdwn,
    plain,
    title,
    truncate,
)
from ditbot.core.i18n import Translator, _
from ditbot.domain.validation import DETAIL_MAX, SUBJECT_MAX
from storage.models import Collaborator, Contact, Dit, ExchangeType
from storage.vocabulary import Direction


@dataclass(frozen=True)
class Person:
    """A choosable sender/receiver: option value = code; its Mail 1 and Mail 2 are shown."""

    code: str
    name: str
    mail1: str | None = None
    mail2: str | None = None

    @classmethod
    def of(cls, who: Collaborator | Contact) -> Person:
        return cls(who.code, who.name, who.mail1, who.mail2)

    @property
    def email(self) -> str | None:
        return self.mail1 or self.mail2

    @property
    def choice(self) -> Choice:
        mails = tuple((slot, m) for slot, m in ((1, self.mail1), (2, self.mail2)) if m)
        return Choice(value=self.code, name=self.name, mails=mails, code=self.code)


def person_option(person: Person) -> Option:
    return option(person.choice)


def dit_option(dit: Dit) -> Option:
    text = SEP.join([dit.number, dit.client.name, dit.title])
    return Option(text=plain(truncate(text, OPTION_MAX), OPTION_MAX), value=dit.number)


@dataclass(frozen=True)
class Values:
    """What the form shows filled in."""

    type_code: str | None = None
    sent_by: str | None = None
    received_by: str | None = None
    recipient_email: str | None = None
    subject: str | None = None
    detail: str | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class FormSpec:
    direction: Direction
    dit: Dit | None
    types: Sequence[ExchangeType]
    senders: Sequence[Person]
    receivers: Sequence[Person]
    values: Values
    metadata: str
    editing: bool = False
    choose_dit: bool = False  # message shortcut: the DIT is a field of the form
    recipient_suffix: int = 0
    notes: list[str] = field(default_factory=list)


def callback_of(direction: Direction) -> str:
    return Callback.EXCHANGE_RECEIVED if direction == Direction.RECEIVED else Callback.EXCHANGE_SENT


def _person_blocks(
    field_name: str,
    label: str,
    people: Sequence[Person],
    chosen: str | None,
    t: Translator,
    missing: str,
) -> list[Block]:
    """The select of `people` and, under it, the chosen one's addresses in full; when there
    is nobody to choose, a line saying what is missing instead of an empty select."""
    if not people:
        return [ContextBlock(elements=[mrkdwn(missing)])]
    choices = [p.choice for p in people]
    element = select(field_name, choices, chosen, t, t(_("Choose…")))
    blocks: list[Block] = [_input(field_name, label, element, dispatch=True)]
    picked = next((c for c in choices if c.value == chosen), None)
    if picked is not None:
        blocks.append(ContextBlock(elements=[mrkdwn(chosen_line(t, picked))]))
    return blocks


def _input(
    field_name: str,
    label: str,
    element: InputInteractiveElement,
    *,
    optional: bool = False,
    suffix: int | str | None = None,
    hint: str | None = None,
    dispatch: bool = False,
) -> InputBlock:
    return InputBlock(
        block_id=block_id(field_name, suffix),
        label=plain(label, LABEL_MAX),
        element=element,
        optional=optional,
        hint=plain(hint, LABEL_MAX) if hint else None,
        dispatch_action=True if dispatch else None,
    )


def exchange_form(t: Translator, spec: FormSpec) -> View:
    """The modal of one received/sent exchange."""
    v = spec.values
    received = spec.direction == Direction.RECEIVED
    blocks: list[Block] = []
    if spec.dit is not None and not spec.choose_dit:
        line = f"*{escape(spec.dit.number)}* · {escape(truncate(spec.dit.client.name, 200))}"
        line += f" · {escape(truncate(spec.dit.title, 200))}"
        blocks.append(ContextBlock(elements=[mrkdwn(line)]))
    for note in spec.notes:
        blocks.append(ContextBlock(elements=[mrkdwn(note)]))
    if not received and not spec.editing:  # recording a mail is not sending one (mail helper)
        note = t(
            _(
                ":memo: This form only *records* an exchange: nothing is sent to the client. "
                "For an e-mail already sent outside ditbot, choose the type E-mail. To send a "
                "mail, use “Write a mail” on the DIT's panel."
            )
        )
        blocks.append(ContextBlock(elements=[mrkdwn(note)]))
    if spec.choose_dit:
        chooser = ExternalDataSelectElement(
            action_id=Field.DIT,
            min_query_length=2,
            placeholder=plain(t(_("Type a DIT number or a client")), PLACEHOLDER_MAX),
            initial_option=dit_option(spec.dit) if spec.dit is not None else None,
        )
        blocks.append(_input(Field.DIT, t(_("DIT")), chooser, dispatch=True))
    types = [
        Option(text=plain(truncate(type_label(t, k), OPTION_MAX), OPTION_MAX), value=k.code)
        for k in spec.types
    ][:STATIC_OPTIONS_MAX]
    type_element = StaticSelectElement(
        action_id=Field.TYPE,
        options=types,
        initial_option=next((o for o in types if o.value == v.type_code), None),
    )
    blocks.append(_input(Field.TYPE, t(_("Type")), type_element))
    if spec.dit is not None:
        # Both selects dispatch their action: the form is redrawn with the chosen people's
        # addresses, and on the sent form Mail destinataire follows Reçu par.
        no_contact = t(
            _(
                ":warning: {client} has no contact yet: add the client's contacts (REST API or "
                "`ditbot import`), then log the exchange."
            ),
            client=escape(truncate(spec.dit.client.name, 200)),
        )
        no_staff = t(_(":warning: No collaborator yet: add our staff first."))
        blocks.extend(
            _person_blocks(
                Field.SENT_BY,
                t(_("Sent by")),
                spec.senders,
                v.sent_by,
                t,
                no_contact if received else no_staff,
            )
        )
        blocks.extend(
            _person_blocks(
                Field.RECEIVED_BY,
                t(_("Received by")),
                spec.receivers,
                v.received_by,
                t,
                no_staff if received else no_contact,
            )
        )
    elif spec.choose_dit:
        note = t(_("Choose the DIT first: its contacts will then be offered."))
        blocks.append(ContextBlock(elements=[mrkdwn(note)]))
    if not received:
        email = PlainTextInputElement(
            action_id=Field.RECIPIENT_EMAIL, initial_value=v.recipient_email or None
        )
        blocks.append(
            _input(
                Field.RECIPIENT_EMAIL,
                t(_("Recipient e-mail")),
                email,
                optional=True,
                suffix=spec.recipient_suffix,
                hint=t(_("Follows “Received by”; change it if the mail went elsewhere.")),
            )
        )
    subject = PlainTextInputElement(
        action_id=Field.SUBJECT,
        max_length=SUBJECT_MAX,
        initial_value=v.subject[:SUBJECT_MAX] if v.subject else None,
    )
    blocks.append(_input(Field.SUBJECT, t(_("Subject")), subject, optional=True))
    detail = PlainTextInputElement(
        action_id=Field.DETAIL,
        multiline=True,
        max_length=DETAIL_MAX,
        placeholder=plain(t(_("What was said")), PLACEHOLDER_MAX),
        initial_value=v.detail[:DETAIL_MAX] if v.detail else None,
    )
    blocks.append(_input(Field.DETAIL, t(_("Detail")), detail))
    when = DateTimePickerElement(
        action_id=Field.OCCURRED_AT,
        initial_date_time=int(v.occurred_at.timestamp()) if v.occurred_at is not None else None,
    )
    blocks.append(
        _input(
            Field.OCCURRED_AT,
            t(_("Date of the exchange")),
            when,
            hint=t(_("Now by default; set it earlier for an exchange logged afterwards.")),
        )
    )
    if spec.editing:
        heading = t(_("Edit exchange"))
    elif received:
        heading = t(_("Log received"))
    else:
        heading = t(_("Log sent"))
    return View(
        type="modal",
        callback_id=callback_of(spec.direction),
        title=title(heading),
        submit=title(t(_("Save"))),
        close=title(t(_("Cancel"))),
        private_metadata=spec.metadata,
        blocks=blocks,
    )
