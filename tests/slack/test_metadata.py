"""Sealed private_metadata: one type per modal, refused when altered or of another modal."""

from __future__ import annotations

import pytest

from bot.metadata import (
    METADATA_MAX,
    DeleteMeta,
    ExchangeFormMeta,
    ForgedMetadata,
    MailFormMeta,
    PanelMeta,
    PanelRef,
    seal,
    unseal,
)
from storage.vocabulary import Direction
from tests.credentials import SIGNING_SECRET

SECRET = SIGNING_SECRET
PANEL = PanelRef("V0PANEL", "1700000000.abc")
METAS = [
    PanelMeta(dit="DIT-2026-0001", page=2),
    ExchangeFormMeta(direction=Direction.SENT, dit="DIT-2026-0001", exchange=12, panel=PANEL),
    ExchangeFormMeta(direction=Direction.RECEIVED, choose_dit=True),
    DeleteMeta(dit="DIT-2026-0001", exchange=12, panel=PANEL),
    MailFormMeta(dit="DIT-2026-0001"),
    MailFormMeta(dit="DIT-2026-0001", panel=PANEL),
]


@pytest.mark.parametrize("meta", METAS, ids=lambda m: type(m).__name__)
def test_each_modal_gets_back_what_it_sealed(meta: object) -> None:
    sealed = seal(SECRET, meta)
    assert len(sealed) <= METADATA_MAX
    assert unseal(SECRET, sealed, type(meta)) == meta


def test_the_dit_number_is_readable_in_the_metadata() -> None:
    sealed = seal(SECRET, DeleteMeta(dit="DIT-2026-0001", exchange=12, panel=PANEL))
    assert '"dit":"DIT-2026-0001"' in sealed and '"exchange":12' in sealed


def test_metadata_of_one_modal_is_refused_as_another_s() -> None:
    sealed = seal(SECRET, PanelMeta(dit="DIT-2026-0001"))
    for kind in (MailFormMeta, DeleteMeta, ExchangeFormMeta):
        with pytest.raises(ForgedMetadata):
            unseal(SECRET, sealed, kind)


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        '{"dit":"DIT-2026-0003","page":0}',
        '{"dit":"DIT-2026-0003","page":0}~' + "0" * 32,
    ],
)
def test_missing_or_forged_metadata_is_refused(raw: str | None) -> None:
    with pytest.raises(ForgedMetadata) as refused:
        unseal(SECRET, raw, PanelMeta)
    assert "altered" in refused.value.message("en")


def test_another_secret_is_refused() -> None:
    with pytest.raises(ForgedMetadata):
        unseal("another-secret", seal(SECRET, PanelMeta(dit="DIT-2026-0001")), PanelMeta)
