"""Pure review and metrics code on fixed data: statistics, intervals, due dates, action IDs,
and folding the review's events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidentctl.domain import events as ev
from incidentctl.domain.metrics import METRICS, Stats, interval, nearest_rank
from incidentctl.domain.review import DueDateError, parse_due, split_action_ref
from incidentctl.domain.state import fold
from incidentctl.domain.ulid import new_ulid

T0 = datetime(2026, 2, 12, 14, 0, tzinfo=UTC)
UID = new_ulid(T0, bytes(10))
_serial = iter(range(1, 10_000))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make(kind, minutes: float, **fields):
    when = at(minutes)
    return kind(
        id=new_ulid(when, next(_serial).to_bytes(10, "big")),
        incident=UID,
        at=when,
        recorded_at=when,
        **fields,
    )


def declared(**fields):
    return ev.Declared(
        id=UID,
        incident=UID,
        at=T0,
        recorded_at=T0,
        human_id="INC-2026-02-12-001",
        title="API down",
        severity="P1",
        **fields,
    )


def seconds(*minutes: float) -> list[timedelta]:
    return [timedelta(minutes=m) for m in minutes]


def test_stats_mean_median_and_nearest_rank_p90():
    s = Stats.of(seconds(10, 1, 3, 2, 4, 5, 6, 7, 8, 9), left_out=2)
    assert (s.count, s.left_out) == (10, 2)
    assert s.mean == 330.0  # 55 min / 10
    assert s.median == 330.0  # (5 + 6) / 2 minutes
    assert s.p90 == 540.0  # 9th of 10
    assert Stats.of(seconds(7), 0).p90 == 420.0
    assert Stats.of([], 3) == Stats(0, 3, None, None, None)
    assert nearest_rank([1.0, 2.0, 3.0], 90) == 3.0
    assert nearest_rank([float(n) for n in range(1, 21)], 90) == 18.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=40))
def test_stats_stay_within_the_data(values):
    s = Stats.of([timedelta(seconds=v) for v in values], 0)
    assert min(values) - 0.05 <= s.mean <= max(values) + 0.05
    assert min(values) <= s.median <= max(values)
    assert s.p90 in values
    assert s.p90 >= s.median
    assert sum(v <= s.p90 for v in values) >= 0.9 * len(values)


def test_intervals_left_out_when_missing_or_backwards():
    mttd, mtta, mtti, mttm, mttr = METRICS
    state = fold(
        [
            declared(detected_at=at(-4)),
            make(ev.Mitigated, 10, message="restarted"),
            make(ev.StatusChanged, 15, status="identified"),
        ]
    )
    assert interval(state, mttd) == timedelta(minutes=4)
    assert interval(state, mtta) is None  # never acknowledged
    assert interval(state, mtti) == timedelta(minutes=15)
    assert interval(state, mttm) is None  # mitigated before identified
    assert interval(state, mttr) is None  # still open


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-02-20", date(2026, 2, 20)),
        (" 2026-02-20 ", date(2026, 2, 20)),
        ("today", date(2026, 2, 12)),
        ("tomorrow", date(2026, 2, 13)),
        ("+7d", date(2026, 2, 19)),
        ("2w", date(2026, 2, 26)),
        ("in 3 days", date(2026, 2, 15)),
        ("2026-02-20T23:30:00-05:00", date(2026, 2, 21)),  # a time: its day in the zone (UTC)
    ],
)
def test_parse_due(text, expected):
    assert parse_due(text, T0, UTC) == expected


def test_parse_due_uses_the_team_zone_for_today():
    late = datetime(2026, 2, 12, 23, 30, tzinfo=UTC)
    assert parse_due("today", late, ZoneInfo("Asia/Tokyo")) == date(2026, 2, 13)


@pytest.mark.parametrize("text", ["2026-02-30", "someday", "", "+", "7x", "31/12/2026"])
def test_parse_due_rejects(text):
    with pytest.raises(DueDateError):
        parse_due(text, T0, UTC)


def test_split_action_ref():
    assert split_action_ref("INC-2026-02-12-001#A2") == ("INC-2026-02-12-001", 2)
    assert split_action_ref("inc-2026-02-12-001#a12") == ("inc-2026-02-12-001", 12)
    assert split_action_ref("01KHB3#A1") == ("01KHB3", 1)
    for bad in ("INC-2026-02-12-001", "INC-2026-02-12-001#A", "#A1", "INC#B2", "INC#A0"):
        assert split_action_ref(bad) is None


def action_added(minutes, number, title="t", **fields):
    return make(
        ev.ActionAdded,
        minutes,
        number=number,
        title=title,
        owner="@o",
        due=date(2026, 3, 1),
        priority="P1",
        **fields,
    )


def test_fold_review_entries_schedule_and_completion():
    state = fold(
        [
            declared(),
            make(ev.PirEntry, 1, section="why", text="first"),
            make(ev.PirEntry, 2, section="summary", text="old"),
            make(ev.PirEntry, 3, section="why", text="second"),
            make(ev.PirEntry, 4, section="summary", text="new"),
            make(ev.PirScheduled, 5, review_at=at(3000)),
            make(ev.PirScheduled, 6, review_at=at(4000)),
            make(ev.PirCompleted, 7),
        ]
    )
    assert state.pir == {"why": ["first", "second"], "summary": ["old", "new"]}
    assert state.pir_scheduled_at == at(4000)  # rescheduled
    assert state.pir_completed_at == at(7)
    data = state.to_dict()
    assert data["pir"]["why"] == ["first", "second"]
    assert data["pir_scheduled_at"] == "2026-02-15T08:40:00+00:00"


def test_fold_actions_updates_and_duplicate_numbers():
    first = action_added(10, 1, "first")
    # a second clone also allocated A1: the later one becomes A3 on every clone
    clash = action_added(11, 1, "clash")
    second = action_added(12, 2, "second")
    events = [
        declared(),
        first,
        clash,
        second,
        make(ev.ActionUpdated, 20, action=first.id, number=1, status="in-progress"),
        make(ev.ActionUpdated, 30, action=first.id, number=1, status="done", note="merged"),
        # back-dated before its action was added: still applied, in order
        make(ev.ActionUpdated, 5, action=clash.id, number=1, status="wont-do"),
        make(ev.ActionUpdated, 40, action=clash.id, number=3, note="kept closed"),
    ]
    for order in (events, list(reversed(events))):
        state = fold(order)
        by_title = {a.title: a for a in state.actions}
        assert [a.number for a in state.actions] == [1, 3, 2]
        assert by_title["clash"].requested_number == 1
        assert by_title["first"].status == "done"
        assert by_title["first"].closed_at == at(30)
        assert [n.text for n in by_title["first"].notes] == ["", "merged"]
        assert by_title["clash"].status == "wont-do"
        assert [n.text for n in by_title["clash"].notes] == ["", "kept closed"]
        assert by_title["second"].is_open
        assert by_title["second"].is_overdue(date(2026, 3, 2))
        assert not by_title["second"].is_overdue(date(2026, 3, 1))
    assert state.to_dict()["actions"][0]["id"] == "INC-2026-02-12-001#A1"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["not-started", "in-progress", "done", "wont-do", ""]), max_size=8))
def test_the_last_status_set_wins(statuses):
    added = action_added(1, 1)
    updates = [
        make(ev.ActionUpdated, 10 + i, action=added.id, number=1, status=s, note="n")
        for i, s in enumerate(statuses)
    ]
    item = fold([declared(), added, *updates]).actions[0]
    set_ = [s for s in statuses if s]
    assert item.status == (set_[-1] if set_ else "not-started")
    assert len(item.notes) == len(statuses)
    assert (item.closed_at is not None) == (item.status in ("done", "wont-do"))
