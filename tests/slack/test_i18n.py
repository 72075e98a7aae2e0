"""Users get their language: their Slack locale first, then DITBOT_LOCALE.

(That every message has its French is tests/test_catalog.py, over the whole project.)
"""

from __future__ import annotations

from datetime import timedelta

from bot.requester import LOCALE_TTL
from ditbot.core.context import Context
from storage import repositories as repo
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


def test_a_user_who_changes_slack_language_sees_it_within_the_hour(
    driver: SlackDriver, ctx: Context
) -> None:
    """The Slack language is cached on the collaborateur for LOCALE_TTL, then asked again.

    The clock is the cache's own record: `locale_checked_at` is moved back, nothing sleeps.
    """
    driver.command("help", user="UJDU")  # fr-FR, asked of Slack once and cached
    assert "Ce que /dit sait faire" in texts(driver.last_response())
    driver.fake.add_user("UJDU", email="j.dupuis@sav.example", locale="en-GB")
    asked = len(driver.fake.calls_to("users.info"))
    driver.command("help", user="UJDU")  # within the hour: the cache answers, Slack is not asked
    assert "Ce que /dit sait faire" in texts(driver.last_response())
    assert len(driver.fake.calls_to("users.info")) == asked

    def age(delta: timedelta) -> None:
        with ctx.db.session() as session:
            jdu = repo.collaborator_by_code(session, "JDU")
            assert jdu is not None and jdu.locale_checked_at is not None
            jdu.locale_checked_at -= delta

    age(LOCALE_TTL - timedelta(minutes=1))
    driver.command("help", user="UJDU")
    assert "Ce que /dit sait faire" in texts(driver.last_response())
    age(timedelta(minutes=2))  # now older than the TTL: Slack is asked again
    driver.command("help", user="UJDU")
    assert "What /dit can do" in texts(driver.last_response())
    assert len(driver.fake.calls_to("users.info")) == asked + 1
