"""A note is a note: only an update moves the update clock, and each kind is labelled as itself."""

from __future__ import annotations

import pytest


def _update_overdue(cli, inc: str) -> bool:
    report = cli("status", "--json").json()
    (item,) = [i for i in report["incidents"] if i["id"] == inc]
    (update,) = [o for o in item["obligations"] if o["kind"] == "update"]
    return update["overdue"]


def test_a_plain_note_does_not_satisfy_the_update_cadence(cli):
    inc = cli.declare("Checkout failing", "--at", "-40m", severity="P1")  # updates every 30m
    assert _update_overdue(cli, inc)
    cli("note", "-", "looking at logs")
    assert _update_overdue(cli, inc)
    shown = cli("show", inc, "--json").json()
    (note,) = [e for e in shown["timeline"] if e["type"] == "note_added"]
    assert note["kind"] == "note"


@pytest.mark.parametrize(
    "args",
    [
        ("note", "-", "customers told on the status page", "--kind", "update"),
        ("update", "-", "-m", "still investigating"),
        ("update", "-", "--status", "identified", "-m", "found it"),
    ],
)
def test_an_update_satisfies_the_update_cadence(cli, args):
    inc = cli.declare("Checkout failing", "--at", "-40m", severity="P1")
    cli(*args)
    assert not _update_overdue(cli, inc)


def test_a_recorded_update_communication_satisfies_the_update_cadence(cli):
    inc = cli.declare("Checkout failing", "--at", "-40m", severity="P1")
    cli("render", "slack/update", "--record")
    assert not _update_overdue(cli, inc)


def test_show_labels_each_kind_as_itself(cli):
    inc = cli.declare("Checkout failing")
    cli("note", "-", "looking at logs")
    cli("note", "-", "it is the cache", "--kind", "hypothesis")
    cli("note", "-", "customers told", "--kind", "update")
    out = cli("show", inc).out
    assert "note: looking at logs" in out
    assert "update: looking at logs" not in out
    assert "hypothesis: it is the cache" in out
    assert "update: customers told" in out


def test_a_note_of_kind_update_from_an_older_version_still_counts():
    """Event files written before `note` was a kind keep loading with their meaning."""
    from datetime import UTC, datetime, timedelta

    from incidentctl.domain.events import parse_event
    from incidentctl.domain.state import fold

    at = datetime(2026, 2, 12, 10, 0, tzinfo=UTC)
    declared = {
        "type": "declared",
        "schema": 1,
        "id": "01KHA0000000000000000000AA",
        "incident": "01KHA0000000000000000000AA",
        "at": at.isoformat(),
        "recorded_at": at.isoformat(),
        "human_id": "INC-2026-02-12-001",
        "title": "t",
        "severity": "P1",
    }
    old_note = {  # what `note INC TEXT` wrote before: kind "update", or no kind at all
        "type": "note_added",
        "schema": 1,
        "id": "01KHA0000000000000000000AB",
        "incident": "01KHA0000000000000000000AA",
        "at": (at + timedelta(minutes=20)).isoformat(),
        "recorded_at": (at + timedelta(minutes=20)).isoformat(),
        "text": "looking at logs",
    }
    for record in (old_note, dict(old_note, kind="update")):
        state = fold([parse_event(declared), parse_event(record)])
        assert state.timeline[-1].kind == "update"
        assert state.last_update_at == at + timedelta(minutes=20)
