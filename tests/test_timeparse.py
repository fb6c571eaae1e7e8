from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from incidentctl.domain.timeparse import (
    TimeParseError,
    format_duration,
    iso,
    parse_compact_duration,
    parse_date,
    parse_duration,
    parse_time,
)

NOW = datetime(2026, 2, 12, 14, 30, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("-15m", NOW - timedelta(minutes=15)),
        ("15m ago", NOW - timedelta(minutes=15)),
        ("1h30m ago", NOW - timedelta(hours=1, minutes=30)),
        ("2 hours ago", NOW - timedelta(hours=2)),
        ("-45s", NOW - timedelta(seconds=45)),
        ("14:23", datetime(2026, 2, 12, 14, 23, tzinfo=UTC)),
        ("09:05:07", datetime(2026, 2, 12, 9, 5, 7, tzinfo=UTC)),
        ("2026-02-12T14:23Z", datetime(2026, 2, 12, 14, 23, tzinfo=UTC)),
        ("2026-02-12T14:23:00+01:00", datetime(2026, 2, 12, 13, 23, tzinfo=UTC)),
        ("2026-02-12 14:23", datetime(2026, 2, 12, 14, 23, tzinfo=UTC)),
        ("2026-02-12", datetime(2026, 2, 12, tzinfo=UTC)),
    ],
)
def test_parse_time_forms(text, expected):
    assert parse_time(text, NOW) == expected


def test_hhmm_and_naive_iso_use_the_configured_zone():
    # 14:23 in Berlin (UTC+1 in February) is 13:23 UTC
    assert parse_time("14:23", NOW, BERLIN) == datetime(2026, 2, 12, 13, 23, tzinfo=UTC)
    assert parse_time("2026-07-01T10:00", NOW, BERLIN) == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def test_hhmm_is_today_in_the_zone_not_in_utc():
    late = datetime(2026, 2, 12, 23, 30, tzinfo=UTC)  # already 00:30 on the 13th in Berlin
    assert parse_time("00:10", late, BERLIN) == datetime(2026, 2, 12, 23, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["", "yesterdayish", "25:00", "12:61", "-15x", "ago", "2026-13-01"]
)
def test_bad_times_are_refused(text):
    with pytest.raises(TimeParseError):
        parse_time(text, NOW)


def test_durations():
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration("1h30m") == timedelta(hours=1, minutes=30)
    assert parse_duration("2w") == timedelta(weeks=2)
    assert parse_duration("3 days") == timedelta(days=3)
    with pytest.raises(TimeParseError):
        parse_duration("soon")
    assert format_duration(timedelta(hours=2, minutes=37)) == "2h 37m"
    assert format_duration(timedelta(seconds=45)) == "45s"
    assert format_duration(timedelta(days=3, hours=4, minutes=5)) == "3d 4h"
    assert format_duration(timedelta(minutes=-5)) == "-5m"


def test_storage_form_is_utc_with_explicit_offset():
    assert iso(datetime(2026, 2, 12, 15, 0, tzinfo=BERLIN)) == "2026-02-12T14:00:00+00:00"
    assert (
        iso(datetime(2026, 2, 12, 14, 0, 0, 123456, tzinfo=UTC)) == "2026-02-12T14:00:00.123+00:00"
    )
    assert iso(None) is None


def test_dates():
    assert parse_date("2026-02-12") == date(2026, 2, 12)
    assert parse_date(" 2026-02-12 ") == date(2026, 2, 12)
    # not written as a date: for the caller to read as a time or a span
    for other in ("today", "2026-02-12T14:23Z", "-3d", "14:23", "2026-2-12"):
        assert parse_date(other) is None
    with pytest.raises(TimeParseError, match=r"not a date: '2026-02-30'"):
        parse_date("2026-02-30")


def test_the_compact_form_is_the_only_one_a_time_box_takes():
    assert parse_compact_duration("1h30m") == timedelta(hours=1, minutes=30)
    assert parse_compact_duration("1w") == timedelta(weeks=1)
    for bad in ("", "m", "30m1h", "1.5h", "5m\n", "5 minutes", "1H", " 5m"):
        with pytest.raises(TimeParseError):
            parse_compact_duration(bad)
    with pytest.raises(TimeParseError, match="out of range"):
        parse_compact_duration("99999999999w")
