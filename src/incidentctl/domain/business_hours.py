"""Business time: deadlines for severities whose clocks run only in business hours. Pure.

A duration's whole days count as business days (same local time, next business
day); the rest counts only minutes inside the business-hours window. So with
09:00-17:00 on weekdays, 30m from Friday 16:50 is Monday 09:20, and 1d from
Friday 10:00 is Monday 10:00. Holidays are not modelled.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from incidentctl.domain.policy import BusinessHours

_ONE_DAY = timedelta(days=1)


def _window(day: date, hours: BusinessHours, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The UTC opening and closing of `day` (a local date), or None on a closed day."""
    if day.weekday() not in hours.weekdays:
        return None
    opening = datetime.combine(day, hours.start, tzinfo=zone).astimezone(UTC)
    closing = datetime.combine(day, hours.end, tzinfo=zone).astimezone(UTC)
    return opening, closing


def is_business_time(at: datetime, hours: BusinessHours, zone: ZoneInfo) -> bool:
    window = _window(at.astimezone(zone).date(), hours, zone)
    return window is not None and window[0] <= at < window[1]


def next_business_time(at: datetime, hours: BusinessHours, zone: ZoneInfo) -> datetime:
    """`at` itself if it is inside business hours, else the next opening."""
    day = at.astimezone(zone).date()
    for offset in range(8):
        window = _window(day + timedelta(days=offset), hours, zone)
        if window is not None and at < window[1]:
            return max(at, window[0]).astimezone(UTC)
    raise ValueError("business hours name no day of the week")  # the config refuses this


def _next_business_day(day: date, hours: BusinessHours) -> date:
    day += _ONE_DAY
    while day.weekday() not in hours.weekdays:
        day += _ONE_DAY
    return day


def add_business_time(
    start: datetime, amount: timedelta, hours: BusinessHours, zone: ZoneInfo
) -> datetime:
    """The moment `amount` of business time after `start` has passed (UTC)."""
    at = next_business_time(start, hours, zone)
    days, rest = divmod(amount, _ONE_DAY)
    for _ in range(days):
        local = at.astimezone(zone)
        day = _next_business_day(local.date(), hours)
        at = datetime.combine(day, local.time(), tzinfo=zone).astimezone(UTC)
    while True:
        window = _window(at.astimezone(zone).date(), hours, zone)
        assert window is not None  # `at` is always inside business hours here
        closing = window[1]
        if at + rest <= closing:
            return at + rest
        rest -= closing - at
        at = next_business_time(closing, hours, zone)
