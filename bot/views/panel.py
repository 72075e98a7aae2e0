"""The exchanges panel (`exchanges_panel`): the DIT, its indicators, a page of exchanges."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    Option,
    OverflowMenuElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.ids import Action, Callback, MenuVerb, menu_value
from bot.views.dit import counter, last_speaker, state_label
from bot.views.exchange import exchange_blocks
from bot.views.text import (
    BUTTON_MAX,
    HEADER_MAX,
    OPTION_MAX,
    escape,
    mrkdwn,
    plain,
    title,
    truncate,
)
from ditbot.core.i18n import Translator, _
from ditbot.domain.exchanges import Indicators
from storage.models import Dit, Exchange

PAGE_SIZE = 20  # 20 exchanges + 10 fixed blocks stays far below the 100 blocks of a modal


@dataclass(frozen=True)
class Row:
    """One exchange of the panel and what the viewer may do with it."""

    exchange: Exchange
    can_edit: bool
    can_delete: bool


def _menu(t: Translator, row: Row) -> OverflowMenuElement:
    ident = row.exchange.id
    options = [Option(text=plain(t(_("View")), OPTION_MAX), value=menu_value(MenuVerb.VIEW, ident))]
    if row.can_edit:
        options.append(
            Option(text=plain(t(_("Edit")), OPTION_MAX), value=menu_value(MenuVerb.EDIT, ident))
        )
    if row.can_delete:
        options.append(
            Option(
                text=plain(t(_("Delete…")), OPTION_MAX), value=menu_value(MenuVerb.DELETE, ident)
            )
        )
    return OverflowMenuElement(action_id=Action.EXCHANGE_MENU, options=options)


def _button(text: str, action: str, value: str, style: str | None = None) -> ButtonElement:
    return ButtonElement(action_id=action, text=plain(text, BUTTON_MAX), value=value, style=style)


def dit_facts(t: Translator, dit: Dit) -> str:
    contact = dit.contact
    lines = [f"*{escape(truncate(dit.title, 200))}*"]
    lines.append(t(_("Client: {client}"), client=escape(truncate(dit.client.name, 200))))
    if contact is not None:
        mails = " / ".join(escape(m) for m in (contact.mail1, contact.mail2) if m)
        who = escape(truncate(contact.name, 200)) + (f" ({mails})" if mails else "")
        lines.append(t(_("Contact: {contact}"), contact=who))
    if dit.technician is not None:
        lines.append(t(_("Technician: {name}"), name=escape(truncate(dit.technician.name, 200))))
    lines.append(t(_("State: {state}"), state=state_label(t, dit.state)))
    return "\n".join(lines)


def panel_view(
    t: Translator,
    dit: Dit,
    rows: Sequence[Row],
    *,
    page: int,
    total: int,
    metadata: str,
) -> View:
    """The panel modal; `rows` is page `page` (newest first) of `total` live exchanges."""
    indicators = Indicators.of(dit)
    blocks: list[Block] = [
        HeaderBlock(text=plain(dit.number, HEADER_MAX)),
        SectionBlock(text=mrkdwn(dit_facts(t, dit))),
    ]
    status = counter(t, indicators)
    speaker = last_speaker(t, indicators)
    blocks.append(ContextBlock(elements=[mrkdwn(status + (f" · {speaker}" if speaker else ""))]))
    if dit.state.closed:
        closed = t(
            _("This DIT is {state}: exchanges can no longer be logged, changed or deleted."),
            state=state_label(t, dit.state),
        )
        blocks.append(ContextBlock(elements=[mrkdwn(f":lock: {closed}")]))
    else:
        blocks.append(
            ActionsBlock(
                block_id="panel_actions",
                elements=[
                    _button(t(_("Log received")), Action.ADD_RECEIVED, dit.number, "primary"),
                    _button(t(_("Log sent")), Action.ADD_SENT, dit.number),
                    _button(t(_("Write a mail")), Action.COMPOSE_MAIL, dit.number),
                ],
            )
        )
    blocks.append(DividerBlock())
    if not rows:
        blocks.append(SectionBlock(text=mrkdwn(t(_("No exchange yet on this DIT.")))))
    for row in rows:
        blocks.extend(
            exchange_blocks(
                t, row.exchange, block_id=f"exchange.{row.exchange.id}", accessory=_menu(t, row)
            )
        )
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    if pages > 1:
        first = page * PAGE_SIZE + 1
        last = min((page + 1) * PAGE_SIZE, total)
        shown = t(_("Exchanges {first}–{last} of {total}"), first=first, last=last, total=total)
        blocks.append(ContextBlock(elements=[mrkdwn(shown)]))
        paging = []
        if page > 0:
            paging.append(_button(t(_("◀ Newer")), Action.PANEL_NEWER, str(page - 1)))
        if page + 1 < pages:
            paging.append(_button(t(_("Older ▶")), Action.PANEL_OLDER, str(page + 1)))
        blocks.append(ActionsBlock(block_id="panel_paging", elements=paging))
    return View(
        type="modal",
        callback_id=Callback.EXCHANGES_PANEL,
        title=title(t(_("Exchanges"))),
        close=title(t(_("Close"))),
        private_metadata=metadata,
        blocks=blocks,
    )
