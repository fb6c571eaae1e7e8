"""`-` is this clone's current incident: set by `declare` and `use`, kept in .git."""

from __future__ import annotations


def _acked(cli, inc: str) -> bool:
    return cli("show", inc, "--json").json()["acknowledged_at"] is not None


def _current_file(cli):
    return cli.repo / ".git" / "incidentctl" / "current"


def test_dash_is_the_incident_just_declared_not_the_latest_by_time(cli):
    a = cli.declare("A", severity="P2")
    b = cli.declare("B", "--at", "-20m", severity="P0")  # back-dated: declared before A
    acked = cli("ack", "-")
    assert b in acked.err  # the recorded line names the incident
    assert _acked(cli, b) and not _acked(cli, a)


def test_the_current_incident_stays_current_after_resolve(cli):
    a = cli.declare("A")
    b = cli.declare("B")
    cli("resolve", "-", "--root-cause", "RC", "--resolution", "RES")
    assert cli("show", b, "--json").json()["status"] == "resolved"
    assert b in cli("pir", "add", "-", "why one", "--section", "why").err
    added = cli(
        "action", "add", "-", "fix it", "--owner", "@a", "--due", "+7d", "-p", "P2", "--json"
    )
    assert added.json()["incident"] == b
    assert b in cli("pir", "generate", "-").out.splitlines()[0]
    assert cli("render", "slack/resolved", "--format", "text").out.count("RC") >= 1
    assert cli("show", "--json").json()["id"] == b
    assert cli("show", a, "--json").json()["status"] == "investigating"  # untouched


def test_naming_an_incident_does_not_change_the_current_one(cli):
    a = cli.declare("A")
    b = cli.declare("B")
    cli("note", a, "on A", "--kind", "finding")
    cli("ack", a)
    cli("ack", "-")
    assert _acked(cli, b)
    assert cli("use").out.strip() == b


def test_use_sets_prints_and_clears(cli):
    a = cli.declare("A")
    b = cli.declare("B")
    used = cli("use", a)
    assert a in used.err and b not in used.err
    assert cli("use").out.strip() == a
    assert cli("use", "--json").json()["id"] == a
    cli("ack", "-")
    assert _acked(cli, a) and not _acked(cli, b)
    # the file holds the ULID, in .git, never in the work tree
    uid = cli("show", a, "--json").json()["uid"]
    assert _current_file(cli).read_text().strip() == uid
    assert cli.git("status", "--porcelain").strip() == ""

    cli("use", "--clear")
    assert not _current_file(cli).exists()
    two = cli("ack", "-", ok=False)  # two open incidents, none current: ask
    assert two.code == 2
    assert a in two.err and b in two.err and "A" in two.err and "B" in two.err
    assert "incidentctl use INC" in two.err
    assert cli("use", ok=False).code == 2
    assert cli("use", "x", "--clear", ok=False).code == 2


def test_with_no_current_incident_the_only_open_one_is_dash(cli):
    a = cli.declare("A")
    b = cli.declare("B")
    cli("use", "--clear")
    cli("resolve", a, "--root-cause", "x", "--resolution", "y")
    assert cli("show", "-", "--json").json()["id"] == b
    assert not _current_file(cli).exists()  # a fallback is not a choice: nothing written


def test_no_incident_at_all_is_a_usage_error_with_a_hint(cli):
    nothing = cli("ack", "-", ok=False)
    assert nothing.code == 2
    assert "declare" in nothing.err


def test_a_current_incident_that_is_gone_falls_back_with_a_note(cli):
    a = cli.declare("A")
    _current_file(cli).write_text("01ARZ3NDEKTSV4RRFFQ69G5FAV\n")  # e.g. set in another repo
    shown = cli("show", "-", "--json")
    assert shown.json()["id"] == a
    assert "01ARZ3NDEKTSV4RRFFQ69G5FAV" in shown.err and "not in this repo" in shown.err
    _current_file(cli).write_text("garbage")
    assert cli("show", "--json").json()["id"] == a


def test_many_open_incidents_are_listed_capped(cli):
    made = [cli.declare(f"incident {n}", severity="P3") for n in range(12)]
    cli("use", "--clear")
    many = cli("show", "-", ok=False)
    assert many.code == 2
    assert made[-1] in many.err and "and 2 more" in many.err


def test_the_readme_first_minutes_run_as_written(cli):
    import re
    import shlex
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme.split("## The first minutes of an incident", 1)[1]
    block = re.search(r"```sh\n(.*?)```", block, re.S).group(1)
    # the block goes on with the incident the README's first command declares
    from test_readme import runnable

    first = runnable(re.search(r"```sh\n(.*?)\n", readme).group(1))
    # a minute a step, on one day
    for minute, line in enumerate([first, *block.splitlines()]):
        words = shlex.split(line, comments=True)
        assert words[0] == "incidentctl"
        env = {"INCIDENTCTL_NOW": f"2026-02-12T14:{minute:02d}:00Z"}
        cli(*words[1:], env=env)
    shown = cli("show", "INC-2026-02-12-001", "--json", env=env).json()
    assert shown["status"] == "resolved" and shown["acknowledged_at"] is not None
