"""Corrections and retractions are new events: the fold shows the corrected view and
marks it, `log` keeps the originals, and nothing is ever edited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conftest import Cli
from incidentctl.domain import events as ev
from incidentctl.domain.state import fold
from teamrepos import at, human_id

T0 = datetime(2026, 2, 12, 10, 0, tzinfo=UTC)
UID = "01KH8MQYV0S05BCS4KNAFK40H8"


def _ulid(n: int) -> str:
    return f"01KH8MQYV0{n:016d}"


def _base(n: int, minute: int) -> dict:
    when = T0 + timedelta(minutes=minute)
    return {"id": _ulid(n), "incident": UID, "at": when, "recorded_at": when, "author": "@a"}


def _declared() -> ev.Declared:
    return ev.Declared(
        **dict(_base(0, 0), id=UID), human_id=human_id(1), title="API down", severity="P1"
    )


def test_fold_applies_corrections_and_skips_retracted_events():
    ack = ev.Acknowledged(**_base(1, 5))
    identified = ev.StatusChanged(**_base(2, 10), status="identified", previous="investigating")
    note = ev.NoteAdded(**_base(3, 12), text="DB at 100% CPU")
    resolved = ev.Resolved(**_base(4, 30), root_cause="cpu", resolution="restart")
    events = [
        _declared(),
        ack,
        identified,
        note,
        resolved,
        # the ack really happened at 10:02; the note meant the replica; the status was wrong
        ev.Corrected(
            **_base(5, 40),
            target=ack.id,
            target_type="acknowledged",
            corrected_at=T0 + timedelta(minutes=2),
        ),
        ev.Corrected(
            **_base(6, 41),
            target=note.id,
            target_type="note_added",
            field="text",
            text="Replica at 100% CPU",
        ),
        ev.Retracted(
            **_base(7, 42), target=identified.id, target_type="status_changed", reason="not yet"
        ),
        # a correction that is itself retracted no longer applies
        ev.Corrected(
            **_base(8, 43),
            target=resolved.id,
            target_type="resolved",
            field="root_cause",
            text="disk",
        ),
        ev.Retracted(**_base(9, 44), target=_ulid(8), target_type="corrected", reason="it was cpu"),
    ]

    state = fold(events)

    assert state.acknowledged_at == T0 + timedelta(minutes=2)
    assert state.identified_at is None  # the retracted status change did not count
    assert state.root_cause == "cpu"
    timeline = {e.id: e for e in state.timeline}
    assert timeline[note.id].text == "Replica at 100% CPU"
    assert [e.id for e in state.timeline][:2] == [UID, ack.id]  # re-sorted by corrected time
    assert state.corrections[ack.id].status == "corrected"
    assert state.corrections[ack.id].original == {"at": T0 + timedelta(minutes=5)}
    assert state.corrections[note.id].original == {"text": "DB at 100% CPU"}
    assert state.corrections[identified.id].status == "retracted"
    assert state.corrections[_ulid(8)].status == "retracted"
    assert resolved.id not in state.corrections
    data = state.to_dict()["corrections"]
    assert data[ack.id]["original"] == {"at": "2026-02-12T10:05:00+00:00"}
    assert data[identified.id]["retraction_reason"] == "not yet"


def test_fold_ignores_corrections_it_must_not_apply():
    declared = _declared()
    events = [
        declared,
        # retracting the declaration, or an event of another incident, changes nothing
        ev.Retracted(**_base(1, 1), target=UID, target_type="declared", reason="x"),
        ev.Retracted(**_base(2, 2), target=_ulid(99), target_type="note_added", reason="x"),
        ev.Corrected(
            **_base(3, 3), target=UID, target_type="declared", field="severity", text="P3"
        ),
        ev.Corrected(
            **_base(4, 4), target=UID, target_type="declared", field="title", text="API slow"
        ),
    ]

    state = fold(events)

    assert state.title == "API slow" and state.severity == "P1"
    assert state.corrections[UID].status == "corrected"


@pytest.fixture
def incident(cli) -> str:
    cli.declare("API returning 503", env=at(0))
    return human_id(1)


def _event_id(cli: Cli, incident: str, kind: str) -> str:
    return next(
        e["id"] for e in cli("show", incident, "--json").json()["timeline"] if e["type"] == kind
    )


def test_correct_and_retract_from_the_command_line(cli, incident):
    cli("ack", incident, env=at(20))
    cli("note", incident, "DB at 100% CPU", env=at(21))
    cli("update", incident, "--status", "identified", env=at(22))
    ack, note = _event_id(cli, incident, "acknowledged"), _event_id(cli, incident, "note_added")
    status = _event_id(cli, incident, "status_changed")
    nasty = 'Replica "db-2" at 100% <!channel> {{ x }} $(id) 🔥\nsecond line'

    corrected = cli(
        "correct",
        ack[:14].lower(),
        "--at",
        "10:03",
        "-m",
        "pager shows 10:03",
        "--json",
        env=at(30),
    )
    cli("correct", note, "--text", nasty, env=at(31))
    cli("retract", status, "-m", "identified too early", env=at(32))

    assert corrected.json()["events"][0]["type"] == "corrected"
    view = cli("show", incident, "--json").json()
    assert view["acknowledged_at"] == "2026-02-12T10:03:00+00:00"
    assert view["status"] == "investigating" and view["identified_at"] is None
    assert next(e for e in view["timeline"] if e["id"] == note)["text"] == nasty
    assert view["corrections"][ack]["status"] == "corrected"
    assert view["corrections"][status]["status"] == "retracted"
    shown = cli("show", incident).out
    assert "[corrected]" in shown and "[retracted]" in shown
    assert "\x1b[" not in shown
    # the originals stay in the files and in the log
    log = cli("log", incident).out
    assert "note: DB at 100% CPU" in log and "corrected note_added" in log
    assert "DB at 100% CPU" in next(cli.repo.glob(f"incidents/*/*/events/*{note}.toml")).read_text()
    assert cli("verify").code == 0


def test_bad_corrections_are_refused_and_change_nothing(cli, incident):
    cli("assign", incident, "commander", "@sarah", env=at(5))
    declared = _event_id(cli, incident, "declared")
    role = _event_id(cli, incident, "role_assigned")
    commits = cli.commits()
    cases = [
        (("correct", role), 2, "nothing to correct"),
        (("correct", role, "--text", "x"), 2, "has no text to correct"),
        (
            ("correct", declared, "--text", "x", "--field", "severity"),
            2,
            "no text field 'severity'",
        ),
        (("correct", declared, "--text", "  "), 2, "--text must not be empty"),
        (("correct", declared, "--at", "not a time"), 2, "--at"),
        (("correct", "01", "--text", "x"), 2, "not an event ID"),
        (("correct", "ZZZZZZZZ", "--text", "x"), 1, "no event 'ZZZZZZZZ'"),
        (("retract", declared, "-m", "oops"), 2, "a declared event cannot be retracted"),
        (("retract", role, "-m", ""), 2, "-m must not be empty"),
    ]
    for args, code, message in cases:
        result = cli(*args, ok=False, env=at(6))
        assert result.code == code, (args, result.err)
        assert result.err.startswith("error: ") and message in result.err, result.err
        assert "Traceback" not in result.err
    cli("retract", role, "-m", "wrong person", env=at(7))
    again = cli("retract", role[:20], "-m", "again", ok=False, env=at(8))
    assert again.code == 2 and "already retracted" in again.err
    assert cli.commits() == commits + 1
    assert cli("show", incident, "--json").json()["roles"] == {}
