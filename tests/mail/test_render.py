"""Mail templates: both languages, escaping, strictness, the admin override folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from ditbot.mail.render import MailContext, TemplateProblem, render

CONTEXT = MailContext(
    subject="[DIT-2026-0003] Chambre froide à 9 °C",
    message="Le technicien passe <b>jeudi</b>.\nMerci & à bientôt.\n\nDeuxième paragraphe.",
    dit_number="DIT-2026-0003",
    dit_title="Chambre froide à 9 °C",
    contact_name="Léon Lemaire",
    sender_name="Marc Lefèvre",
    sender_email="marc@sav.example",
    company="DIT SAV",
    portal_url="http://localhost:3000/portal/abc.def",
)


def test_french_mail_has_greeting_message_signature_and_portal_link() -> None:
    mail = render(CONTEXT, "fr")
    assert mail.text.startswith("Bonjour Léon Lemaire,\n\nLe technicien passe <b>jeudi</b>.")
    assert "Cordialement,\nMarc Lefèvre\nDIT SAV\nmarc@sav.example" in mail.text
    assert "http://localhost:3000/portal/abc.def" in mail.text
    assert "<p>Bonjour Léon Lemaire,</p>" in mail.html
    assert '<a href="http://localhost:3000/portal/abc.def">' in mail.html
    assert "<strong>Marc Lefèvre</strong>" in mail.html


def test_english_mail() -> None:
    mail = render(CONTEXT, "en-US")
    assert mail.text.startswith("Hello Léon Lemaire,")
    assert "Kind regards," in mail.text
    assert 'lang="en"' in mail.html


def test_html_escapes_what_the_user_typed_and_keeps_paragraphs() -> None:
    html = render(CONTEXT, "fr").html
    assert "<b>jeudi</b>" not in html
    assert "&lt;b&gt;jeudi&lt;/b&gt;" in html
    assert "Merci &amp; à bientôt." in html
    assert "jeudi&lt;/b&gt;.<br>\nMerci" in html
    assert "<p>Deuxième paragraphe.</p>" in html


def test_optional_parts_may_be_missing() -> None:
    bare = MailContext(
        **{
            **CONTEXT.__dict__,
            "contact_name": None,
            "sender_email": None,
            "company": None,
            "portal_url": None,
        }
    )
    mail = render(bare, "fr")
    assert mail.text.startswith("Bonjour,\n")
    assert "portal" not in mail.text and "portal" not in mail.html
    assert mail.text.rstrip().endswith("Marc Lefèvre")


def test_admin_folder_overrides_one_template_and_keeps_the_others(tmp_path: Path) -> None:
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "signature.txt").write_text(
        "Bien à vous,\n{{ sender_name }} — Service client\n", encoding="utf-8"
    )
    mail = render(CONTEXT, "fr", str(tmp_path))
    assert "Bien à vous,\nMarc Lefèvre — Service client" in mail.text
    assert "Cordialement" not in mail.text
    assert "Cordialement" in mail.html  # the HTML signature was not overridden


def test_a_misspelt_variable_is_an_error_not_a_blank(tmp_path: Path) -> None:
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "message.txt").write_text("Bonjour {{ contact_nom }}\n", encoding="utf-8")
    with pytest.raises(TemplateProblem, match="contact_nom"):
        render(CONTEXT, "fr", str(tmp_path))
