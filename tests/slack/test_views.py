"""View builders on extreme data: every output within Slack's limits (no Slack needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, DividerBlock, SectionBlock
from slack_sdk.models.views import View

from bot.views import common, exchange, help, mail, search
from bot.views.choice import chosen_line
from bot.views.forms import FormSpec, Person, Values, exchange_form, person_option
from bot.views.home import home_view, unlinked_home_view
from bot.views.panel import Row, panel_view
from bot.views.text import escape, plain, truncate
from ditbot.core.i18n import Translator
from ditbot.domain.mail import Recipient
from storage.vocabulary import Direction, DitState, Source
from tests.slack.limits import LimitError, check_message, check_view

LONG = "Établissements Très-Long-Nom & Associés <Maintenance> " * 6
# Client text that would ping, link or format if it reached Slack unescaped or non-verbatim.
EVIL = "<!channel> @here <@U0123> <https://evil.example|clic> *gras* _it_ &amp; "


def test_a_person_option_shows_the_name_and_both_mails_and_the_line_under_shows_them_whole() -> (
    None
):
    """Mail 1 and Mail 2 are seen while choosing (the option's description) and whole under
    the select once chosen, however long they are."""
    celine = Person(
        "BM-CM",
        "Céline Ménard",
        "celine@boulangerie-menard.example",
        "compta@boulangerie-menard.example",
    )
    option = person_option(celine).to_dict()
    assert option["text"]["text"] == "Céline Ménard"
    assert option["description"]["text"] == (
        "celine@boulangerie-menard.example · compta@boulangerie-menard.example"
    )
    line = chosen_line(Translator("fr"), celine.choice)
    assert "celine@boulangerie-menard.example" in line
    assert "compta@boulangerie-menard.example" in line
    long_one = Person("X", "N" * 200, "m" * 120 + "@x.example", "o" * 120 + "@y.example")
    option = person_option(long_one).to_dict()
    assert len(option["text"]["text"]) <= 75 and len(option["description"]["text"]) <= 75
    line = chosen_line(Translator("en"), long_one.choice)
    assert "m" * 120 + "@x.example" in line and "o" * 120 + "@y.example" in line


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
        dit=fake_dit(),
        source=Source.PORTAL,
        author_collaborator=SimpleNamespace(name=LONG[:200]),
        created_at=datetime.now(UTC) - timedelta(days=1),
        updated_at=datetime.now(UTC),
        # more out-of-office answers and delivery reports than the detail shows, long ones
        mail_notes=[
            SimpleNamespace(
                status="bounce" if n % 2 else "auto_reply",
                received_at=datetime.now(UTC),
                reason="R" * 3000,
                text=("<!channel> " * 400)[:4000],
            )
            for n in range(9)
        ],
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


# -- every builder, extreme values, through slack_sdk's own validation -----------------------
def evil_dit(state: DitState = DitState.EN_COURS) -> Any:
    dit = fake_dit()
    dit.state = state
    dit.title = (EVIL * 20)[:300]
    dit.client = SimpleNamespace(name=(EVIL * 10)[:200])
    return dit


def evil_exchange(ident: int) -> Any:
    found = fake_exchange(ident)
    found.subject = (EVIL * 10)[:300]
    found.detail = (EVIL * 60)[:3000]
    found.mail_error = (EVIL * 60)[:2000]
    found.dit = evil_dit()
    return found


def evil_draft(ident: int) -> Any:
    return SimpleNamespace(
        id=ident,
        dit=evil_dit(),
        subject=(EVIL * 10)[:300],
        detail=(EVIL * 60)[:3000],
        updated_at=datetime.now(UTC),
    )


def every_output(locale: str) -> dict[str, View | list[Block] | dict[str, Any]]:
    """Each view, block list and message ditbot builds, fed the longest, nastiest data."""
    t = Translator(locale)
    dit = evil_dit()
    closed = evil_dit(DitState.ANNULEE)
    rows = [Row(evil_exchange(i), True, True) for i in range(20)]
    people = [Person(f"S{i}", (EVIL * 5)[:200], f"{'m' * 120}@x.example") for i in range(150)]
    few = [Person(f"C{i}", (EVIL * 5)[:200], "a@b.example", "c@d.example") for i in range(3)]
    values = Values(
        type_code="001" + "t" * 27,
        sent_by="S3",
        received_by="C1",
        recipient_email="r" * 244 + "@x.example",
        subject="s" * 400,
        detail="é" * 4000,
        occurred_at=datetime.now(UTC),
    )
    # Column sizes of storage/models.py: type code 30, labels 60, e-mail 254.
    types = [
        SimpleNamespace(code=f"{i:03d}" + "t" * 27, label_fr="É" * 60, label_en="E" * 60)
        for i in range(120)
    ]
    drafts = [evil_draft(i) for i in range(12)]
    recipients = [
        Recipient(f"C{i}", (EVIL * 5)[:200], 1 + i % 2, "p@x.example") for i in range(150)
    ]
    outputs: dict[str, View | list[Block] | dict[str, Any]] = {
        # notice_modal and ephemeral take text their caller escaped (bot/errors.py does).
        "notice": common.notice_modal(escape(EVIL * 100), t),
        "ephemeral": common.ephemeral(escape(EVIL), help.help_blocks(t, EVIL * 10)[0]),
        "detail": exchange.detail_modal(t, evil_exchange(1)),
        "delete": exchange.delete_modal(t, evil_exchange(1), "m" * 3000),
        "panel": panel_view(t, dit, rows, page=1, total=45, metadata="m" * 3000),
        "panel closed": panel_view(t, closed, rows[:3], page=0, total=3, metadata="m"),
        "panel empty": panel_view(t, dit, [], page=0, total=0, metadata="m"),
        "help": help.help_blocks(t, EVIL * 10)[0],
        "search": search.results(t, EVIL * 10, [dit] * 20, 21)[0],
        "closed dit": search.closed_dit(t, closed)[0],
        "home": home_view(t, EVIL * 10, [dit] * 40, [dit] * 40, mail.home_drafts(t, drafts)),
        "unlinked home": unlinked_home_view(t, EVIL * 100),
        "home drafts": mail.home_drafts(t, drafts),
        "mail failed": mail.mail_failed_message(t, evil_exchange(2)),
        "draft kept": mail.draft_kept_message(t, evil_draft(3)),
        "draft gone": mail.draft_gone_message(t, EVIL * 10),
    }
    for direction in (Direction.RECEIVED, Direction.SENT):
        for editing, choose in ((False, False), (True, False), (False, True)):
            for many in (False, True):
                spec = FormSpec(
                    direction=direction,
                    dit=dit,
                    types=types,
                    senders=people if many else few,
                    receivers=few if many else people[:100],
                    values=values,
                    metadata="m" * 3000,
                    editing=editing,
                    choose_dit=choose,
                    recipient_suffix=999,
                    notes=[escape(EVIL * 100)],
                )
                key = f"form {direction} editing={editing} choose={choose} many={many}"
                outputs[key] = exchange_form(t, spec)
    for resumed, saved in ((False, None), (True, None), (False, datetime.now(UTC))):
        for choices in (recipients, []):
            form = mail.MailForm(
                dit=dit,
                recipients=choices,
                to="C1:2",
                subject="s" * 400,
                detail="é" * 4000,
                metadata="m" * 3000,
                sender=EVIL * 10,
                suffix="9" * 40,
                draft_saved_at=saved,
                resumed=resumed,
            )
            outputs[f"mail form resumed={resumed} saved={bool(saved)} {len(choices)}"] = (
                mail.mail_form(t, form)
            )
    return outputs


def text_objects(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn"):
            found.append(node)
        for value in node.values():
            found += text_objects(value)
    elif isinstance(node, list):
        for value in node:
            found += text_objects(value)
    return found


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_every_builder_passes_slack_sdk_validation_on_extreme_values(locale: str) -> None:
    outputs = every_output(locale)
    assert len(outputs) > 25
    for name, output in outputs.items():
        # .to_dict() runs slack_sdk's validators (lengths, counts): it raises on a violation.
        if isinstance(output, View):
            payload: dict[str, Any] = output.to_dict()
            check_view(payload, name)
        elif isinstance(output, list):
            payload = {"text": "fallback", "blocks": [block.to_dict() for block in output]}
            check_message(payload, name)
        else:
            assert output["text"], f"{name}: a message needs its fallback text"
            payload = {**output, "blocks": [block.to_dict() for block in output["blocks"]]}
            check_message(payload, name)
        # plain_text never pings, links or formats; mrkdwn and the fallback text must be escaped.
        texts = text_objects(payload)
        parsed = [str(payload.get("text") or "")]
        parsed += [o["text"] for o in texts if o["type"] == "mrkdwn"]
        for raw in ("<!channel>", "<@U0123>", "<https://evil", "<Maintenance>"):
            assert not any(raw in text for text in parsed), f"{name}: {raw!r} not escaped"
        for text in texts:
            if text["type"] == "mrkdwn":
                assert text.get("verbatim") is True, f"{name}: mrkdwn without verbatim: {text}"
            else:
                assert text.get("emoji") is False, f"{name}: plain_text with emoji codes: {text}"


def test_slack_sdk_models_refuse_what_slack_refuses() -> None:
    """The validation the test above relies on is real: over-long parts raise."""
    with pytest.raises(SlackObjectFormationError):
        View(type="modal", title="x" * 25, blocks=[DividerBlock()]).to_dict()
    with pytest.raises(SlackObjectFormationError):
        View(type="home", blocks=[DividerBlock()] * 101).to_dict()
    with pytest.raises(SlackObjectFormationError):
        SectionBlock(text=plain("x" * 3001, 4000)).to_dict()
