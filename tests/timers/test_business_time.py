"""Business time against hand-computed cases (issue 12): hours 8:00-18:00 Europe/Paris,
Monday to Friday, French public holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ditbot.core.settings import Settings, SettingsError
from ditbot.domain.business_time import BusinessCalendar

PARIS = ZoneInfo("Europe/Paris")
FOUR_HOURS = timedelta(hours=4)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


@pytest.fixture
def calendar() -> BusinessCalendar:
    return BusinessCalendar.from_settings(Settings.from_env({}, dotenv=Path("/nonexistent")))


def test_friday_evening_message_is_due_monday_late_morning(calendar: BusinessCalendar) -> None:
    # 10 minutes on Friday (17:50-18:00), then 3 h 50 on Monday from 8:00.
    due = calendar.add(paris(2026, 11, 27, 17, 50), FOUR_HOURS)
    assert due == paris(2026, 11, 30, 11, 50)
    assert calendar.elapsed(paris(2026, 11, 27, 17, 50), due) == FOUR_HOURS


def test_bastille_day_is_skipped(calendar: BusinessCalendar) -> None:
    # Monday 13 July 17:00: 1 h that day, Tuesday 14 July off, 3 h on Wednesday.
    assert calendar.add(paris(2026, 7, 13, 17, 0), FOUR_HOURS) == paris(2026, 7, 15, 11, 0)
    assert not calendar.is_working_day(date(2026, 7, 14))


def test_easter_monday_is_skipped_good_friday_is_worked(calendar: BusinessCalendar) -> None:
    # Good Friday 3 April 2026 is worked in France; Easter Monday 6 April is not.
    assert calendar.add(paris(2026, 4, 3, 17, 0), FOUR_HOURS) == paris(2026, 4, 7, 11, 0)
    assert calendar.is_working_day(date(2026, 4, 3))
    assert not calendar.is_working_day(date(2026, 4, 6))


def test_switch_to_summer_time(calendar: BusinessCalendar) -> None:
    # Friday 27 March 17:00 CET (16:00 UTC); clocks go forward on Sunday 29 March. Due Monday
    # 11:00 on the wall, which is CEST: 09:00 UTC (UTC arithmetic would say 10:00 UTC).
    due = calendar.add(paris(2026, 3, 27, 17, 0), FOUR_HOURS)
    assert due == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
    assert due.astimezone(PARIS).hour == 11


def test_switch_back_to_winter_time(calendar: BusinessCalendar) -> None:
    # Friday 23 October 17:00 CEST (15:00 UTC); clocks go back on Sunday 25 October. Due
    # Monday 11:00 CET: 10:00 UTC.
    due = calendar.add(paris(2026, 10, 23, 17, 0), FOUR_HOURS)
    assert due == datetime(2026, 10, 26, 10, 0, tzinfo=UTC)


def test_round_the_clock_day_of_the_switch_is_23_hours() -> None:
    always = BusinessCalendar(days=frozenset(range(7)), start=datetime.min.time(), end=None)
    # Saturday 28 March 22:00 CET + 4 h of real time: 03:00 CEST on Sunday (02:00 never was).
    assert always.add(paris(2026, 3, 28, 22, 0), FOUR_HOURS) == paris(2026, 3, 29, 3, 0)
    assert always.elapsed(paris(2026, 3, 29, 0, 0), paris(2026, 3, 30, 0, 0)) == timedelta(hours=23)


def test_message_in_the_weekend_starts_counting_on_monday(calendar: BusinessCalendar) -> None:
    assert calendar.add(paris(2026, 11, 28, 10, 0), FOUR_HOURS) == paris(2026, 11, 30, 12, 0)
    assert calendar.elapsed(paris(2026, 11, 28, 9, 0), paris(2026, 11, 29, 20, 0)) == timedelta(0)
    assert not calendar.is_open(paris(2026, 11, 28, 10, 0))
    assert calendar.is_open(paris(2026, 11, 30, 8, 0))
    assert not calendar.is_open(paris(2026, 11, 30, 18, 0))
    assert calendar.next_open(paris(2026, 11, 27, 18, 30)) == paris(2026, 11, 30, 8, 0)


def test_other_hours_days_and_holidays_by_setting() -> None:
    settings = Settings.from_env(
        {
            "DITBOT_WORKING_DAYS": "mon-sat",
            "DITBOT_WORKING_HOURS": "09:00-12:30",
            "DITBOT_HOLIDAYS": "FR-57",  # Moselle: Good Friday and 26 December are off too
            "DITBOT_TIMEZONE": "America/Montreal",
        },
        dotenv=Path("/nonexistent"),
    )
    calendar = BusinessCalendar.from_settings(settings)
    montreal = ZoneInfo("America/Montreal")
    # Thursday 2 April 2026 12:00 (30 min left), Good Friday off, Saturday 9:00 + 3 h 30.
    due = calendar.add(datetime(2026, 4, 2, 12, 0, tzinfo=montreal), FOUR_HOURS)
    assert due == datetime(2026, 4, 4, 12, 30, tzinfo=montreal)
    assert not calendar.is_working_day(date(2026, 12, 26))
    none = BusinessCalendar.from_settings(
        Settings.from_env({"DITBOT_HOLIDAYS": "none"}, dotenv=Path("/nonexistent"))
    )
    assert none.is_working_day(date(2026, 7, 14))


def test_bad_working_time_settings_are_named() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(
            {
                "DITBOT_WORKING_HOURS": "18:00-08:00",
                "DITBOT_WORKING_DAYS": "lundi",
                "DITBOT_HOLIDAYS": "XX",
                "DITBOT_TIMEZONE": "Paris",
                "DITBOT_TARGET_FIRST_RESPONSE_HOURS": "0",
            },
            dotenv=Path("/nonexistent"),
        )
    text = str(caught.value)
    for name in (
        "DITBOT_WORKING_HOURS",
        "DITBOT_WORKING_DAYS",
        "DITBOT_HOLIDAYS",
        "DITBOT_TIMEZONE",
        "DITBOT_TARGET_FIRST_RESPONSE_HOURS",
    ):
        assert name in text


def test_an_unknown_holiday_subdivision_is_said_in_each_language() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"DITBOT_HOLIDAYS": "FR-ZZ"}, dotenv=Path("/nonexistent"))
    assert caught.value.said("en") == ["DITBOT_HOLIDAYS='FR-ZZ' FR has no subdivision 'ZZ'."]
    assert caught.value.said("fr") == [
        "DITBOT_HOLIDAYS='FR-ZZ' FR n’a pas de subdivision «\u202fZZ\u202f»."
    ]


def test_the_company_calendar_is_kept_per_thread_and_follows_its_settings(tmp_path: Path) -> None:
    import threading

    base = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    paris = Settings.from_env(base, dotenv=tmp_path / "none.env")
    again = Settings.from_env(base, dotenv=tmp_path / "none.env")
    longer = Settings.from_env(
        {**base, "DITBOT_WORKING_HOURS": "07:00-19:00"}, dotenv=tmp_path / "none.env"
    )
    kept = BusinessCalendar.of(paris)
    assert BusinessCalendar.of(again) is kept  # a click does not build the calendar again
    assert BusinessCalendar.of(longer).start.hour == 7 and kept.start.hour == 8
    elsewhere: list[BusinessCalendar] = []
    thread = threading.Thread(target=lambda: elsewhere.append(BusinessCalendar.of(paris)))
    thread.start()
    thread.join()
    assert elsewhere[0] is not kept and elsewhere[0] == kept  # its day cache is its own
