"""Drafts: kept while typing, DM on close, listed on the App Home, resumed, discarded, sent."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.workers.author_dm import SlackDmWorker
from ditbot.core.context import Context
from ditbot.domain import drafts
from ditbot.domain.errors import NotFound
from ditbot.mail.worker import MailWorker
from ditbot.playground.slack_api import FakeSlack
from storage import repositories as repo
from storage.models import Draft, OutboxItem
from tests.mail.conftest import drive, exchange
from tests.mail.smtp_server import SmtpServer
from tests.mail.test_slack_mail import compose_from_panel, input_element, mails
from tests.slack.harness import SlackDriver, block_actions_payload, texts, view_state


def all_drafts(ctx: Context) -> list[Draft]:
    with ctx.db.session() as session:
        return list(session.query(Draft).order_by(Draft.id))


def type_detail(
    driver: SlackDriver, form: dict[str, Any], text: str, *, user: str = "UJDU", **changes: Any
) -> None:
    """What Slack sends while the user types in the message input (dispatch_action)."""
    block = input_element(form, "detail")["_block"]
    action = {
        "type": "plain_text_input",
        "block_id": block["block_id"],
        "action_id": "detail",
        "value": text,
        "action_ts": "1700000000.000100",
    }
    payload = block_actions_payload(
        user=user,
        action=action,
        trigger_id=driver.fake.new_trigger_id(),
        view=form,
        state=view_state(form, {"detail": text, **changes}),
    )
    assert driver.post_interactive(payload).status_code == 200


def dm_to(slack: FakeSlack, user: str) -> dict[str, Any]:
    call = slack.calls_to("chat.postMessage")[-1]
    assert call.args["channel"] == user
    return {"blocks": call.args["blocks"], "text": call.args["text"], "ts": call.response["ts"]}


def test_typing_then_closing_keeps_a_draft_dms_it_and_lists_it_on_the_home(
    driver: SlackDriver, slack: FakeSlack, ctx: Context, dm_worker: SlackDmWorker
) -> None:
    _, form = compose_from_panel(driver)
    # Slack sends the whole state while the user types in the message (dispatch_action).
    type_detail(driver, form, "Bonjour, suite à votre appel", to="ACME-CL:2")
    [draft] = all_drafts(ctx)
    assert (draft.detail, draft.to_email) == ("Bonjour, suite à votre appel", "ACME-CL:2")

    driver.close(form)  # view_closed: no input values at all
    drive([dm_worker], lambda: bool(slack.calls_to("chat.postMessage")))
    dm = dm_to(slack, "UJDU")
    assert "gardé en brouillon" in dm["text"] and "DIT-2026-0001" in dm["text"]
    assert "Bonjour, suite à votre appel" in texts(dm)
    buttons = [e for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        ("draft_resume", str(draft.id)),
        ("draft_discard", str(draft.id)),
    ]
    home = driver.home("UJDU")
    assert "Mes brouillons" in texts(home) and "Bonjour, suite à votre appel" in texts(home)

    # Resume from the DM: the form comes back with what was typed, then Send removes the draft.
    driver.click(dm, "draft_resume", str(draft.id))
    resumed = driver.last_view("views.open")
    assert resumed["callback_id"] == "mail_compose"
    assert input_element(resumed, "detail")["initial_value"] == "Bonjour, suite à votre appel"
    assert input_element(resumed, "to")["initial_option"]["value"] == "ACME-CL:2"
    assert "Votre brouillon a été repris" in texts(resumed)
    driver.submit(resumed, {"detail": "Bonjour, suite à votre appel, nous passons jeudi."})
    assert all_drafts(ctx) == []
    [mail] = mails(ctx)
    assert mail.recipient_email == "claire@acme.example"


def test_keep_as_draft_button_saves_and_says_so(driver: SlackDriver, ctx: Context) -> None:
    _, form = compose_from_panel(driver)
    driver.click(form, "draft_save", "DIT-2026-0001", changes={"detail": "À compléter"})
    [draft] = all_drafts(ctx)
    assert draft.detail == "À compléter"
    updated = driver.last_view("views.update")
    assert updated["id"] == form["id"]
    assert "Brouillon enregistré" in texts(updated)
    assert "repris" not in texts(updated)
    assert updated["private_metadata"] == form["private_metadata"]


def test_closing_an_untouched_form_keeps_nothing(
    driver: SlackDriver, slack: FakeSlack, ctx: Context, dm_worker: SlackDmWorker
) -> None:
    _, form = compose_from_panel(driver)
    driver.close(form)
    assert all_drafts(ctx) == []
    assert not dm_worker.run_once()
    assert slack.calls_to("chat.postMessage") == []


def test_discard_from_the_dm_removes_the_draft_and_the_buttons(
    driver: SlackDriver, slack: FakeSlack, ctx: Context, dm_worker: SlackDmWorker
) -> None:
    _, form = compose_from_panel(driver)
    type_detail(driver, form, "Brouillon à jeter")
    driver.close(form)
    drive([dm_worker], lambda: bool(slack.calls_to("chat.postMessage")))
    [draft] = all_drafts(ctx)
    driver.click(dm_to(slack, "UJDU"), "draft_discard", str(draft.id))
    assert all_drafts(ctx) == []
    replaced = driver.last_response()
    assert replaced["replace_original"] in (True, "true")
    assert "supprimé" in replaced["text"]
    assert "Brouillon à jeter" not in texts(driver.home("UJDU"))


def test_a_keystroke_arriving_after_send_does_not_bring_the_draft_back(
    driver: SlackDriver, ctx: Context
) -> None:
    _, form = compose_from_panel(driver)
    type_detail(driver, form, "Bonjour")
    driver.submit(form, {"detail": "Bonjour, à jeudi"})
    assert all_drafts(ctx) == []
    type_detail(driver, form, "Bonjour, à jeudi")  # late block_actions of the same form
    assert all_drafts(ctx) == []


def test_opening_the_form_again_restores_the_draft_of_that_dit(
    driver: SlackDriver, ctx: Context
) -> None:
    _, form = compose_from_panel(driver)
    type_detail(driver, form, "Première version", subject="Mon objet")
    driver.close(form)
    _, again = compose_from_panel(driver)
    assert input_element(again, "detail")["initial_value"] == "Première version"
    assert input_element(again, "subject")["initial_value"] == "Mon objet"


def test_drafts_are_per_user_and_a_sent_mail_removes_only_its_own(
    driver: SlackDriver, ctx: Context, smtp: SmtpServer, worker: MailWorker
) -> None:
    with ctx.db.session() as session:
        jeanne = repo.collaborator_by_code(session, "JDU")
        marc = repo.collaborator_by_code(session, "MLE")
        assert jeanne is not None and marc is not None
        mine = drafts.save_draft(
            session, jeanne, "DIT-2026-0001", to=None, subject=None, detail="Jeanne"
        )
        drafts.save_draft(session, marc, "DIT-2026-0001", to=None, subject=None, detail="Marc")
        drafts.save_draft(session, jeanne, "DIT-2026-0003", to=None, subject=None, detail="Autre")
        with pytest.raises(NotFound):
            drafts.get_draft(session, mine.id, marc)  # someone else's draft does not exist
    _, form = compose_from_panel(driver)
    driver.submit(form, {"detail": "Jeanne, version finale"})
    assert sorted(d.detail for d in all_drafts(ctx)) == ["Autre", "Marc"]
    [mail] = mails(ctx)
    drive([worker], lambda: exchange(ctx, mail.id).mail_status == "sent")


def test_keystroke_batches_arriving_together_make_one_draft(ctx: Context, seeded: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def keep(i: int) -> None:
        with ctx.db.session() as session:
            jeanne = repo.collaborator_by_code(session, "JDU")
            assert jeanne is not None
            drafts.keep_typed(
                session,
                jeanne,
                "DIT-2026-0001",
                form_key="slack-mail:VRACE",
                to=None,
                subject=None,
                detail="x" * (i + 1),
                default_subject=None,
            )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(keep, range(16)))  # re-raises any error
    [draft] = all_drafts(ctx)
    assert 1 <= len(draft.detail) <= 16


def kept_dms(ctx: Context) -> list[dict[str, Any]]:
    with ctx.db.session() as session:
        items = session.scalars(select(OutboxItem).where(OutboxItem.kind == "slack_dm"))
        return [item.payload for item in items]


@pytest.mark.parametrize(
    ("detail", "subject", "offered"),
    [("À compléter", None, True), ("", "Mon objet", True), ("  \n", None, False)],
)
def test_a_closed_form_is_offered_back_only_when_its_draft_has_text(
    ctx: Context, seeded: Any, detail: str, subject: str | None, offered: bool
) -> None:
    with ctx.db.session() as session:
        jeanne = repo.collaborator_by_code(session, "JDU")
        assert jeanne is not None
        assert not drafts.offer_kept_draft(session, jeanne, "DIT-2026-0001")  # no draft yet
        draft = drafts.save_draft(
            session, jeanne, "DIT-2026-0001", to=None, subject=subject, detail=detail
        )
        assert drafts.offer_kept_draft(session, jeanne, "DIT-2026-0001")  # the Home changes
        draft_id = draft.id
    expected = [{"reason": "draft_kept", "user": "UJDU", "draft_id": draft_id}]
    assert kept_dms(ctx) == (expected if offered else [])
    assert [d.id for d in all_drafts(ctx)] == ([draft_id] if offered else [])  # empty: gone


def test_a_collaborateur_without_slack_is_not_offered_a_dm(ctx: Context, seeded: Any) -> None:
    with ctx.db.session() as session:
        jeanne = repo.collaborator_by_code(session, "JDU")
        assert jeanne is not None
        drafts.save_draft(session, jeanne, "DIT-2026-0001", to=None, subject=None, detail="Texte")
        jeanne.slack_user_id = None
        assert not drafts.offer_kept_draft(session, jeanne, "DIT-2026-0001")
    assert kept_dms(ctx) == []


def type_subject(driver: SlackDriver, form: dict[str, Any], text: str, **changes: Any) -> None:
    """What Slack sends while the user types in the subject (dispatch_action)."""
    block = input_element(form, "subject")["_block"]
    action = {
        "type": "plain_text_input",
        "block_id": block["block_id"],
        "action_id": "subject",
        "value": text,
        "action_ts": "1700000000.000200",
    }
    payload = block_actions_payload(
        user="UJDU",
        action=action,
        trigger_id=driver.fake.new_trigger_id(),
        view=form,
        state=view_state(form, {"subject": text, **changes}),
    )
    assert driver.post_interactive(payload).status_code == 200


def close_and_deliver(driver: SlackDriver, form: dict[str, Any], dm_worker: SlackDmWorker) -> None:
    driver.close(form)
    while dm_worker.run_once():
        pass


def draft_dms(slack: FakeSlack) -> tuple[list[Any], list[Any]]:
    """(chat.postMessage, chat.update) calls made to the user's DM."""
    posts = [c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == "UJDU"]
    return posts, slack.calls_to("chat.update")


def test_one_dm_per_draft_updated_on_every_later_close(
    driver: SlackDriver, slack: FakeSlack, ctx: Context, dm_worker: SlackDmWorker
) -> None:
    typed = ""
    for text in ["Bonjour", "Bonjour, suite", "Bonjour, suite à votre appel"]:
        _, form = compose_from_panel(driver)
        assert input_element(form, "detail").get("initial_value") == (typed or None)
        type_detail(driver, form, text)
        typed = text
        close_and_deliver(driver, form, dm_worker)
    posts, updates = draft_dms(slack)
    assert len(posts) == 1  # three closes of one draft: one DM
    channel, ts = posts[0].response["channel"], posts[0].response["ts"]
    assert [(u.args["channel"], u.args["ts"]) for u in updates] == [(channel, ts)] * 2
    shown = slack.message(channel, ts)
    assert shown is not None and "Bonjour, suite à votre appel" in texts(shown)
    [draft] = all_drafts(ctx)
    assert (draft.dm_channel, draft.dm_ts) == (channel, ts)


def test_an_emptied_draft_gets_no_dm_and_its_dm_says_so(
    driver: SlackDriver, slack: FakeSlack, ctx: Context, dm_worker: SlackDmWorker
) -> None:
    _, form = compose_from_panel(driver)
    type_detail(driver, form, "À compléter")
    close_and_deliver(driver, form, dm_worker)
    [post], _ = draft_dms(slack)
    _, again = compose_from_panel(driver)
    type_detail(driver, again, "")  # the user erased everything
    close_and_deliver(driver, again, dm_worker)
    posts, updates = draft_dms(slack)
    assert len(posts) == 1 and len(updates) == 1
    shown = slack.message(post.response["channel"], post.response["ts"])
    assert shown is not None and "vidé" in texts(shown) and "draft_resume" not in str(shown)
    assert all_drafts(ctx) == []
    assert "Mes brouillons" not in texts(driver.home("UJDU"))


def test_subject_and_recipient_alone_are_kept_in_the_draft(
    driver: SlackDriver, slack: FakeSlack, ctx: Context, dm_worker: SlackDmWorker
) -> None:
    _, form = compose_from_panel(driver)
    type_subject(driver, form, "Votre copieur")  # no message typed: the subject is enough
    [draft] = all_drafts(ctx)
    assert (draft.subject, draft.detail) == ("Votre copieur", "")
    driver.click(form, "to", "ACME-CL:2", changes={"subject": "Votre copieur"})
    [draft] = all_drafts(ctx)
    assert draft.to_email == "ACME-CL:2"  # chosen after the last keystroke: kept too
    redrawn = driver.fake.view(form["id"])
    assert redrawn is not None and "claire@acme.example" in texts(redrawn)
    assert "repris" not in texts(redrawn)  # a redraw, not a draft resumed
    close_and_deliver(driver, form, dm_worker)
    [post], _ = draft_dms(slack)
    assert "Votre copieur" in texts({"blocks": post.args["blocks"]})
    _, again = compose_from_panel(driver)
    assert input_element(again, "subject")["initial_value"] == "Votre copieur"
    assert input_element(again, "to")["initial_option"]["value"] == "ACME-CL:2"


def kept_dm(
    driver: SlackDriver, slack: FakeSlack, dm_worker: SlackDmWorker, text: str
) -> tuple[str, str]:
    """A draft typed and closed: (channel, ts) of its "draft kept" DM."""
    _, form = compose_from_panel(driver)
    type_detail(driver, form, text)
    close_and_deliver(driver, form, dm_worker)
    [post], _ = draft_dms(slack)
    return post.response["channel"], post.response["ts"]


def test_the_draft_dm_says_when_the_draft_was_sent(
    driver: SlackDriver, slack: FakeSlack, ctx: Context, dm_worker: SlackDmWorker
) -> None:
    where = kept_dm(driver, slack, dm_worker, "Brouillon")
    _, again = compose_from_panel(driver)
    driver.submit(again, {"detail": "Brouillon, envoyé"})
    while dm_worker.run_once():
        pass
    shown = slack.message(*where)
    assert shown is not None and "a été envoyé" in texts(shown)
    assert "draft_resume" not in str(shown)


def test_the_draft_dm_says_when_the_draft_was_discarded_from_the_home(
    driver: SlackDriver, slack: FakeSlack, ctx: Context, dm_worker: SlackDmWorker
) -> None:
    where = kept_dm(driver, slack, dm_worker, "Deuxième")
    [draft] = all_drafts(ctx)
    driver.click(driver.home("UJDU"), "draft_discard", str(draft.id))
    while dm_worker.run_once():
        pass
    assert all_drafts(ctx) == []
    shown = slack.message(*where)
    assert shown is not None and "supprimé" in texts(shown)
