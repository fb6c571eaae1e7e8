from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidentctl.domain import ids
from incidentctl.domain.ulid import is_ulid, new_ulid, ulid_time

FMT = ids.DEFAULT_ID_FORMAT


def test_format_and_parse_round_trip():
    assert ids.format_id(FMT, date(2026, 2, 12), 1) == "INC-2026-02-12-001"
    assert ids.parse_id(FMT, "inc-2026-02-12-001") == (date(2026, 2, 12), 1)
    assert ids.parse_id(FMT, "INC-2026-02-30-001") is None
    assert ids.parse_id(FMT, "INC-2026-02-12") is None
    assert ids.normalise_id(FMT, "Inc-2026-02-12-7") == "INC-2026-02-12-007"


def test_next_id_counts_per_day_including_old_ids():
    day = date(2026, 2, 12)
    assert ids.next_id(FMT, day, []) == "INC-2026-02-12-001"
    assert ids.next_id(FMT, day, ["INC-2026-02-12-001"]) == "INC-2026-02-12-002"
    # a renumbered incident's old number stays taken
    taken = ["INC-2026-02-12-001", "INC-2026-02-12-003"]
    assert ids.next_id(FMT, day, taken) == "INC-2026-02-12-004"
    # other days do not count
    assert ids.next_id(FMT, day, ["INC-2026-02-11-009"]) == "INC-2026-02-12-001"


def test_custom_format():
    fmt = "OPS/{yyyy}{mm}{dd}.{seq}"
    with pytest.raises(ValueError):
        ids.validate_format(fmt)  # slashes would break paths and refs
    fmt = "SEV-{yyyy}{mm}{dd}.{seq}"
    ids.validate_format(fmt)
    assert ids.format_id(fmt, date(2026, 1, 5), 12, width=4) == "SEV-20260105.0012"
    assert ids.parse_id(fmt, "sev-20260105.0012") == (date(2026, 1, 5), 12)
    with pytest.raises(ValueError):
        ids.validate_format("INC-{yyyy}-{seq}")


def test_ulid_carries_its_time_and_sorts():
    at = datetime(2026, 2, 12, 14, 23, 5, 123000, tzinfo=UTC)
    first = new_ulid(at)
    later = new_ulid(datetime(2026, 2, 12, 14, 23, 6, tzinfo=UTC))
    assert is_ulid(first) and len(first) == 26
    assert ulid_time(first) == at
    assert first < later


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2999, 12, 30), timezones=st.just(UTC)
    )
)
def test_a_days_ulids_are_a_range_of_names(at):
    """`find INC-<day>-NNN` picks the day's folders by comparing the ULIDs' time parts as
    strings: that must select exactly the ULIDs whose decoded time falls on that day."""
    from datetime import timedelta

    from incidentctl.domain.ulid import time_part

    ulid = new_ulid(at)
    assert ulid[:10] == time_part(at)
    day = ulid_time(ulid).date()
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    assert time_part(start) <= ulid[:10] < time_part(start + timedelta(days=1))
    for other in (start - timedelta(milliseconds=1), start + timedelta(days=1)):
        assert not time_part(start) <= time_part(other) < time_part(start + timedelta(days=1))
