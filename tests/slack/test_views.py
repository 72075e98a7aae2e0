"""View builders on extreme data: every output within Slack's limits (no Slack needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from bot.views.forms import FormSpec, Person, Values, exchange_form, option_text
from bot.views.home import home_view
from bot.views.panel import Row, panel_view
from bot.views.text import escape, truncate
from ditbot.core.i18n import Translator
from storage.vocabulary import Direction, DitState
from tests.slack.limits import LimitError, check_view

LONG = "Établissements Très-Long-Nom & Associés <Maintenance> " * 6


def test_option_text_fits_75_and_keeps_the_mails() -> None:
    person = Person(
        "X",
        "Jean-Baptiste de La Fontaine-Saint-Exupéry du Bois",
        "jb.delafontaine@entreprise-tres-longue.example",
        "jb@e.example",
    )
    text = option_text(person)
    assert len(text) <= 75
    assert text.startswith("Jean-Baptiste") and "jb@e.example" in text
    short = option_text(Person("Y", "Paul Martin", "p.martin@acme.example", "paul@acme.example"))
    assert short == "Paul Martin · p.martin@acme.example · paul@acme.example"
    huge = option_text(Person("Z", "N" * 200, "m" * 120 + "@x.example", "o" * 120 + "@y.example"))
    assert len(huge) <= 75


def test_truncate_never_leaves_half_an_escape() -> None:
    text = truncate(escape("x" * 10 + "&&&&"), 15)
    assert not text.rstrip("…").endswith(("&", "&a", "&am", "&amp"))
    assert len(text) <= 15


def kind(code: str, relance: bool = False) -> Any:
    return SimpleNamespace(
        code=code, label_fr=code.title(), label_en=code.title(), is_relance=relance
    )


def fake_dit(**extra: Any) -> Any:
    contact = SimpleNamespace(code="C", name=LONG[:200], mail1="a@b.example", mail2="c@d.example")
    return SimpleNamespace(
        number="DIT-2026-" + "9" * 31,
        title=LONG[:300],
        state=DitState.EN_COURS,
        client=SimpleNamespace(name=LONG[:200]),
        contact=contact,
        technician=SimpleNamespace(name=LONG[:200]),
        exchange_count=45,
        relance_count=1,
        last_direction=Direction.RECEIVED,
        last_is_relance=True,
        last_exchange_at=datetime.now(UTC),
        **extra,
    )


def fake_exchange(ident: int) -> Any:
    person = SimpleNamespace(name=LONG[:200], code="P")
    return SimpleNamespace(
        id=ident,
        direction="received",
        type=kind("relance", True),
        occurred_at=datetime.now(UTC),
        sent_by_collaborator=None,
        sent_by_contact=person,
        received_by_collaborator=person,
        received_by_contact=None,
        recipient_email="x" * 60 + "@example.com",
        subject=LONG[:300],
        detail=("<!channel> & " * 300)[:3000],
        mail_status="failed",
        mail_error="E" * 2000,
    )


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_panel_with_extreme_values_is_within_limits(locale: str) -> None:
    rows = [Row(fake_exchange(i), True, True) for i in range(20)]
    view = panel_view(
        Translator(locale), fake_dit(), rows, page=1, total=45, metadata="m" * 200
    ).to_dict()
    check_view(view)
    assert len(view["blocks"]) <= 100


def test_form_with_many_people_switches_to_external_select() -> None:
    staff = [Person(f"S{i}", LONG[:200], f"s{i}@sav.example") for i in range(150)]
    contacts = [Person(f"C{i}", f"Contact {i}", f"c{i}@x.example") for i in range(3)]
    spec = FormSpec(
        direction="sent",
        dit=fake_dit(),
        types=[kind(f"t{i}") for i in range(8)],
        senders=staff,
        receivers=contacts,
        values=Values(
            type_code="t1",
            sent_by="S3",
            received_by="C1",
            detail="é" * 3000,
            subject="s" * 300,
            occurred_at=datetime.now(UTC),
        ),
        metadata="m" * 500,
    )
    view = exchange_form(Translator("fr"), spec).to_dict()
    check_view(view)
    elements = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert elements["sent_by"]["type"] == "external_select"  # 150 > 100 options
    assert elements["sent_by"]["initial_option"]["value"] == "S3"
    assert elements["received_by"]["type"] == "static_select"


def test_home_is_cut_to_100_blocks() -> None:
    dits = [fake_dit() for _ in range(40)]
    drafts = [{"type": "section", "text": {"type": "mrkdwn", "text": "d"}}] * 120
    view = home_view(Translator("en"), LONG, dits, dits, drafts).to_dict()
    check_view(view)
    assert len(view["blocks"]) == 100


def test_limits_checker_catches_what_slack_refuses() -> None:
    base: dict[str, Any] = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "ok"},
        "blocks": [],
    }
    with pytest.raises(LimitError):
        check_view({**base, "title": {"type": "plain_text", "text": "x" * 25}})
    with pytest.raises(LimitError):
        check_view({**base, "blocks": [{"type": "divider"}] * 101})
    with pytest.raises(LimitError):
        check_view(
            {
                **base,
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            }
        )
    option = {"text": {"type": "plain_text", "text": "o" * 76}, "value": "v"}
    select = {"type": "static_select", "action_id": "a", "options": [option]}
    with pytest.raises(LimitError):
        check_view(
            {
                **base,
                "blocks": [
                    {
                        "type": "section",
                        "text": {"type": "mrkdwn", "text": "s"},
                        "accessory": select,
                    }
                ],
            }
        )
