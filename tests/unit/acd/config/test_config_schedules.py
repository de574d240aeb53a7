"""N5 time control: weekly hours, dated exceptions, time zones and DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from acd.config import Destination, Schedule

UTC = dt.UTC
HELSINKI = ZoneInfo("Europe/Helsinki")


def office() -> Schedule:
    return Schedule.model_validate(
        {
            "timezone": "Europe/Helsinki",
            "hours": {"mon-fri": "08:00-16:00", "sat": "10:00-12:00, 13:00-14:00"},
            "exceptions": {"2026-12-24": "closed", "2026-12-31": "08:00-12:00"},
            "open": "menu:main",
            "closed": "announcement:closed",
        }
    )


@pytest.mark.parametrize(
    ("local", "is_open"),
    [
        (dt.datetime(2026, 6, 1, 7, 59), False),  # Monday before opening
        (dt.datetime(2026, 6, 1, 8, 0), True),  # opening minute is open
        (dt.datetime(2026, 6, 1, 15, 59, 59), True),
        (dt.datetime(2026, 6, 1, 16, 0), False),  # closing minute is closed
        (dt.datetime(2026, 6, 6, 11, 0), True),  # Saturday morning range
        (dt.datetime(2026, 6, 6, 12, 30), False),  # Saturday lunch gap
        (dt.datetime(2026, 6, 6, 13, 30), True),
        (dt.datetime(2026, 6, 7, 11, 0), False),  # Sunday: no hours
        (dt.datetime(2026, 12, 24, 10, 0), False),  # Thursday, Christmas Eve closed
        (dt.datetime(2026, 12, 31, 11, 0), True),  # New Year's Eve short day
        (dt.datetime(2026, 12, 31, 13, 0), False),
    ],
)
def test_open_follows_weekly_hours_and_exceptions(local: dt.datetime, is_open: bool) -> None:
    assert office().is_open(local.replace(tzinfo=HELSINKI)) is is_open


def test_instants_in_other_zones_are_converted_to_the_schedule_zone() -> None:
    # 06:30 UTC on a June Monday is 09:30 in Helsinki (EEST, UTC+3).
    assert office().is_open(dt.datetime(2026, 6, 1, 6, 30, tzinfo=UTC))
    # 13:30 UTC is 16:30 local: closed, though 13:30 would be open in UTC.
    assert not office().is_open(dt.datetime(2026, 6, 1, 13, 30, tzinfo=UTC))


def test_spring_dst_switch_moves_opening_an_hour_earlier_in_utc() -> None:
    # Europe/Helsinki goes to summer time on the last Sunday of March (2026-03-29).
    schedule = office()
    # Monday before the switch: 08:00 local is 06:00 UTC.
    assert not schedule.is_open(dt.datetime(2026, 3, 23, 5, 30, tzinfo=UTC))
    assert schedule.is_open(dt.datetime(2026, 3, 23, 6, 0, tzinfo=UTC))
    # Monday after the switch: 08:00 local is 05:00 UTC.
    assert schedule.is_open(dt.datetime(2026, 3, 30, 5, 30, tzinfo=UTC))
    assert not schedule.is_open(dt.datetime(2026, 3, 30, 4, 59, tzinfo=UTC))


def test_autumn_dst_switch_moves_opening_an_hour_later_in_utc() -> None:
    # Back to winter time on the last Sunday of October (2026-10-25).
    schedule = office()
    assert schedule.is_open(dt.datetime(2026, 10, 23, 5, 0, tzinfo=UTC))  # Fri 08:00 EEST
    assert not schedule.is_open(dt.datetime(2026, 10, 26, 5, 0, tzinfo=UTC))  # Mon 07:00 EET
    assert schedule.is_open(dt.datetime(2026, 10, 26, 6, 0, tzinfo=UTC))  # Mon 08:00 EET


def test_destination_at_picks_open_or_closed() -> None:
    schedule = office()
    assert schedule.destination_at(dt.datetime(2026, 6, 1, 9, 0, tzinfo=HELSINKI)) == Destination(
        kind="menu", target="main"
    )
    assert str(schedule.destination_at(dt.datetime(2026, 6, 7, 9, 0, tzinfo=HELSINKI))) == (
        "announcement:closed"
    )


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        office().is_open(dt.datetime(2026, 6, 1, 9, 0))


def test_day_ranges_may_wrap_over_the_weekend_and_end_at_midnight() -> None:
    schedule = Schedule.model_validate(
        {
            "timezone": "UTC",
            "hours": {"fri-mon": "20:00-24:00"},
            "open": "hangup",
            "closed": "hangup",
        }
    )
    assert schedule.is_open(dt.datetime(2026, 6, 7, 23, 59, tzinfo=UTC))  # Sunday
    assert schedule.is_open(dt.datetime(2026, 6, 8, 20, 0, tzinfo=UTC))  # Monday
    assert not schedule.is_open(dt.datetime(2026, 6, 9, 21, 0, tzinfo=UTC))  # Tuesday
