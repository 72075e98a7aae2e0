"""The inbound pipeline with real raw messages: what the DIT, Slack and the author end up with."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.workers.author_dm import SlackDmWorker
from bot.workers.notifications import NotificationWorker
from ditbot.core.context import Context
from ditbot.core.settings import Settings
from ditbot.domain.exchanges import Actor, delete_refusal, edit_refusal, refresh_indicators
from ditbot.domain.inbound import attachments_of, notes_on
from ditbot.mail.inbound.pipeline import Disposition, Outcome, receive
from ditbot.playground.slack_api import FakeSlack
from storage import outbox
from storage import repositories as repo
from storage.models import Dit, Exchange, InboundMail, OutboxItem
from storage.outbox_payloads import ChannelNotice, MailFailed
from storage.types import utcnow
from storage.vocabulary import Source
from tests.mail.conftest import drive, exchange
from tests.mail.inbound.conftest import Raw, SentMail, fixture_bytes

DISPATCH = "CDISPATCH"


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "DITBOT_CHANNEL_PORTAL": DISPATCH}


def exchanges_of(ctx: Context, dit: str) -> list[Exchange]:
    with ctx.db.session() as session:
        found = repo.dit_by_number(session, dit)
        assert found is not None
        return list(repo.exchanges_of_dit(session, found.id, newest_first=False))


def received(ctx: Context, outcome: Outcome) -> Exchange:
    assert outcome.disposition == Disposition.RECORDED, outcome
    assert outcome.exchange_id is not None
    return exchange(ctx, outcome.exchange_id)


def notices(ctx: Context) -> list[ChannelNotice]:
    with ctx.db.session() as session:
        items = session.scalars(select(OutboxItem).where(OutboxItem.kind == "notify")).all()
        return [outbox.load(item, ChannelNotice) for item in items]


def spaced(text: str) -> str:
    """French typography's no-break spaces (before ":") as plain ones, to compare text."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def dit_row(ctx: Context, number: str) -> Dit:
    with ctx.db.session() as session:
        found = repo.dit_by_number(session, number)
        assert found is not None
        return found


def test_a_thunderbird_reply_becomes_the_clients_exchange_on_its_dit(
    mail_ctx: Context, raw: Raw, sent: SentMail
) -> None:
    outcome = receive(mail_ctx, raw("thunderbird_reply.eml"))  # its Date may be before "now"
    reply = received(mail_ctx, outcome)

    assert outcome.dit == "DIT-2026-0001"
    assert (reply.direction, reply.type_code, reply.source) == ("received", "courriel", "mail")
    assert reply.sent_by_contact is not None and reply.sent_by_contact.code == "ACME-PM"
    assert reply.received_by_collaborator is not None
    assert reply.received_by_collaborator.code == "JDU"  # the DIT's technician
    assert reply.subject == "Re: [DIT-2026-0001] Copieur en panne"
    # The new text only: no "Le … a écrit :" history, no signature.
    assert reply.detail == (
        "Bonjour Jeanne,\n\nJeudi matin me convient, le copieur est au 2e étage (bâtiment B).\n"
        "Merci de passer par l'accueil."
    )
    dit = dit_row(mail_ctx, "DIT-2026-0001")
    assert (dit.exchange_count, dit.last_direction) == (2, "received")  # the client spoke last
    assert [(n.dit, n.reason, n.exchange_id) for n in notices(mail_ctx)] == [
        ("DIT-2026-0001", "portal", reply.id)
    ]
    # A client wrote it: nobody may change or delete it, not even a manager.
    with mail_ctx.db.session() as session:
        manager = Actor(source=Source.SLACK, collaborator=repo.collaborator_by_code(session, "SBE"))
        stored = session.get(Exchange, reply.id)
        assert stored is not None
        assert edit_refusal(stored, manager) is not None
        assert delete_refusal(stored, manager) is not None


def test_an_outlook_reply_without_threading_headers_comes_back_by_its_reply_address(
    mail_ctx: Context, raw: Raw
) -> None:
    # Outlook's Windows-1252 (€, œ), an address in another case than on file, and no
    # In-Reply-To: only the token in the reply address names the mail.
    reply = received(mail_ctx, receive(mail_ctx, raw("outlook_reply.eml")))
    assert reply.sent_by_contact is not None and reply.sent_by_contact.code == "ACME-PM"
    assert reply.detail == (
        "Bonjour,\n\nC'est noté pour jeudi. Le devis de 120 € est validé, et l'œil du scanner "
        "est à changer aussi."
    )


def test_a_gmail_reply_from_the_contacts_second_address(mail_ctx: Context, raw: Raw) -> None:
    reply = received(mail_ctx, receive(mail_ctx, raw("gmail_reply.eml")))
    assert reply.sent_by_contact is not None and reply.sent_by_contact.code == "ACME-PM"
    # Gmail wraps "Le … a\nécrit :" over two lines; the quote goes all the same.
    assert reply.detail == "Parfait, merci !\nJe laisse le code du portail à l'accueil : 4512."


def test_an_html_only_mail_naming_its_dit_in_the_subject(mail_ctx: Context, raw: Raw) -> None:
    reply = received(mail_ctx, receive(mail_ctx, raw("html_only.eml")))
    assert reply.dit.number == "DIT-2026-0003"
    assert reply.sent_by_contact is not None and reply.sent_by_contact.code == "BOUL-LL"
    assert reply.received_by_collaborator is not None
    assert reply.received_by_collaborator.code == "MLE"
    assert reply.subject == "Re : [DIT-2026-0003] Chambre froide à 9 °C"
    assert reply.detail == (
        "Bonjour,\n\nLa chambre froide est remontée à 9 °C cette nuit.\nPouvez-vous repasser ?"
        "\n\nLéon"
    )


def test_a_windows_1252_mail_declared_latin_1(mail_ctx: Context, raw: Raw) -> None:
    reply = received(mail_ctx, receive(mail_ctx, raw("windows1252.eml")))
    assert reply.dit.number == "DIT-2026-0003"  # a contact of the client: trusted
    assert reply.sent_by_contact is not None and reply.sent_by_contact.code == "BOUL-AG"
    assert "l'œilleton de contrôle est fêlé.\nLe devis de 85 € nous convient." in reply.detail


def test_attachments_are_kept_on_disk_and_listed_on_the_exchange(
    mail_ctx: Context, raw: Raw, settings: Settings
) -> None:
    reply = received(mail_ctx, receive(mail_ctx, raw("attachments.eml")))
    with mail_ctx.db.session() as session:
        files = attachments_of(session, reply.id)
    assert [(f["filename"], f["content_type"]) for f in files] == [
        ("bon de commande signé.pdf", "application/pdf"),
        ("IMG_2041.jpg", "image/jpeg"),
    ]  # the signature's logo is not an attachment
    store = Path(settings.mail_store_dir)
    pdf = (store / files[0]["path"]).read_bytes()
    assert pdf.startswith(b"%PDF-1.4") and len(pdf) == files[0]["size"]
    photo = (store / files[1]["path"]).read_bytes()
    assert photo.startswith(b"\xff\xd8") and photo.endswith(b"\xff\xd9")
    assert spaced(reply.detail) == (
        "Voici le bon de commande signé et une photo du message d'erreur.\n\nAcme SA\n\n"
        "Pièces jointes : bon de commande signé.pdf (193 B), IMG_2041.jpg (25 KB)"
    )


def test_an_out_of_office_is_a_note_on_the_mail_it_answers(
    mail_ctx: Context, raw: Raw, sent: SentMail
) -> None:
    outcome = receive(mail_ctx, raw("out_of_office.eml"))
    assert outcome.disposition == Disposition.AUTO_REPLY
    assert outcome.exchange_id == sent.exchange_id
    with mail_ctx.db.session() as session:
        [note] = notes_on(session, sent.exchange_id)
        assert note.reason == "Auto-Submitted: auto-replied"
        assert "absent jusqu'au 7 décembre" in (note.text or "")
    assert len(exchanges_of(mail_ctx, "DIT-2026-0001")) == 1  # the client did not speak
    assert dit_row(mail_ctx, "DIT-2026-0001").last_direction == "sent"
    assert notices(mail_ctx) == []


@pytest.mark.parametrize(
    "subject",
    ["Automatic reply: [DIT-2026-0001] Copieur en panne", "Absence du bureau : Paul Martin"],
)
def test_an_out_of_office_known_by_its_subject_only(
    mail_ctx: Context, sent: SentMail, subject: str
) -> None:
    message = _mail(subject=subject, in_reply_to=sent.message_id, text="Je suis absent.")
    assert receive(mail_ctx, message).disposition == Disposition.AUTO_REPLY
    assert len(exchanges_of(mail_ctx, "DIT-2026-0001")) == 1


def test_a_bounce_fails_the_mail_with_the_remote_reason_and_tells_its_author(
    mail_ctx: Context, raw: Raw, sent: SentMail, dm_worker: SlackDmWorker, slack: FakeSlack
) -> None:
    outcome = receive(mail_ctx, raw("bounce.eml"))
    assert outcome.disposition == Disposition.BOUNCE
    failed = exchange(mail_ctx, sent.exchange_id)
    assert failed.mail_status == "failed"
    assert failed.mail_error == (
        "550 5.1.1 <paul@acme.example>: Recipient address rejected: User unknown in virtual "
        "mailbox table"
    )
    drive([dm_worker], lambda: bool(slack.calls_to("chat.postMessage")))
    [dm] = slack.calls_to("chat.postMessage")
    assert dm.args["channel"] == "UJDU"
    assert "DIT-2026-0001" in dm.args["text"]
    # The same report again (the MTA retried): nothing more.
    assert receive(mail_ctx, raw("bounce.eml")).disposition == Disposition.DUPLICATE
    with mail_ctx.db.session() as session:
        dms = session.scalars(select(OutboxItem).where(OutboxItem.kind == "slack_dm")).all()
        assert [outbox.load(item, MailFailed).exchange_id for item in dms] == [sent.exchange_id]


def test_a_mail_that_matches_no_dit_is_kept_with_its_reason(mail_ctx: Context, raw: Raw) -> None:
    outcome = receive(mail_ctx, raw("unmatched.eml"))
    assert outcome.disposition == Disposition.UNMATCHED
    assert outcome.reason and "no DIT found" in outcome.reason
    with mail_ctx.db.session() as session:
        kept = session.get(InboundMail, outcome.inbound_id)
        assert kept is not None and kept.status == "unmatched"
        assert kept.from_address == "contact@nouvelle-societe.example"
        assert kept.text and kept.text.startswith("Bonjour, pourriez-vous nous faire un devis")
    assert notices(mail_ctx) == []


def test_a_dit_number_in_the_subject_is_not_enough_from_a_stranger(
    mail_ctx: Context, raw: Raw
) -> None:
    outcome = receive(mail_ctx, raw("subject_from_stranger.eml"))
    assert outcome.disposition == Disposition.UNMATCHED
    assert outcome.reason == (
        "the subject names DIT-2026-0001, but someone@elsewhere.example is not a contact of Acme SA"
    )  # the log's language
    with mail_ctx.db.session() as session:
        kept = session.get(InboundMail, outcome.inbound_id)
        assert kept is not None
        # the team's language (DITBOT_LOCALE=fr): the dispatch channel shows this reason
        assert kept.reason == (
            "l’objet cite DIT-2026-0001, mais someone@elsewhere.example n’est pas un contact "
            "de Acme SA"
        )
    assert len(exchanges_of(mail_ctx, "DIT-2026-0001")) == 1


def test_the_same_message_twice_is_one_exchange_and_one_notification(
    mail_ctx: Context, raw: Raw
) -> None:
    first = receive(mail_ctx, raw("thunderbird_reply.eml"))
    again = receive(mail_ctx, raw("thunderbird_reply.eml"))
    assert first.disposition == Disposition.RECORDED
    assert again.disposition == Disposition.DUPLICATE
    assert again.exchange_id == first.exchange_id
    assert len(exchanges_of(mail_ctx, "DIT-2026-0001")) == 2
    assert len(notices(mail_ctx)) == 1


def test_a_malformed_message_is_set_aside_with_its_reason_and_the_next_one_goes_on(
    mail_ctx: Context, raw: Raw, settings: Settings
) -> None:
    junk = fixture_bytes("malformed.eml")
    outcome = receive(mail_ctx, junk)
    assert outcome.disposition == Disposition.REJECTED
    assert outcome.reason == "no header fields: this is not an RFC 5322 message"
    with mail_ctx.db.session() as session:
        kept = session.get(InboundMail, outcome.inbound_id)
        assert kept is not None and kept.raw_path is not None
        assert (Path(settings.mail_store_dir) / kept.raw_path).read_bytes() == junk
    nobody = receive(mail_ctx, fixture_bytes("no_sender.eml"))
    assert (nobody.disposition, nobody.reason) == (
        Disposition.REJECTED,
        "no sender address in From",
    )
    assert receive(mail_ctx, raw("gmail_reply.eml")).disposition == Disposition.RECORDED


def test_a_reply_from_an_address_not_on_file_is_recorded_and_flagged(
    mail_ctx: Context, raw: Raw
) -> None:
    message = raw(
        "gmail_reply.eml",
        {b"From: Paul Martin <paul@acme.example>": b"From: Helene <helene.collegue@acme.example>"},
    )
    reply = received(mail_ctx, receive(mail_ctx, message))
    assert reply.sent_by_contact is not None and reply.sent_by_contact.code == "ACME-PM"
    assert reply.detail.startswith(
        "Envoyé depuis helene.collegue@acme.example, une adresse inconnue.\n\nParfait, merci !"
    )
    with mail_ctx.db.session() as session:
        row = session.scalar(select(InboundMail).where(InboundMail.exchange_id == reply.id))
        assert row is not None and row.unknown_sender


def test_a_second_mail_while_the_first_waits_unanswered_is_a_relance(
    mail_ctx: Context, sent: SentMail
) -> None:
    now = utcnow()
    with mail_ctx.db.session() as session:  # the mail went out four days ago
        mail = session.get(Exchange, sent.exchange_id)
        assert mail is not None
        mail.occurred_at = now - timedelta(days=4)
        refresh_indicators(session, mail.dit)
    first = _mail(in_reply_to=sent.message_id, text="Des nouvelles ?")
    second = _mail(in_reply_to=sent.message_id, text="Toujours rien ?")
    earlier = receive(mail_ctx, first, now=now - timedelta(days=3))
    assert received(mail_ctx, earlier).type_code == "courriel"
    relance = received(mail_ctx, receive(mail_ctx, second, now=now - timedelta(hours=1)))
    assert relance.type_code == "relance"
    assert {n.reason for n in notices(mail_ctx) if n.exchange_id == relance.id} == {
        "portal",
        "relance",
    }
    assert dit_row(mail_ctx, "DIT-2026-0001").relance_count == 1


def test_a_long_mail_is_cut_with_a_notice_and_kept_whole(
    mail_ctx: Context, sent: SentMail, settings: Settings
) -> None:
    text = "\n\n".join(f"Paragraphe {n} : " + " ".join(["détail"] * 40) for n in range(30))
    reply = received(mail_ctx, receive(mail_ctx, _mail(in_reply_to=sent.message_id, text=text)))
    assert len(reply.detail) <= 3000
    assert "[coupé : le texte entier est dans la pièce jointe texte-complet.txt]" in spaced(
        reply.detail
    )
    with mail_ctx.db.session() as session:
        [whole] = attachments_of(session, reply.id)
    assert whole["filename"] == "texte-complet.txt"
    assert (Path(settings.mail_store_dir) / whole["path"]).read_text("utf-8") == text


def test_a_reply_on_a_dit_closed_long_ago_is_kept_for_triage(
    mail_ctx: Context, seeded: dict[str, Any]
) -> None:
    message = _mail(
        subject="Re: [DIT-2026-0004] Four réparé",
        sender="agnes@boulangerie.example",
        text="Le four refait du bruit.",
    )
    with mail_ctx.db.session() as session:
        dit = repo.dit_by_number(session, "DIT-2026-0004")
        assert dit is not None
        dit.finished_at = utcnow() - timedelta(days=30)
    outcome = receive(mail_ctx, message)
    assert outcome.disposition == Disposition.UNMATCHED
    assert outcome.dit == "DIT-2026-0004" and "no longer accepts" in (outcome.reason or "")


def test_a_mail_reply_is_posted_in_the_dispatch_channel(
    mail_ctx: Context, raw: Raw, slack: FakeSlack, seeded: dict[str, Any]
) -> None:
    slack.add_channel(DISPATCH, name="dispatch")
    receive(mail_ctx, raw("thunderbird_reply.eml"))
    worker = NotificationWorker(mail_ctx, pace_seconds=0.0, backoff_base=0.05, max_wait=2.0)
    drive([worker], lambda: bool(slack.calls_to("chat.postMessage")))
    posted = [c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == DISPATCH]
    assert posted and "DIT-2026-0001" in posted[0].args["text"]
    assert any("Jeudi matin me convient" in str(c.args.get("blocks")) for c in posted), [
        c.args for c in posted
    ]


def test_nothing_is_counted_twice_when_two_processes_take_the_same_mail(
    mail_ctx: Context, raw: Raw
) -> None:
    import threading

    message = raw("thunderbird_reply.eml")
    outcomes: list[Outcome] = []
    start = threading.Barrier(4)

    def take() -> None:
        start.wait()
        outcomes.append(receive(mail_ctx, message))

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(o.disposition for o in outcomes).count(Disposition.RECORDED) == 1
    with mail_ctx.db.session() as session:
        assert session.scalar(select(func.count(InboundMail.id))) == 1
    assert len(exchanges_of(mail_ctx, "DIT-2026-0001")) == 2


def _mail(
    *,
    text: str,
    subject: str = "Re: [DIT-2026-0001] Copieur en panne",
    sender: str = "p.martin@acme.example",
    in_reply_to: str | None = None,
    at: Any = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = f"Paul Martin <{sender}>"
    message["To"] = "sav@sav.example"
    message["Subject"] = subject
    message["Date"] = format_datetime(at or utcnow())
    message["Message-ID"] = make_msgid(domain="acme.example")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(text)
    return message.as_bytes()


def test_a_reply_dated_before_the_mail_it_answers_still_makes_the_client_speak_last(
    mail_ctx: Context, sent: SentMail
) -> None:
    skewed = _mail(in_reply_to=sent.message_id, text="Bien reçu.", at=utcnow() - timedelta(hours=5))
    reply = received(mail_ctx, receive(mail_ctx, skewed))
    assert reply.occurred_at > exchange(mail_ctx, sent.exchange_id).occurred_at
    assert dit_row(mail_ctx, "DIT-2026-0001").last_direction == "received"
