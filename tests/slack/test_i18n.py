"""Users get their language: their Slack locale first, then DITBOT_LOCALE.

(That every message has its French is tests/test_catalog.py, over the whole project.)
"""

from __future__ import annotations

from tests.slack.harness import SlackDriver, texts


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
