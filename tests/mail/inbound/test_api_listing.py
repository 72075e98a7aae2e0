"""What a back office reading the REST API sees of a client's mail: its files and the automatic
answers and delivery reports that came back about a mail ditbot sent."""

from __future__ import annotations

from typing import Any

from ditbot.core.context import Context
from ditbot.mail.inbound.pipeline import Disposition, receive
from tests.credentials import API_TOKEN
from tests.foundation.test_api import checked_app
from tests.mail.inbound.conftest import Raw, SentMail


def listed(ctx: Context) -> dict[int, dict[str, Any]]:
    client = checked_app(ctx).test_client()  # every answer is checked against the document
    answer = client.get(
        "/api/v1/dits/DIT-2026-0001/exchanges", headers={"Authorization": f"Bearer {API_TOKEN}"}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return {row["id"]: row for row in answer.get_json()["exchanges"]}


def test_a_mails_attachments_are_listed_on_its_exchange(mail_ctx: Context, raw: Raw) -> None:
    outcome = receive(mail_ctx, raw("attachments.eml"))
    assert outcome.disposition == Disposition.RECORDED and outcome.exchange_id
    row = listed(mail_ctx)[outcome.exchange_id]
    assert row["source"] == "mail"
    assert [(f["filename"], f["content_type"]) for f in row["attachments"]] == [
        ("bon de commande signé.pdf", "application/pdf"),
        ("IMG_2041.jpg", "image/jpeg"),
    ]
    assert row["attachments"][0]["size"] == 193
    assert "path" not in row["attachments"][0]  # where the store keeps it is not the API's


def test_an_out_of_office_and_a_bounce_are_notes_of_the_mail_they_answer(
    mail_ctx: Context, raw: Raw, sent: SentMail
) -> None:
    assert receive(mail_ctx, raw("out_of_office.eml")).disposition == Disposition.AUTO_REPLY
    assert receive(mail_ctx, raw("bounce.eml")).disposition == Disposition.BOUNCE
    rows = listed(mail_ctx)
    mail = rows[sent.exchange_id]
    assert [note["kind"] for note in mail["mail_notes"]] == ["auto_reply", "delivery_report"]
    assert "absent jusqu'au 7 décembre" in mail["mail_notes"][0]["text"]
    assert mail["mail_notes"][1]["text"] == mail["mail"]["error"]
    assert mail["attachments"] == []
    # neither became an exchange: the client did not speak
    assert [row["source"] for row in rows.values()] == ["slack"]
