"""Business-hours deadlines on a fixed clock: the clocks of business-hours-only severities."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from incidentctl.domain.business_hours import (
    business_deadline,
    is_business_time,
    next_business_time,
)
from incidentctl.domain.policy import BusinessHours

HOURS = BusinessHours()  # Monday to Friday, 09:00-17:00
UTC_ZONE = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")
M, H, D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_clock_starts_at_the_first_business_moment():
    saturday_night = utc(2026, 2, 14, 3, 0)
    assert business_deadline(saturday_night, 30 * M, HOURS, UTC_ZONE) == utc(2026, 2, 16, 9, 30)
    early_thursday = utc(2026, 2, 12, 7, 0)
    assert business_deadline(early_thursday, 30 * M, HOURS, UTC_ZONE) == utc(2026, 2, 12, 9, 30)


def test_a_deadline_out_of_hours_moves_to_the_next_opening():
    friday = utc(2026, 2, 13, 16, 50)
    assert business_deadline(friday, 30 * M, HOURS, UTC_ZONE) == utc(2026, 2, 16, 9, 0)
    assert business_deadline(friday, 10 * M, HOURS, UTC_ZONE) == utc(2026, 2, 13, 17, 0)
    thursday = utc(2026, 2, 12, 10)
    assert business_deadline(thursday, 8 * H, HOURS, UTC_ZONE) == utc(2026, 2, 13, 9, 0)


def test_a_day_is_the_next_business_day():
    assert business_deadline(utc(2026, 2, 12, 10), D, HOURS, UTC_ZONE) == utc(2026, 2, 13, 10)
    assert business_deadline(utc(2026, 2, 13, 10), D, HOURS, UTC_ZONE) == utc(2026, 2, 16, 9)


def test_business_hours_follow_the_local_clock_across_daylight_saving():
    # New York moves to EDT on Sunday 2026-03-08: opening is 14:00Z before, 13:00Z after
    friday = datetime(2026, 3, 6, 16, 30, tzinfo=NEW_YORK).astimezone(UTC)
    assert business_deadline(friday, H, HOURS, NEW_YORK) == utc(2026, 3, 9, 13, 0)
    assert next_business_time(utc(2026, 3, 6, 23), HOURS, NEW_YORK) == utc(2026, 3, 9, 13, 0)
    assert next_business_time(utc(2026, 3, 5, 23), HOURS, NEW_YORK) == utc(2026, 3, 6, 14, 0)


def test_custom_days_and_hours():
    hours = BusinessHours(days=["sat", "Sunday"], start=time(10), end=time(12))
    assert not is_business_time(utc(2026, 2, 12, 11), hours, UTC_ZONE)
    assert is_business_time(utc(2026, 2, 14, 11), hours, UTC_ZONE)
    assert next_business_time(utc(2026, 2, 12, 11), hours, UTC_ZONE) == utc(2026, 2, 14, 10)
    assert business_deadline(utc(2026, 2, 14, 11), 2 * H, hours, UTC_ZONE) == utc(2026, 2, 15, 10)


@settings(max_examples=80, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
    ),
    minutes=st.integers(min_value=0, max_value=3 * 24 * 60),
)
def test_deadlines_fall_in_business_hours_and_grow_with_the_target(start, minutes):
    end = business_deadline(start, minutes * M, HOURS, NEW_YORK)
    assert end >= start + minutes * M
    local = end.astimezone(NEW_YORK)
    assert local.weekday() < 5
    assert time(9) <= local.time() <= time(17)
    assert business_deadline(start, (minutes + 1) * M, HOURS, NEW_YORK) >= end
