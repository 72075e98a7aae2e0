"""Working-time settings as written (DITBOT_WORKING_DAYS, _HOURS, _HOLIDAYS, _TIMEZONE), read.

The settings check them on start (a bad value is named); ditbot.domain.business_time builds
its calendar from what they return.
"""

from __future__ import annotations

import re
from datetime import time
from zoneinfo import ZoneInfo

import holidays as holiday_library

from ditbot.core.i18n import Text, _

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class CalendarError(ValueError):
    """A working-time setting that cannot be read; `reason` says what is expected."""

    def __init__(self, message: str, **params: str) -> None:
        self.reason = Text(message, **params)
        super().__init__(str(self.reason))


def parse_days(text: str) -> frozenset[int]:
    """Working days as `mon-fri`, `mon,tue,thu` or `mon-fri,sat` (Monday is 0)."""
    days: set[int] = set()
    for part in (p.strip().lower() for p in text.split(",")):
        if not part:
            continue
        first, _dash, last = part.partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise CalendarError(_("must be days such as mon-fri or mon,tue,wed,thu,fri"))
        low, high = DAY_NAMES.index(first), DAY_NAMES.index(last or first)
        if high < low:
            raise CalendarError(_("a range of days goes from the first to the last, e.g. mon-fri"))
        days.update(range(low, high + 1))
    if not days:
        raise CalendarError(_("must name at least one working day, e.g. mon-fri"))
    return frozenset(days)


def parse_hours(text: str) -> tuple[time, time | None]:
    """Opening hours as `08:00-18:00`; `24:00` as the end means midnight (returned as None)."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
    if not match:
        raise CalendarError(_("must be opening hours such as 08:00-18:00"))
    h1, m1, h2, m2 = (int(x) for x in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
        raise CalendarError(_("must be opening hours such as 08:00-18:00"))
    start = time(h1, m1)
    end = None if h2 == 24 else time(h2, m2)
    if end is not None and end <= start:
        raise CalendarError(
            _("the closing time must come after the opening time, e.g. 08:00-18:00")
        )
    return start, end


def parse_holidays(text: str) -> tuple[str, str | None] | None:
    """`FR` (the country's public holidays), `FR-BL` or `DE-BY` (with a subdivision), or
    `none`; returns (country, subdivision) or None."""
    value = text.strip()
    if value.lower() in ("", "none", "no", "off"):
        return None
    country, _dash, subdivision = value.partition("-")
    country = country.upper()
    if country not in holiday_library.list_supported_countries():
        raise CalendarError(
            _("must be a country code the holidays library knows, e.g. FR, or none")
        )
    if subdivision:
        known = holiday_library.list_supported_countries()[country]
        if subdivision.upper() not in {s.upper() for s in known}:
            raise CalendarError(
                _("{country} has no subdivision '{subdivision}'"),
                country=country,
                subdivision=subdivision,
            )
        subdivision = next(s for s in known if s.upper() == subdivision.upper())
    return country, subdivision or None


def parse_zone(text: str) -> ZoneInfo:
    try:
        return ZoneInfo(text.strip())
    except (ValueError, KeyError, OSError):
        raise CalendarError(_("must be a time zone such as Europe/Paris")) from None
