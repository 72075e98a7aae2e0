"""Every Slack identifier ditbot uses, defined once (CONTRACT.md section 4).

Routing and view builders use these names; nothing else spells a callback_id, action_id or
block_id. `StrEnum` members are plain strings, so they go straight into Block Kit and bolt.
"""

from __future__ import annotations

from enum import StrEnum

COMMAND = "/dit"


class Callback(StrEnum):
    """callback_id of modals and shortcuts."""

    EXCHANGES_PANEL = "exchanges_panel"
    EXCHANGE_RECEIVED = "exchange_received"
    EXCHANGE_SENT = "exchange_sent"
    MAIL_COMPOSE = "mail_compose"  # mail form (notify_on_close: true), built by the mail helper
    LOG_EXCHANGE = "log_exchange"  # message shortcut "log as exchange"
    EXCHANGE_DETAIL = "exchange_detail"  # read-only view of one exchange
    EXCHANGE_DELETE = "exchange_delete"  # confirm dialog of a delete
    NOTICE = "ditbot_notice"  # a modal that only tells something (errors inside modals)
    INBOUND_ATTACH = "inbound_attach"  # attach an unmatched mail to a DIT (bot/handlers/inbound)


class Action(StrEnum):
    """action_id of buttons, menus and selects outside form fields."""

    ADD_RECEIVED = "add_received"
    ADD_SENT = "add_sent"
    COMPOSE_MAIL = "compose_mail"  # handled by bot/handlers/mail.py (mail helper)
    EXCHANGE_MENU = "exchange_menu"  # overflow: values view:<id>, edit:<id>, delete:<id>
    OPEN_PANEL = "open_panel"  # value = DIT number
    DRAFT_RESUME = "draft_resume"  # value = draft id (mail helper)
    DRAFT_DISCARD = "draft_discard"  # value = draft id (mail helper)
    DRAFT_SAVE = "draft_save"  # "keep as draft" button inside the mail form (mail helper)
    # Paging of the panel's exchanges; value = page number. Two ids, not one: Slack refuses
    # two elements with one action_id in a block (invalid_arguments), and both buttons share
    # the paging block.
    PANEL_NEWER = "panel_newer"
    PANEL_OLDER = "panel_older"
    PANEL_PAGE = "panel_page"  # the single id of before: still routed for panels left open
    SEARCH_MORE = "search_more"  # not used yet; reserved for paging search results
    INBOUND_ATTACH = "inbound_attach"  # on an unmatched mail's post; value = inbound mail id
    INBOUND_DISMISS = "inbound_dismiss"  # on an unmatched mail's post; value = inbound mail id
    # The reminder DM of a client's wait (bot/handlers/reminders.py).
    REMINDER_ACK = "reminder_ack"  # "I'm on it"; value = wait id
    REMINDER_CALL = "reminder_call"  # "log a call now": the sent form, type call; value = DIT
    REMINDER_SNOOZE = "reminder_snooze"  # select; option value = `<wait id>:<hours|morning>`


class Field(StrEnum):
    """Form fields: the input block_id is `<field>` or `<field>.<suffix>`, action_id `<field>`."""

    TYPE = "type"
    SENT_BY = "sent_by"
    RECEIVED_BY = "received_by"
    RECIPIENT_EMAIL = "recipient_email"
    SUBJECT = "subject"
    DETAIL = "detail"
    OCCURRED_AT = "occurred_at"  # date and time of the exchange (datetimepicker)
    DIT = "dit"  # DIT chooser of the message shortcut form
    TO = "to"  # mail form (mail helper)
    REASON = "reason"  # optional reason of a delete


class MenuVerb(StrEnum):
    """Option values of the per-exchange overflow menu are `<verb>:<exchange id>`."""

    VIEW = "view"
    EDIT = "edit"
    DELETE = "delete"


def block_id(field: str, suffix: str | int | None = None) -> str:
    """The block_id of a form field; a new `suffix` makes Slack forget what was typed."""
    return str(field) if suffix in (None, "") else f"{field}.{suffix}"


def field_of(block: str) -> str:
    """The field name of a block_id (`received_by.3` -> `received_by`)."""
    return block.split(".", 1)[0]


def menu_value(verb: MenuVerb, exchange_id: int) -> str:
    return f"{verb}:{exchange_id}"


def parse_menu_value(value: str) -> tuple[MenuVerb, int] | None:
    """`edit:12` -> (MenuVerb.EDIT, 12); None for anything else."""
    verb, _, number = value.partition(":")
    if verb not in MenuVerb.__members__.values() or not number.isdigit():
        return None
    return MenuVerb(verb), int(number)
