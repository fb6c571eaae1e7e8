"""Business-hours deadlines, for severities whose clocks run only in business hours. Pure.

The clock starts at the first business moment at or after the start, runs in
calendar time, and a deadline that falls outside business hours moves to the next
opening. With 09:00-17:00 on weekdays: 30m from Saturday 03:00 is Monday 09:30;
30m from Friday 16:50 is Monday 09:00; 1d from Thursday 10:00 is Friday 10:00 and
from Friday 10:00 is Monday 09:00 ("next business day"). A longer target never
gives an earlier deadline. Holidays are not modelled.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from incidentctl.domain.policy import BusinessHours


def _window(day: date, hours: BusinessHours, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The UTC opening and closing of `day` (a local date), or None on a closed day."""
    if day.weekday() not in hours.weekdays:
        return None
    opening = datetime.combine(day, hours.start, tzinfo=zone).astimezone(UTC)
    closing = datetime.combine(day, hours.end, tzinfo=zone).astimezone(UTC)
    return opening, closing


def _next_open(at: datetime, hours: BusinessHours, zone: ZoneInfo, *, closing_counts: bool):
    day = at.astimezone(zone).date()
    for offset in range(8):
        window = _window(day + timedelta(days=offset), hours, zone)
        if window is not None and (at <= window[1] if closing_counts else at < window[1]):
            return max(at, window[0]).astimezone(UTC)
    raise ValueError("business hours name no day of the week")  # the config refuses this


def is_business_time(at: datetime, hours: BusinessHours, zone: ZoneInfo) -> bool:
    window = _window(at.astimezone(zone).date(), hours, zone)
    return window is not None and window[0] <= at < window[1]


def next_business_time(at: datetime, hours: BusinessHours, zone: ZoneInfo) -> datetime:
    """`at` itself if it is inside business hours, else the next opening."""
    return _next_open(at, hours, zone, closing_counts=False)


def business_deadline(
    start: datetime, amount: timedelta, hours: BusinessHours, zone: ZoneInfo
) -> datetime:
    """When `amount` is due if its clock starts at `start` and runs in business hours.
    A deadline exactly at closing time stays there."""
    return _next_open(
        next_business_time(start, hours, zone) + amount, hours, zone, closing_counts=True
    )
