"""Business time: the company's working days and hours, its public holidays, its time zone.

Response timers count only the time the company is open. A day's opening hours are wall-clock
times in the company's zone (8:00-18:00 Europe/Paris by default), turned into UTC instants day
by day, so that the switch to and from summer time moves them with the clock on the wall.
Public holidays come from the maintained `holidays` library (France by default).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holiday_library

from ditbot.core.working_time import (
    DAY_NAMES,
    CalendarError,
    parse_days,
    parse_holidays,
    parse_hours,
    parse_zone,
)

__all__ = [
    "DAY_NAMES",
    "BusinessCalendar",
    "CalendarError",
    "parse_days",
    "parse_holidays",
    "parse_hours",
    "parse_zone",
]

_KEPT = threading.local()  # BusinessCalendar.of: the calendars of this thread, by settings
# A calendar with no working day at all would make `add` search forever: it looks this far.
_HORIZON_DAYS = 3 * 366


@dataclass(frozen=True)
class BusinessCalendar:
    """When the company works: `days` (0 = Monday), `start`-`end` each day (end None: midnight),
    minus the public holidays of `country` (None: no holidays) and `extra_holidays`."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Paris"))
    days: frozenset[int] = frozenset(range(5))
    start: time = time(8)
    end: time | None = time(18)
    country: str | None = "FR"
    subdivision: str | None = None
    extra_holidays: frozenset[date] = frozenset()

    @classmethod
    def from_settings(cls, settings: Any) -> BusinessCalendar:
        """The calendar of DITBOT_TIMEZONE, DITBOT_WORKING_DAYS, DITBOT_WORKING_HOURS and
        DITBOT_HOLIDAYS (already checked by the settings)."""
        start, end = parse_hours(settings.working_hours)
        where = parse_holidays(settings.holidays)
        return cls(
            zone=parse_zone(settings.timezone),
            days=parse_days(settings.working_days),
            start=start,
            end=end,
            country=where[0] if where else None,
            subdivision=where[1] if where else None,
        )

    @classmethod
    def of(cls, settings: Any) -> BusinessCalendar:
        """The company's calendar for `settings`, built once per thread and kept: it learns
        its days (holidays, openings) as it goes, so a click or a scan does not work out the
        year again. One per thread, as its day cache is not shared."""
        key = (settings.timezone, settings.working_days, settings.working_hours, settings.holidays)
        kept: dict[tuple[Any, ...], BusinessCalendar] = _KEPT.__dict__.setdefault("by_key", {})
        if key not in kept:
            kept[key] = cls.from_settings(settings)
        return kept[key]

    @cached_property
    def _holidays(self) -> Any:
        if self.country is None:
            return None
        return holiday_library.country_holidays(self.country, subdiv=self.subdivision)

    # -- days -------------------------------------------------------------------------------
    def holiday_name(self, day: date) -> str | None:
        if day in self.extra_holidays:
            return "holiday"
        if self._holidays is None:
            return None
        name = self._holidays.get(day)
        return str(name) if name else None

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.days and self.holiday_name(day) is None

    def opening(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's open interval as UTC instants, or None on a day off (kept per day)."""
        cache = self.__dict__.setdefault("_openings", {})
        if day not in cache:
            cache[day] = self._opening(day)
        found: tuple[datetime, datetime] | None = cache[day]
        return found

    def _opening(self, day: date) -> tuple[datetime, datetime] | None:
        if not self.is_working_day(day):
            return None
        opens = datetime.combine(day, self.start, tzinfo=self.zone)
        if self.end is None:
            closes = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
        else:
            closes = datetime.combine(day, self.end, tzinfo=self.zone)
        return opens.astimezone(UTC), closes.astimezone(UTC)

    def _openings_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The open intervals that end after `moment`, in order (clipped to start at it)."""
        day = _aware(moment).astimezone(self.zone).date() - timedelta(days=1)
        for _ in range(_HORIZON_DAYS):
            interval = self.opening(day)
            day += timedelta(days=1)
            if interval is None or interval[1] <= moment:
                continue
            yield max(interval[0], moment), interval[1]

    # -- instants ---------------------------------------------------------------------------
    def is_open(self, moment: datetime) -> bool:
        moment = _aware(moment)
        local = moment.astimezone(self.zone).date()
        for day in (local - timedelta(days=1), local):
            interval = self.opening(day)
            if interval is not None and interval[0] <= moment < interval[1]:
                return True
        return False

    def next_open(self, moment: datetime) -> datetime:
        """`moment` itself when the company is open then, else the next opening (UTC)."""
        moment = _aware(moment)
        for opens, _closes in self._openings_from(moment):
            return opens
        raise CalendarError("no working day in the next three years")

    def add(self, moment: datetime, duration: timedelta) -> datetime:
        """The instant `duration` of business time after `moment` (UTC)."""
        moment = _aware(moment)
        left = duration
        if left <= timedelta(0):
            return self.next_open(moment) if left == timedelta(0) else moment
        for opens, closes in self._openings_from(moment):
            if closes - opens >= left:
                return opens + left
            left -= closes - opens
        raise CalendarError("no working day in the next three years")

    def elapsed(self, since: datetime, until: datetime) -> timedelta:
        """The business time between two instants (zero when `until` is not later)."""
        since, until = _aware(since), _aware(until)
        total = timedelta(0)
        if until <= since:
            return total
        for opens, closes in self._openings_from(since):
            if opens >= until:
                break
            total += min(closes, until) - opens
        return total

    # -- many instants at once (figures over a month) --------------------------------------
    def business_seconds(self, moment: datetime) -> float:
        """Seconds of business time from a fixed origin to `moment`: the business time between
        two instants is the difference (`elapsed` for one pair, this for thousands)."""
        moment = _aware(moment)
        day = moment.astimezone(self.zone).date()
        for candidate in (day - timedelta(days=1), day):
            interval = self.opening(candidate)
            if interval is not None and interval[0] <= moment < interval[1]:
                inside = (moment - interval[0]).total_seconds()
                return self._before(candidate) + inside
        # Closed at `moment`: everything of the days up to it counts, the rest of none.
        if self.opening(day) is not None and moment >= self.opening(day)[1]:  # type: ignore[index]
            return self._before(day + timedelta(days=1))
        return self._before(day)

    def _before(self, day: date) -> float:
        """Business seconds of the days from the origin up to (not including) `day`."""
        cache = self.__dict__.setdefault("_cumulative", {})
        if day in cache:
            return float(cache[day])
        origin = self.__dict__.setdefault("_origin", day)
        if day < origin:
            # Earlier than any day seen yet: count backwards from the origin (negative).
            total = 0.0
            cursor = day
            while cursor < origin:
                interval = self.opening(cursor)
                if interval is not None:
                    total -= (interval[1] - interval[0]).total_seconds()
                cursor += timedelta(days=1)
            cache[day] = total
            return total
        known = max((d for d in cache if d <= day), default=origin)
        total = float(cache.get(known, 0.0))
        cursor = known
        while cursor < day:
            interval = self.opening(cursor)
            if interval is not None:
                total += (interval[1] - interval[0]).total_seconds()
            cursor += timedelta(days=1)
            cache[cursor] = total
        return total

    def working_days(self, first: date, last: date) -> Iterable[date]:
        day = first
        while day <= last:
            if self.is_working_day(day):
                yield day
            day += timedelta(days=1)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no place on the timeline: give it a zone")
    return moment.astimezone(UTC)
