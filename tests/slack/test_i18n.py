"""Every message of the Slack surface has its French translation; users get their language."""

from __future__ import annotations

import ast
from pathlib import Path

from ditbot.core.i18n import catalog
from tests.slack.harness import SlackDriver, texts

ROOT = Path(__file__).resolve().parents[2]
# The Slack files of issue 3 (the mail helper's bot/*/mail.py keep their ids in mail.po).
SLACK_FILES = sorted(p for p in (ROOT / "bot").rglob("*.py") if "mail" not in p.name)


def message_ids(path: Path) -> set[str]:
    """The string literals passed to `_()` in `path` (f-strings and concatenations too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "_"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def test_every_slack_message_has_a_french_translation() -> None:
    french = catalog("fr")
    missing = sorted(m for p in SLACK_FILES for m in message_ids(p) if m not in french)
    assert missing == []


def test_french_keeps_the_placeholders() -> None:
    import re

    french = catalog("fr")
    for message in (m for p in SLACK_FILES for m in message_ids(p)):
        wanted = set(re.findall(r"\{(\w+)\}", message))
        assert set(re.findall(r"\{(\w+)\}", french.get(message, message))) == wanted, message


def test_user_locale_first_then_default(driver: SlackDriver) -> None:
    driver.command("help", user="UJDU")  # Slack locale fr-FR
    assert "Ce que /dit sait faire" in texts(driver.last_response())
    driver.command("help", user="UMLE")  # Slack locale en-US
    assert "What /dit can do" in texts(driver.last_response())
    driver.slack_default_check = True


def test_unknown_slack_locale_falls_back_to_ditbot_locale(driver: SlackDriver) -> None:
    driver.fake.add_user("UMLE", email="marc@sav.example", locale="de-DE")
    driver.command("help", user="UMLE")
    assert "Ce que /dit sait faire" in texts(driver.last_response())  # DITBOT_LOCALE=fr
