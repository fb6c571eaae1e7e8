"""The lifecycle is a domain rule: an event that would make it impossible is refused
before anything is written (exit 2), and no clock or message says what the record does
not hold (docs/lifecycle.md)."""

from __future__ import annotations

import re

import pytest

from conftest import Cli

NOW = {"INCIDENTCTL_NOW": "2026-02-12T12:00:00Z"}


def _refused(cli: Cli, *args: str, fragment: str = "") -> str:
    """Run a command that must be refused: exit 2, one error, nothing written."""
    before = cli.commits()
    result = cli(*args, ok=False, env=NOW)
    assert result.code == 2, (result.code, result.out, result.err)
    assert result.err.startswith("error: "), result.err
    assert "Traceback" not in result.err
    assert fragment in result.err, result.err
    assert cli.commits() == before
    assert cli.git("status", "--porcelain") == ""
    assert "RESOLVED" not in result.out
    return result.err


def _declare(cli: Cli, *args: str) -> str:
    return cli.declare("API down", "--at", "-10m", *args, env=NOW)


def _show(cli: Cli, inc: str) -> dict:
    return cli("show", inc, "--json", env=NOW).json()


# -- defect 1: a resolution that does not take ----------------------------------------


def test_a_resolution_dated_before_the_mitigation_is_refused(cli):
    inc = _declare(cli)
    cli("mitigate", inc, "-m", "rolled back", env=NOW)
    err = _refused(
        cli,
        "resolve",
        inc,
        "--root-cause",
        "RC",
        "--resolution",
        "RES",
        "--at",
        "-5m",
        fragment="mitigation",
    )
    # both events and their times, and the way out
    assert "resolution" in err and "11:55" in err and "12:00" in err
    assert "correct" in err and "--at" in err
    state = _show(cli, inc)
    assert state["status"] == "monitoring" and state["resolved_at"] is None


def test_a_resolution_dated_before_the_reopening_is_refused(cli):
    inc = _declare(cli, "--at", "-1h")
    cli("resolve", inc, "--root-cause", "old", "--resolution", "old", "--at", "-40m", env=NOW)
    cli("reopen", inc, "-m", "back again", env=NOW)
    err = _refused(
        cli,
        "resolve",
        inc,
        "--root-cause",
        "new",
        "--resolution",
        "new",
        "--at",
        "-30m",
        fragment="reopen",
    )
    assert "11:30" in err and "12:00" in err
    state = _show(cli, inc)
    assert state["status"] == "investigating" and state["root_cause"] == "old"


def test_a_resolution_after_the_mitigation_announces_what_the_record_holds(cli):
    inc = _declare(cli)
    cli("mitigate", inc, "-m", "rolled back", "--at", "-8m", env=NOW)
    result = cli(
        "resolve", inc, "--root-cause", "RC", "--resolution", "RES", "--at", "-5m", env=NOW
    )
    assert "RESOLVED" in result.out
    assert "Summary: API down - MONITORING" not in result.out
    state = _show(cli, inc)
    assert state["status"] == "resolved" and state["resolved_at"] == "2026-02-12T11:55:00+00:00"


def test_a_status_change_dated_before_a_later_one_is_refused(cli):
    inc = _declare(cli)
    cli("update", inc, "--status", "monitoring", "--at", "-2m", env=NOW)
    _refused(cli, "update", inc, "--status", "identified", "--at", "-5m", fragment="monitoring")
    assert _show(cli, inc)["status"] == "monitoring"


# -- defect 2: clocks run backwards ---------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("ack", "{inc}", "--at", "-1h"),
        ("update", "{inc}", "--status", "identified", "--at", "-1h"),
        ("mitigate", "{inc}", "-m", "x", "--at", "-1h"),
        ("resolve", "{inc}", "--root-cause", "a", "--resolution", "b", "--at", "-1h"),
        ("assign", "{inc}", "commander", "@ann", "--at", "-1h"),
    ],
)
def test_lifecycle_events_before_the_declaration_are_refused(cli, args):
    inc = _declare(cli)
    err = _refused(cli, *(a.format(inc=inc) for a in args), fragment="before")
    assert "declaration" in err and "11:00" in err and "11:50" in err


def test_notes_before_the_declaration_are_timeline_context(cli):
    inc = _declare(cli, "--detected-at", "-20m")
    cli("note", inc, "deploy 4711 went out", "--at", "-1h", env=NOW)
    state = _show(cli, inc)
    assert [e["type"] for e in state["timeline"]] == ["note_added", "declared"]
    assert state["status"] == "investigating"
    shown = cli("show", inc, env=NOW).out
    assert "MTTA (acknowledge)  10m so far" in shown  # the clock starts at the declaration


def test_correcting_an_ack_to_before_the_declaration_is_refused(cli):
    inc = _declare(cli)
    cli("ack", inc, env=NOW)
    ack = _show(cli, inc)["timeline"][-1]["id"]
    _refused(cli, "correct", ack, "--at", "2020-01-01T00:00Z", fragment="declaration")
    shown = cli("show", inc, env=NOW).out
    assert "-2526d" not in shown and "MTTA (acknowledge)  10m  " in shown


def test_correcting_the_declaration_past_its_ack_is_refused(cli):
    inc = _declare(cli)
    cli("ack", inc, "--at", "-8m", env=NOW)
    declared = _show(cli, inc)["timeline"][0]["id"]
    _refused(cli, "correct", declared, "--at", "-5m", fragment="acknowledgement")


def test_retracting_the_reopening_of_a_resolved_incident_is_refused(cli):
    inc = _declare(cli, "--at", "-1h")
    cli("resolve", inc, "--root-cause", "a", "--resolution", "b", "--at", "-40m", env=NOW)
    cli("reopen", inc, "-m", "back", "--at", "-30m", env=NOW)
    cli("resolve", inc, "--root-cause", "c", "--resolution", "d", "--at", "-20m", env=NOW)
    reopened = next(e for e in _show(cli, inc)["timeline"] if e["type"] == "reopened")["id"]
    _refused(cli, "retract", reopened, "-m", "oops", fragment="resolution")


def test_a_time_beyond_the_clock_skew_tolerance_is_refused(cli):
    cli.declare(env=NOW)
    err = _refused(cli, "note", "-", "x", "--at", "2026-02-12T12:01:00Z", fragment="future")
    assert "30s" in err
    # within the tolerance: accepted, and no age is ever negative
    inc = cli.declare("ahead", "--at", "2026-02-12T12:00:20Z", env=NOW)
    listed = cli("list", env=NOW).out
    line = next(row for row in listed.splitlines() if inc in row)
    assert re.search(r"\s0s\s", line) and not re.search(r"-\d", line.split("12:00", 1)[1])
    shown = cli("show", inc, env=NOW).out
    assert "so far" in shown and "-20s" not in shown
    status = cli("status", "--json", env=NOW).json()
    assert all(i["age_seconds"] >= 0 for i in status["incidents"])


def test_the_clock_skew_tolerance_is_configurable(cli):
    config = cli.repo / "incidentctl.toml"
    text = re.sub(r"(?m)^clock_skew = .*$", 'clock_skew = "2m"', config.read_text())
    assert 'clock_skew = "2m"' in text
    config.write_text(text)
    cli.git("commit", "-qam", "skew")
    cli.declare("ahead", "--at", "2026-02-12T12:01:30Z", env=NOW)
    _refused(cli, "note", "-", "x", "--at", "2026-02-12T12:02:30Z", fragment="2m")


# -- defect 5: update --status resolved gets around resolve ---------------------------


def test_update_cannot_resolve(cli):
    inc = _declare(cli)
    err = _refused(cli, "update", inc, "--status", "resolved", "-m", "done", fragment="resolve")
    assert "--root-cause" in err and "--resolution" in err
    assert _show(cli, inc)["status"] == "investigating"


# -- the rule itself, pure -------------------------------------------------------------


def _events():
    from datetime import UTC, datetime, timedelta

    from incidentctl.domain import events as ev

    t0 = datetime(2026, 2, 12, 10, 0, tzinfo=UTC)
    uid = "01KH8MQYV0S05BCS4KNAFK40H8"

    def base(n: int, minute: int, recorded: int | None = None) -> dict:
        rec = t0 + timedelta(minutes=minute if recorded is None else recorded)
        return {
            "id": f"01KH8MQYV0{n:016d}",
            "incident": uid,
            "at": t0 + timedelta(minutes=minute),
            "recorded_at": rec,
        }

    declared = ev.Declared(**dict(base(0, 0), id=uid), human_id="INC-1", title="t", severity="P1")
    return ev, base, declared


def test_a_timeline_already_wrong_keeps_taking_new_events():
    from incidentctl.domain.lifecycle import check

    ev, base, declared = _events()
    early_ack = ev.Acknowledged(**base(1, -30, recorded=5))  # an earlier version let it in
    before = [declared, early_ack]
    note = ev.NoteAdded(**base(2, 10), text="still here")
    assert check(before, [*before, note], {note.id}) is None
    second = ev.Acknowledged(**base(3, -20, recorded=11))
    breach = check(before, [*before, second], {second.id})
    assert breach is not None and breach.rule == "before-declared"
    assert breach.message(frozenset({second.id})).startswith("the acknowledgement at ")


def test_a_clock_whose_end_is_before_its_start_is_left_out_not_ok():
    from datetime import timedelta

    from incidentctl.domain.clocks import incident_clocks
    from incidentctl.domain.metrics import METRICS, interval
    from incidentctl.domain.policy import SeverityPolicy
    from incidentctl.domain.state import fold

    ev, base, declared = _events()
    state = fold([declared, ev.Acknowledged(**base(1, -60, recorded=5))])
    policy = SeverityPolicy(ack_within=timedelta(minutes=15))
    mtta = next(c for c in incident_clocks(state, policy, declared.at) if c.name == "MTTA")
    assert mtta.left_out and mtta.elapsed == timedelta(0) and not mtta.breached
    assert interval(state, METRICS[1]) is None


def test_events_recorded_in_one_instant_fold_in_the_order_they_were_recorded(cli):
    pinned = {"INCIDENTCTL_NOW": "2026-02-12T12:00:00Z"}
    for _ in range(3):  # a pinned clock: every event has the same at and recorded_at
        inc = cli.declare("t", env=pinned)
        cli("mitigate", inc, "-m", "x", env=pinned)
        cli("resolve", inc, "--root-cause", "a", "--resolution", "b", env=pinned)
        assert cli("show", inc, "--json", env=pinned).json()["status"] == "resolved"


def test_a_resolution_message_is_never_rendered_for_an_open_incident(cli):
    inc = cli.declare("Checkout failing", "--at", "-10m")
    for template in ("slack/resolved", "statuspage/resolved"):
        refused = cli("render", template, inc, ok=False)
        assert refused.code == 2, refused.err
        assert f"error: {inc} is investigating, not resolved" in refused.err
        assert "RESOLVED" not in refused.out
    staged = cli("render", "statuspage", inc, "--stage", "resolved", ok=False)
    assert staged.code == 2 and not staged.out
    cli("resolve", inc, "--root-cause", "RC", "--resolution", "RES")
    assert "RESOLVED" in cli("render", "slack/resolved", inc).out
