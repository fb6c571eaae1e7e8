"""status, escalate and notify end to end: the real console script on real git repos."""

from __future__ import annotations

import os
import re
import tomllib

import pytest

from conftest import BIN, Cli, run_cli

T0 = "2026-02-12T14:"  # minutes appended: T0 + "00:00Z" is the declaration

TEAM_CONFIG = """\
[roles]
commander = "Incident Commander"

[severity.P1]
update_every = "30m"
notify = [{ who = "Engineering Manager", after = "45m" }]
"""


def at(minute: int) -> dict[str, str]:
    return {"INCIDENTCTL_NOW": f"2026-02-12T14:{minute:02d}:00Z"}


@pytest.fixture
def white_room(tmp_path) -> Cli:
    path = tmp_path / "white-room"
    assert run_cli("init", "--example", "white-room", str(path)).code == 0
    return Cli(path)


def test_status_check_turns_3_as_time_passes_and_0_once_the_obligation_is_met(cli):
    (cli.repo / "incidentctl.toml").write_text(TEAM_CONFIG)
    cli.git("commit", "-qam", "team policy")
    inc = cli.declare("Checkout failing", env=at(0))

    early = cli("status", "--check", env=at(10))
    assert early.code == 0
    assert f"{inc}  P1 investigating  Checkout failing" in early.out
    assert "- Next update due in 20m (every 30m)" in early.out

    late = cli("status", "--check", ok=False, env=at(31))
    assert late.code == 3
    assert "! Next update overdue by 1m (every 30m)" in late.out
    assert "\x1b" not in late.out  # not a terminal: plain text

    cli("update", inc, "-m", "Rolled back; error rate falling", env=at(31))
    assert cli("status", "--check", env=at(32)).code == 0

    unnotified = cli("status", "--check", ok=False, env=at(50))
    assert unnotified.code == 3
    assert "! Notify Engineering Manager: P1 unresolved for 45m, overdue by 5m" in unnotified.out

    told = cli("notify", inc, "engineering-manager", "-m", "Paged Dana", env=at(50))
    assert "cleared: Notify Engineering Manager" in told.err

    after = cli("status", "--check", "--json", env=at(51))
    assert after.code == 0
    data = after.json()
    assert data["overdue"] is False
    [item] = data["incidents"]
    assert item["id"] == inc
    assert item["next"] == {
        "kind": "update",
        "label": "Next update",
        "detail": "every 30m",
        "who": "",
        "due_at": "2026-02-12T15:01:00+00:00",
        "seconds_left": 600,
        "overdue": False,
    }
    assert item["age_seconds"] == 51 * 60
    events = cli("show", inc, "--json").json()["timeline"]
    assert events[-1]["type"] == "notified"
    assert events[-1]["who"] == "Engineering Manager"  # the policy's spelling
    assert events[-1]["message"] == "Paged Dana"


def test_status_with_nothing_open(cli):
    result = cli("status", "--check")
    assert (result.code, result.out) == (0, "")
    assert result.err.strip() == "no open incidents"


def test_escalate_records_the_level_and_prints_a_message_that_cannot_ping(white_room):
    inc = white_room.declare("Payments <!channel> down", severity="P0", env=at(0))
    reason = 'DB "failover" stuck <!here> <@U123> & {{ 7*7 }} 🔥\nsecond line'
    result = white_room("escalate", inc, "--to", "@lead <b>", "-m", reason, env=at(31))
    lines = result.out.splitlines()
    assert lines[0] == f"🚨 INCIDENT ESCALATED - {inc}"
    assert "Summary: Payments <!channel> down" in lines  # as typed: a paste pings no one
    assert "Level: 2 (Engineering Lead)" in lines
    assert "To: @lead <b>" in lines
    reason_line = next(line for line in lines if line.startswith("Reason: "))
    assert reason_line.startswith('Reason: DB "failover" stuck <!here> <@U123> & {{ 7*7 }} 🔥')
    assert "&lt;" not in result.out and "49" not in result.out
    assert (
        "Event-Type: escalated"
        in white_room.git("log", "-1", "--format=%(trailers:only,unfold)").splitlines()
    )
    state = white_room("show", inc, "--json").json()
    event = state["timeline"][-1]
    assert (event["type"], event["level"], event["previous"]) == ("escalated", 2, 1)
    assert (event["name"], event["to"], event["reason"]) == (
        "Engineering Lead",
        "@lead <b>",
        reason,
    )
    assert (state["escalation_level"], state["escalated_to"]) == (2, "@lead <b>")

    status = white_room("status", "--json", env=at(32)).json()["incidents"][0]
    kinds = {o["label"]: o for o in status["obligations"]}
    assert "Escalate to L2 Engineering Lead" not in kinds
    assert kinds["Escalate to L3 Senior Staff / Architect"]["due_at"] == "2026-02-12T15:31:00+00:00"

    top = white_room("escalate", inc, "-m", "Architecture problem", "--json", env=at(40)).json()
    assert top["events"][0]["type"] == "escalated"
    assert top["message"].startswith(f"🚨 INCIDENT ESCALATED - {inc}")
    assert "Level: 3 (Senior Staff / Architect)" in top["message"]

    commits = white_room.commits()
    for args, code, text in [
        (["-m", "again"], 2, f"{inc} is at level 3, the top of the escalation path"),
        (["-m", "x", "--level", "0"], 2, "--level 0: levels start at 1"),
        (["-m", "x", "--level", "9"], 2, "unknown escalation level 9"),
        (["-m", "  "], 2, "-m must not be empty"),
        (["-m", "x", "--at", "tomorrow"], 2, "--at: not a time: 'tomorrow'"),
    ]:
        bad = white_room("escalate", inc, *args, ok=False)
        assert bad.code == code, bad.err
        assert bad.err.splitlines()[0] == f"error: {text}"
        assert "hint: " in bad.err
        assert "Traceback" not in bad.err
    assert white_room("escalate", "INC-2026-02-12-999", "-m", "x", ok=False).code == 1
    assert white_room.commits() == commits


def test_escalating_a_resolved_incident_is_refused(white_room):
    inc = white_room.declare("Slow search", severity="P1")
    white_room("resolve", inc, "--root-cause", "Index", "--resolution", "Reindex")
    result = white_room("escalate", inc, "-m", "late", ok=False)
    assert result.code == 2
    assert result.err.splitlines()[0] == f"error: {inc} is resolved; cannot escalate"


def test_notify_records_any_stakeholder_and_refuses_blank_ones(white_room):
    inc = white_room.declare("API slow", severity="P0", env=at(0))
    before = white_room("status", "--json", env=at(1)).json()["incidents"][0]["obligations"]
    assert {"Notify Engineering Manager", "Notify Product Manager", "Notify CTO"} <= {
        o["label"] for o in before
    }
    result = white_room("notify", inc, "PRODUCT_manager", "--by", "@ic", "--json", env=at(2))
    assert result.json()["who"] == "Product Manager"
    assert result.json()["cleared"] == ["Notify Product Manager"]
    support = white_room("notify", inc, "Support 📞 <!channel>", env=at(3))
    assert "no notification rule names 'Support 📞 <!channel>'; recorded anyway" in support.err
    after = {
        o["label"]
        for o in white_room("status", "--json", env=at(4)).json()["incidents"][0]["obligations"]
    }
    assert "Notify Product Manager" not in after
    assert {"Notify Engineering Manager", "Notify CTO"} <= after
    state = white_room("show", inc, "--json").json()
    assert list(state["notified"]) == ["Product Manager", "Support 📞 <!channel>"]
    commits = white_room.commits()
    blank = white_room("notify", inc, "   ", ok=False)
    assert blank.code == 2
    assert blank.err.splitlines()[0] == "error: ROLE must not be empty"
    assert white_room.commits() == commits


def test_the_white_room_p0_obligations_as_the_status_view_shows_them(white_room):
    white_room.declare("Audio engine down", "--ic", "@sarah", severity="P0", env=at(0))
    out = white_room("status", ok=False, env=at(20)).out
    pending = [line.strip() for line in out.splitlines() if line.startswith("  ")]
    assert pending == [
        "! Notify Engineering Manager: every P0 incident, overdue by 20m",
        "! Notify Product Manager: every P0 incident, overdue by 20m",
        "! Acknowledge overdue by 15m (within 5m)",
        "! Next update overdue by 5m (every 15m)",
        "! Customer communication overdue by 5m (status page within 15m)",
        "- Customer email due in 10m (within 30m)",
        "- Escalate to L2 Engineering Lead due in 10m (if still stuck after 30m at L1)",
        "- Notify CTO: P0 unresolved for 1h, due in 40m",
        "- Resolve due in 40m (target 1h)",
    ]


def test_watch_needs_a_terminal(cli):
    result = cli("watch", ok=False)
    assert result.code == 2
    assert result.err.splitlines() == [
        "error: watch needs an interactive terminal",
        "hint: for a snapshot use: incidentctl status (or status --json)",
    ]


def test_a_broken_rotation_config_names_the_key(cli):
    config = cli.repo / "incidentctl.toml"
    config.write_text(
        config.read_text().replace('first_week = "2026-01-05"', 'first_week = "2026-01-06"')
    )
    assert tomllib.loads(config.read_text())["oncall"]["first_week"] == "2026-01-06"
    result = cli("oncall", "now", ok=False)
    assert result.code == 1
    assert result.err.splitlines() == [
        "error: incidentctl.toml: oncall: oncall.first_week 2026-01-06 is a tuesday, "
        "but weeks start on monday",
        f"hint: fix {config}, then run: incidentctl doctor",
    ]


def test_status_lists_a_few_resolved_incidents_that_owe_a_review_unless_all(cli):
    env = {"INCIDENTCTL_NOW": "2026-02-12T15:00:00Z"}
    open_one = cli.declare("Still burning", severity="P1", env=env)
    for n in range(12):
        inc = cli.declare(f"Old P0 number {n}", severity="P0", env=env)
        cli("resolve", inc, "--root-cause", "x", "--resolution", "y", env=env)
    later = {"INCIDENTCTL_NOW": "2026-03-12T15:00:00Z"}  # every review is overdue by now
    result = cli("status", env=later)
    assert open_one in result.out
    assert result.out.count("Old P0 number") <= 10
    assert "and 2 more resolved incidents that owe a review" in result.err
    full = cli("status", "--all", env=later)
    assert full.out.count("Old P0 number") == 12 and "more resolved" not in full.err
    assert len(cli("status", "--json", env=later).json()["incidents"]) == 13


@pytest.mark.process
def test_status_on_a_terminal_colours_what_is_overdue(white_room):
    pexpect = pytest.importorskip("pexpect")
    white_room.declare("Audio engine down", "--ic", "@sarah", severity="P0", env=at(0))
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    child = pexpect.spawn(
        str(BIN),
        ["--repo", str(white_room.repo), "status"],
        env={**env, **at(20), "TERM": "xterm"},
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 160),
    )
    child.expect(pexpect.EOF)
    child.close()
    screen = child.before
    assert child.exitstatus == 0, screen
    assert "\x1b[1;37;41mP0" in screen  # the severity, as `list` shows it
    assert "\x1b[1;31m  ! Acknowledge overdue by 15m (within 5m)" in screen
    assert "\x1b[0m" in screen
    plain = white_room("status", env=at(20)).out  # the same lines without colour
    assert "\x1b[" not in plain
    assert re.sub(r"\x1b\[[0-9;]*m", "", screen).replace("\r\n", "\n").strip() == plain.strip()


def _cells(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def test_status_and_list_keep_columns_with_wide_names_and_defuse_control_characters(cli):
    wide = cli.declare("Wide", "--ic", "@山田太郎", severity="P1", env=at(0))
    narrow = cli.declare("Narrow", "--ic", "@bob", severity="P1", env=at(0))
    for args in (["status"], ["list"]):
        lines = cli(*args, env=at(5)).out.splitlines()
        rows: dict[str, str] = {}
        for line in lines:  # the table's row, not the obligations' heading below it
            if line.startswith("INC-"):
                rows.setdefault(line.split()[0], line)
        # the column after the IC starts in the same terminal cell on both rows
        starts = []
        for inc, ic in ((wide, "@山田太郎"), (narrow, "@bob")):
            row = rows[inc]
            end = row.index(ic) + len(ic)
            nxt = end + len(row[end:]) - len(row[end:].lstrip(" "))
            starts.append(_cells(row[:nxt]))
        assert starts[0] == starts[1], lines
    # a title with an escape sequence, as a pulled or hand-edited file could hold it
    folder = cli.repo / cli("show", narrow, "--json").json()["path"]
    declared = next(p for p in (folder / "events").glob("*.toml") if narrow_uid(p) in p.name)
    declared.write_text(
        declared.read_text().replace('title = "Narrow"', 'title = "Nar\\u001b[2Jrow\\nsecond"')
    )
    cli.git("commit", "-qam", "as pulled")  # committed: a work-tree edit alone is read around
    for args in (["status"], ["list"]):
        out = cli(*args, env=at(5)).out
        assert "\x1b" not in out and "Nar\ufffd[2Jrow second" in out, out


def narrow_uid(path):
    return path.parent.parent.name[:26]
