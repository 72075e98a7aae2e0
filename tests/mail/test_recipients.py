"""The mail's To list as a user sees it: every contact reachable, addresses whole, and a
clear word before the form opens when there is nobody to write to (issue 9, items 10, 12, 13)."""

from __future__ import annotations

from typing import Any

from ditbot.core.context import Context
from ditbot.domain.reference import import_data
from ditbot.playground.slack_api import FakeSlack
from tests.mail.test_slack_mail import compose_from_panel, input_element, mails, open_panel
from tests.slack.harness import SlackDriver, texts

CELINE = "celine@boulangerie-menard.example"
COMPTA = "compta@boulangerie-menard.example"


def seed_client(ctx: Context, code: str, contacts: list[dict[str, Any]]) -> str:
    """A client with `contacts` and one open DIT (on the first contact, when there is one)."""
    number = f"DIT-2026-{len(code):02d}{len(contacts):02d}"
    dit: dict[str, Any] = {
        "number": number,
        "client": code,
        "title": "Four à relancer",
        "state": "en_cours",
        "technician": "JDU",
        "created_at": "2026-11-25T08:00:00Z",
    }
    if contacts:
        dit["contact"] = contacts[0]["code"]
    with ctx.db.session() as session:
        import_data(
            session,
            {
                "clients": [{"code": code, "name": "Boulangerie Ménard", "contacts": contacts}],
                "dits": [dit],
            },
        )
    return number


def test_a_client_with_300_contacts_can_be_mailed_at_the_250th(
    driver: SlackDriver, ctx: Context, slack: FakeSlack
) -> None:
    contacts = [
        {"code": f"MEN-{i:03d}", "name": f"Contact {i:03d}", "mail1": f"c{i:03d}@menard.example"}
        for i in range(1, 301)
    ]
    number = seed_client(ctx, "MEN", contacts)
    _, form = compose_from_panel(driver, number)  # the strict fake refused nothing
    to = input_element(form, "to")
    assert to["type"] == "external_select"  # 300 addresses: no static list of 100
    assert to["initial_option"]["value"] == "MEN-001:1"
    options = driver.suggest(form, "to", "contact 250")["options"]
    assert [(o["value"], o["text"]["text"]) for o in options] == [("MEN-250:1", "Contact 250")]
    assert options[0]["description"]["text"] == "c250@menard.example"
    by_address = driver.suggest(form, "to", "c25")["options"]
    assert "MEN-250:1" in [o["value"] for o in by_address] and len(by_address) == 10
    answer = driver.submit(form, {"to": "MEN-250:1", "detail": "Bonjour"})
    assert answer.status_code == 200
    [mail] = mails(ctx, number)
    assert mail.recipient_email == "c250@menard.example"


def test_unlinked_users_get_no_addresses_from_the_to_list(
    driver: SlackDriver, ctx: Context
) -> None:
    contacts = [
        {"code": f"MEN-{i:03d}", "name": f"Contact {i:03d}", "mail1": f"c{i:03d}@menard.example"}
        for i in range(1, 120)
    ]
    number = seed_client(ctx, "MEN", contacts)
    _, form = compose_from_panel(driver, number)
    assert driver.suggest(form, "to", "contact", user="UNOBODY") == {"options": []}


def test_mail_1_and_mail_2_are_shown_whole(driver: SlackDriver, ctx: Context) -> None:
    number = seed_client(
        ctx,
        "MENARD",
        [{"code": "MEN-CM", "name": "Céline Ménard", "mail1": CELINE, "mail2": COMPTA}],
    )
    _, form = compose_from_panel(driver, number)
    to = input_element(form, "to")
    shown = [(o["text"]["text"], o["description"]["text"], o["value"]) for o in to["options"]]
    assert shown == [("Céline Ménard", CELINE, "MEN-CM:1"), ("Céline Ménard", COMPTA, "MEN-CM:2")]
    assert f"*Céline Ménard* · Mail 1\u202f: {CELINE}" in texts(form)
    # Choosing Mail 2: kept in the draft's choice, and the line under To follows.
    driver.click(form, "to", "MEN-CM:2")
    redrawn = driver.fake.view(form["id"])
    assert redrawn is not None
    assert f"*Céline Ménard* · Mail 2\u202f: {COMPTA}" in texts(redrawn)
    assert input_element(redrawn, "to")["initial_option"]["value"] == "MEN-CM:2"


def test_a_client_with_no_contact_is_told_before_the_form_opens(
    driver: SlackDriver, ctx: Context, slack: FakeSlack
) -> None:
    number = seed_client(ctx, "VIDE", [])
    panel = open_panel(driver, number)
    driver.click(panel, "compose_mail")
    pushed = [c.args["view"]["callback_id"] for c in slack.calls_to("views.push")]
    assert pushed == ["ditbot_notice"]
    notice = texts(driver.last_view("views.push"))
    assert "n’a encore aucun interlocuteur" in notice and "ajoutez les interlocuteurs" in notice
    assert "—" not in notice
    # /dit mail says it as an ephemeral answer, in English for an English reader.
    driver.command(f"mail {number}", user="UMLE")
    answer = texts(driver.last_response())
    assert "has no contact yet, so there is nobody to write to" in answer
    assert not slack.calls_to("views.open")[1:]  # only the panel was ever opened


def test_a_client_whose_contacts_have_no_address_is_told_before_the_form_opens(
    driver: SlackDriver, ctx: Context, slack: FakeSlack
) -> None:
    number = seed_client(ctx, "MUET", [{"code": "MUET-1", "name": "Sans Mail"}])
    driver.command(f"mail {number}", user="UMLE")
    answer = texts(driver.last_response())
    assert "No contact of Boulangerie Ménard has an e-mail address: give one a Mail 1" in answer
    assert slack.calls_to("views.open") == []
