"""``schedules:`` - opening hours in a named time zone, with dated exceptions (N5).

A schedule is open at an instant when the local wall-clock time (converted
with zoneinfo, so DST switches are handled by the tz database) falls within
one of the ranges for that local date: the exception for the date if there is
one, else the weekly hours for its weekday.  Ranges are half-open
[start, end); "24:00" ends at midnight.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field

from acd.config.base import Model
from acd.config.types import Destination, TimeZoneName, parse_range

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOSED = "closed"
Ranges = tuple[tuple[int, int], ...]


def parse_days(text: str) -> tuple[int, ...]:
    """``"mon-fri"`` -> (0, 1, 2, 3, 4); ``"mon,wed"`` -> (0, 2); ``"fri-mon"`` wraps."""
    days: list[int] = []
    for part in text.lower().replace(" ", "").split(","):
        first, sep, last = part.partition("-")
        if first not in DAYS or (sep and last not in DAYS):
            raise ValueError(f"'{text}' is not a day or day range like 'mon-fri' or 'sat'")
        start = DAYS.index(first)
        end = DAYS.index(last) if sep else start
        days.extend((start + i) % 7 for i in range((end - start) % 7 + 1))
    return tuple(days)


def parse_hours(text: str) -> Ranges:
    """``"08:00-12:00, 13:00-16:00"`` -> ((480, 720), (780, 960)); ``"closed"`` -> ()."""
    if text.strip().lower() == CLOSED:
        return ()
    return tuple(parse_range(part) for part in re.split(r"\s*,\s*", text.strip()))


def _days(value: str) -> str:
    parse_days(value)
    return value


def _hours(value: str) -> str:
    parse_hours(value)
    return value


def _date(value: str) -> str:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a date YYYY-MM-DD") from None
    return value


DaySpec = Annotated[str, AfterValidator(_days)]
Hours = Annotated[str, AfterValidator(_hours)]
DateKey = Annotated[str, AfterValidator(_date)]


class Schedule(Model):
    timezone: TimeZoneName | None = Field(default=None, description="default: server.timezone")
    hours: dict[DaySpec, Hours] = Field(
        default_factory=dict,
        description='weekly hours: {"mon-fri": "08:00-16:00", "sat": "10:00-14:00"}',
    )
    exceptions: dict[DateKey, Hours] = Field(
        default_factory=dict,
        description='by date: {"2026-12-24": "closed", "2026-12-31": "08:00-12:00"}',
    )
    open: Destination
    closed: Destination

    def weekly(self) -> dict[int, list[tuple[int, int, str]]]:
        """Weekday -> [(start, end, key written)], sorted by start."""
        table: dict[int, list[tuple[int, int, str]]] = {day: [] for day in range(7)}
        for key, text in self.hours.items():
            for day in parse_days(key):
                table[day].extend((start, end, key) for start, end in parse_hours(text))
        for ranges in table.values():
            ranges.sort()
        return table

    def ranges_on(self, date: dt.date) -> Ranges:
        """The opening ranges that apply on a local date."""
        exception = self.exceptions.get(date.isoformat())
        if exception is not None:
            return parse_hours(exception)
        return tuple((start, end) for start, end, _ in self.weekly()[date.weekday()])

    def is_open(self, at: dt.datetime, *, default_timezone: str = "UTC") -> bool:
        """Whether the schedule is open at an aware instant."""
        if at.tzinfo is None:
            raise ValueError("is_open needs a timezone-aware datetime")
        local = at.astimezone(ZoneInfo(self.timezone or default_timezone))
        minute = local.hour * 60 + local.minute + local.second / 60
        return any(start <= minute < end for start, end in self.ranges_on(local.date()))

    def open_span(
        self, at: dt.datetime, *, default_timezone: str = "UTC"
    ) -> tuple[float, float] | None:
        """Minutes since this opening and minutes until it closes; None when closed."""
        local = at.astimezone(ZoneInfo(self.timezone or default_timezone))
        minute = local.hour * 60 + local.minute + local.second / 60
        for start, end in self.ranges_on(local.date()):
            if start <= minute < end:
                return minute - start, end - minute
        return None

    def destination_at(self, at: dt.datetime, *, default_timezone: str = "UTC") -> Destination:
        return self.open if self.is_open(at, default_timezone=default_timezone) else self.closed
