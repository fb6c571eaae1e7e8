"""`metrics`: White Room's communication targets, and repeats as each document counts them.

The incidents are written as event files; every number below is worked out by hand.
"""

from __future__ import annotations

from datetime import timedelta

from conftest import Cli, run_cli
from incidentctl.domain import events as ev
from review_support import EventWriter, utc

M = timedelta(minutes=1)
NOW = {"INCIDENTCTL_NOW": "2026-02-01T12:00:00Z"}


def _sent(w: EventWriter, uid: str, at, template: str = "slack/update") -> None:
    w.write(ev.CommunicationSent, uid, at, template=template, audience="internal", via="manual")


def _resolve(w: EventWriter, uid: str, at, category: str = "") -> None:
    w.write(ev.Resolved, uid, at, root_cause="a cause", resolution="a fix", category=category)


def comms_repo(tmp_path):
    """White Room's policy: initial update within 15m for P0/P1; updates every 15m (P0)
    and 30m (P1); the final update within 1h of resolution, every severity."""
    repo = tmp_path / "wr"
    assert run_cli("init", str(repo), "--example", "white-room").code == 0
    w = EventWriter(repo)
    # A, P0: told at +5 +18 +33, resolved +40, told +50. Gaps 5 13 15 7: all met.
    t = utc("2026-01-05T10:00")
    a = w.declare("INC-2026-01-05-001", "A", "P0", t)
    for m in (5, 18, 33):
        _sent(w, a, t + m * M)
    _resolve(w, a, t + 40 * M)
    _sent(w, a, t + 50 * M, "slack/resolved")
    # B, P1: told at +20 (5m late), +70 (a 50m gap: 20m late), resolved +90, told +170
    # (80m after: 20m late)
    t = utc("2026-01-10T10:00")
    b = w.declare("INC-2026-01-10-001", "B", "P1", t)
    _sent(w, b, t + 20 * M)
    _sent(w, b, t + 70 * M)
    _resolve(w, b, t + 90 * M)
    _sent(w, b, t + 170 * M)
    # C, P0: never told; resolved after 30m (a 30m silence: 15m late)
    t = utc("2026-01-15T10:00")
    c = w.declare("INC-2026-01-15-001", "C", "P0", t)
    _resolve(w, c, t + 30 * M)
    # D, P2: no initial or regular target; resolved +100, told +130: final met
    t = utc("2026-01-20T10:00")
    d = w.declare("INC-2026-01-20-001", "D", "P2", t)
    _resolve(w, d, t + 100 * M)
    _sent(w, d, t + 130 * M)
    # E, P1, open for 10 minutes: nothing is due yet
    w.declare("INC-2026-02-01-001", "E", "P1", utc("2026-02-01T11:50"))
    w.commit()
    return repo


def test_communication_targets_share_met_and_worst_miss(tmp_path):
    repo = comms_repo(tmp_path)
    got = Cli(repo)("metrics", "--json", env=NOW).json()["communication"]
    assert got["initial"] == {
        "meaning": "declared -> first update sent",
        "target_key": "initial_update_within",
        "incidents": 3,  # A, B, C (D is P2, E is not due)
        "met": 1,
        "share": 0.3333,
        "worst_miss": {
            "id": "INC-2026-01-15-001",
            "seconds": None,
            "measured_seconds": None,
            "target_seconds": 900.0,
            "never_sent": True,
        },
    }
    assert got["regular"]["incidents"] == 3
    assert got["regular"]["met"] == 1
    assert got["regular"]["worst_miss"] == {
        "id": "INC-2026-01-10-001",
        "seconds": 1200.0,  # a 50 minute gap against 30
        "measured_seconds": 3000.0,
        "target_seconds": 1800.0,
        "never_sent": False,
    }
    assert (got["final"]["incidents"], got["final"]["met"]) == (4, 2)  # A and D met
    assert got["final"]["worst_miss"]["id"] == "INC-2026-01-15-001"
    assert got["final"]["worst_miss"]["never_sent"] is True


def test_communication_in_the_view_and_the_monthly_report(tmp_path):
    repo = comms_repo(tmp_path)
    cli = Cli(repo)
    view = cli("metrics", env=NOW).out
    assert "communication" in view
    assert "within 15m of declaration" in view
    assert "1 of 3 (33.3%)" in view
    assert "INC-2026-01-10-001: 50m, 20m late" in view
    assert "INC-2026-01-15-001: never sent" in view
    report = cli("metrics", "--format", "markdown", env=NOW).out
    assert "## Communication" in report
    assert (
        "| Initial update (within 15m of declaration) | 3 | 1 | 33.3% | INC-2026-01-15-001: never sent |"
        in report
    )
    assert (
        "| Regular updates (every 15m-30m) | 3 | 1 | 33.3% | INC-2026-01-10-001: 50m, 20m late |"
        in report
    )
    assert "| Final update (within 1h of resolution) | 4 | 2 | 50.0% |" in report


def _repeat_fixture(w: EventWriter, rows) -> None:
    for human_id, declared, service, category in rows:
        at = utc(declared)
        uid = w.declare(human_id, human_id, "P1", at, services=[service])
        _resolve(w, uid, at + 30 * M, category)
    w.commit()


def test_waooaw_repeats_are_the_same_root_cause_at_any_distance(tmp_path):
    repo = tmp_path / "waooaw"
    assert run_cli("init", str(repo), "--example", "waooaw").code == 0
    _repeat_fixture(
        EventWriter(repo),
        [
            ("INC-2026-01-01-001", "2026-01-01T10:00", "scheduler", "memory-leak"),
            ("INC-2026-01-05-001", "2026-01-05T10:00", "scheduler", "config"),  # service only
            ("INC-2026-03-15-001", "2026-03-15T10:00", "api", "memory-leak"),  # 73 days on
        ],
    )
    got = Cli(repo)("metrics", "--json", env={"INCIDENTCTL_NOW": "2026-03-20T12:00:00Z"}).json()
    rc = got["recurrence"]
    assert (rc["rule"], rc["rule_text"], rc["window_seconds"]) == (
        "root-cause",
        "same root cause",
        None,
    )
    assert rc["repeat_incidents"] == [
        {
            "id": "INC-2026-03-15-001",
            "earlier": "INC-2026-01-01-001",
            "match": "root cause: category memory-leak",
        }
    ]
    assert (rc["target"], rc["pass"]) == (None, None)  # the procedures give no target
    view = Cli(repo)("metrics", env={"INCIDENTCTL_NOW": "2026-03-20T12:00:00Z"}).out
    assert "repeats (same root cause)" in view
    assert "no target" in view


def test_white_room_repeats_are_the_same_incident_within_30_days(tmp_path):
    repo = tmp_path / "wr"
    assert run_cli("init", str(repo), "--example", "white-room").code == 0
    _repeat_fixture(
        EventWriter(repo),
        [
            ("INC-2026-01-01-001", "2026-01-01T10:00", "JUCE Backend", "memory-leak"),
            ("INC-2026-01-20-001", "2026-01-20T10:00", "juce backend", "memory-leak"),  # repeat
            ("INC-2026-01-25-001", "2026-01-25T10:00", "api", "memory-leak"),  # elsewhere
            ("INC-2026-03-15-001", "2026-03-15T10:00", "JUCE Backend", "memory-leak"),  # 54 days
        ],
    )
    env = {"INCIDENTCTL_NOW": "2026-03-20T12:00:00Z"}
    rc = Cli(repo)("metrics", "--json", env=env).json()["recurrence"]
    assert rc["rule"] == "same-incident"
    assert [r["id"] for r in rc["repeat_incidents"]] == ["INC-2026-01-20-001"]
    assert (rc["rate"], rc["target"], rc["pass"]) == (0.25, 0.05, False)
    view = Cli(repo)("metrics", env=env).out
    assert "within 30d" in view and "target at most 5.0%" in view
    report = Cli(repo)("metrics", "--format", "markdown", env=env).out
    assert "Recurrence rate (same incident within 30d): 25.0%" in report
    assert "target at most 5.0%: fail" in report
