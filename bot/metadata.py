"""Tamper-proof, typed `private_metadata`: one frozen dataclass per modal, sealed with an HMAC.

A modal's private_metadata comes back from the client inside the view_submission; anyone able
to send a signed request could forge it. Sealing it means a submission can only name the DIT
(and exchange) we put there ourselves. The MAC also covers the kind of modal, so the sealed
metadata of one modal is refused as another's (`unseal(secret, raw, DeleteMeta)`).

Sealed form: compact JSON, `~`, the MAC (CONTRACT.md: it carries the DIT number, and the
exchange id when editing).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Protocol, Self, TypeVar

from ditbot.core.i18n import _
from ditbot.domain.errors import NotAllowed
from storage.vocabulary import Direction

SEPARATOR = "~"
METADATA_MAX = 3000  # Slack refuses a longer private_metadata
ALTERED = _("This form was altered or is too old: close it and start again.")

JsonValue = str | int | bool | None
Json = dict[str, JsonValue]


class ForgedMetadata(NotAllowed):
    """The metadata was not written by us (or was altered)."""


def _forged() -> ForgedMetadata:
    return ForgedMetadata(ALTERED)


def _text(data: Mapping[str, object], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise _forged()
    return value


def _optional_text(data: Mapping[str, object], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _optional_int(data: Mapping[str, object], key: str) -> int | None:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _int(data: Mapping[str, object], key: str) -> int:
    value = _optional_int(data, key)
    if value is None:
        raise _forged()
    return value


def _direction(data: Mapping[str, object]) -> Direction:
    try:
        return Direction(_text(data, "direction"))
    except ValueError:
        raise _forged() from None


@dataclass(frozen=True)
class PanelRef:
    """The exchanges panel a modal was pushed from, to redraw it after a save."""

    view_id: str
    hash: str | None = None
    page: int = 0  # the page the user was on: the redraw after a save or delete keeps it

    def to_json(self) -> Json:
        return {"panel": self.view_id, "hash": self.hash, "page": self.page}

    @classmethod
    def of(cls, data: Mapping[str, object]) -> PanelRef | None:
        view_id = _optional_text(data, "panel")
        if not view_id:
            return None
        page = max(_optional_int(data, "page") or 0, 0)
        return cls(view_id, _optional_text(data, "hash"), page)


@dataclass(frozen=True)
class PanelMeta:
    """The exchanges panel (`exchanges_panel`) of one DIT."""

    KIND: ClassVar[str] = "panel"
    dit: str
    page: int = 0

    def to_json(self) -> Json:
        return {"dit": self.dit, "page": self.page}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        return cls(dit=_text(data, "dit"), page=_optional_int(data, "page") or 0)


@dataclass(frozen=True)
class ExchangeFormMeta:
    """A received / sent form: new, edit (`exchange`), or the shortcut's (`choose_dit`)."""

    KIND: ClassVar[str] = "exchange_form"
    direction: Direction
    dit: str | None = None  # None only on the shortcut's form before a DIT is chosen
    exchange: int | None = None  # the exchange being edited
    panel: PanelRef | None = None
    choose_dit: bool = False  # the DIT is a field of the form (message shortcut)
    # The version of the exchange the edit form was opened on (ditbot.domain.exchanges
    # .version_of): a submission made on an older one is refused, never a silent revert.
    version: int | None = None

    def to_json(self) -> Json:
        panel = self.panel.to_json() if self.panel else {"panel": None, "hash": None, "page": 0}
        return {
            "dit": self.dit,
            "direction": self.direction.value,
            "exchange": self.exchange,
            "choose": self.choose_dit,
            "version": self.version,
            **panel,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        return cls(
            direction=_direction(data),
            dit=_optional_text(data, "dit"),
            exchange=_optional_int(data, "exchange"),
            panel=PanelRef.of(data),
            choose_dit=data.get("choose") is True,
            version=_optional_int(data, "version"),
        )


@dataclass(frozen=True)
class DeleteMeta:
    """The confirm dialog of a delete (`exchange_delete`), pushed on the panel."""

    KIND: ClassVar[str] = "exchange_delete"
    dit: str
    exchange: int
    panel: PanelRef

    def to_json(self) -> Json:
        return {"dit": self.dit, "exchange": self.exchange, **self.panel.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        panel = PanelRef.of(data)
        if panel is None:
            raise _forged()
        return cls(dit=_text(data, "dit"), exchange=_int(data, "exchange"), panel=panel)


@dataclass(frozen=True)
class MailFormMeta:
    """The mail form (`mail_compose`), pushed on `panel` or opened alone."""

    KIND: ClassVar[str] = "mail_form"
    dit: str
    panel: PanelRef | None = None

    def to_json(self) -> Json:
        return {"dit": self.dit, **(self.panel.to_json() if self.panel else {})}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        return cls(dit=_text(data, "dit"), panel=PanelRef.of(data))


@dataclass(frozen=True)
class InboundAttachMeta:
    """The "attach to a DIT" modal of an unmatched mail, and the post it came from."""

    KIND: ClassVar[str] = "inbound_attach"
    inbound: int
    channel: str
    ts: str

    def to_json(self) -> Json:
        return {"inbound": self.inbound, "channel": self.channel, "ts": self.ts}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        return cls(
            inbound=_int(data, "inbound"), channel=_text(data, "channel"), ts=_text(data, "ts")
        )


class Meta(Protocol):
    KIND: ClassVar[str]

    def to_json(self) -> Json: ...


M = TypeVar("M", PanelMeta, ExchangeFormMeta, DeleteMeta, MailFormMeta, InboundAttachMeta)


def _mac(secret: str, kind: str, text: str) -> str:
    message = f"{kind}\n{text}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def seal(secret: str, meta: Meta) -> str:
    """`meta` as compact JSON followed by its MAC."""
    text = json.dumps(meta.to_json(), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    sealed = f"{text}{SEPARATOR}{_mac(secret, meta.KIND, text)}"
    if len(sealed) > METADATA_MAX:
        raise ValueError(f"{meta.KIND} metadata over {METADATA_MAX} characters")
    return sealed


def unseal(secret: str, sealed: str | None, kind: type[M]) -> M:
    """The `kind` metadata of a modal; ForgedMetadata when missing, altered or not ours."""
    text, sep, mac = (sealed or "").rpartition(SEPARATOR)
    if not sep or not hmac.compare_digest(mac, _mac(secret, kind.KIND, text)):
        raise _forged()
    try:
        data = json.loads(text)
    except ValueError:
        raise _forged() from None
    if not isinstance(data, dict):
        raise _forged()
    return kind.from_json(data)
