"""`incidentctl runbook ...` without a terminal: list, show, lint, step, progress, and
`declare --runbook`. Every case drives the installed console script against a real repo."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest

from conftest import Cli, git, run_cli

BUILTIN = Path(__file__).resolve().parents[1] / "src" / "incidentctl" / "runbooks"
NASTY = 'it\'s "fine" <!channel> <@U123> & {{ title }} $(touch pwned) `id`\nline two 🚨 # x = [y]'

DRILL = """
name = "drill"
title = "Drill [bold]not markup[/bold]"
source = "tests"
symptoms = ["Widgets wobbling"]
services = ["widgets"]
warnings = ["DO NOT restart the widgets"]

[vars]
target = "default-target"

[[phases]]
id = "first"
title = "First five minutes"
timebox = "5m"

[[phases.steps]]
id = "look"
kind = "check"
text = "Look at the [red]widgets[/red]"
commands = ["echo {{ target }} {{ pod }}"]
warnings = ["Careful"]

[[phases.steps]]
id = "choose"
kind = "decision"
text = "Choose a fix"

[[phases.steps.options]]
key = "A"
text = "Restart"
commands = ["echo restart {{ target }}"]

[[phases.steps.options]]
key = "B"
text = "Wait"

[[phases]]
id = "later"
title = "Later"

[[phases.steps]]
id = "tell"
kind = "communicate"
text = "Tell people"
template = "slack/update"
"""

BROKEN = """
name = "broken"
title = "Broken"
source = "tests"

[[phases]]
id = "first"
title = "First"
timebox = "5 minutes"

[[phases.steps]]
id = "look"
kind = "chek"
text = "Look"
"""


def add_team_runbooks(repo: Path, **files: str) -> None:
    folder = repo / "runbooks"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.toml").write_text(text)
    git(repo, "add", "runbooks")
    git(repo, "commit", "-q", "-m", "team runbooks")


def test_list_and_show_team_runbooks_beside_the_builtins(cli: Cli) -> None:
    override = (
        (BUILTIN / "api-outage.toml")
        .read_text()
        .replace('title = "API outage"', 'title = "API outage (our way)"')
    )
    add_team_runbooks(cli.repo, drill=DRILL, broken=BROKEN, **{"api-outage": override})

    listed = cli("runbook", "list", "--json", ok=False)
    assert listed.code == 1  # the broken file is reported; the others still list
    by_name = {r["name"]: r for r in listed.json()}
    assert set(by_name) == {
        "api-outage",
        "data-corruption",
        "drill",
        "scheduler-failure",
        "security-breach",
        "standard-response",
    }
    assert by_name["api-outage"]["origin"] == "repo"
    assert by_name["api-outage"]["title"] == "API outage (our way)"
    assert by_name["drill"]["origin"] == "repo" and by_name["drill"]["steps"] == 3
    assert by_name["data-corruption"]["origin"] == "built-in"
    assert listed.err.startswith("error: runbooks/broken.toml: phases[0].timebox: '5 minutes'")
    assert "phases[0].steps[0].kind: Input should be 'check'" in listed.err
    assert "hint: see every problem with: incidentctl runbook lint" in listed.err
    assert "Traceback" not in listed.err

    shown = cli("runbook", "show", "drill", "--var", "pod=web-0")
    assert "\x1b[" not in shown.out  # not a terminal: plain text
    lines = shown.out.splitlines()
    assert lines[0] == "drill: Drill [bold]not markup[/bold] (repo)"
    assert "  ! DO NOT restart the widgets" in lines
    assert "1. First five minutes [time box 5m from declaration]" in lines
    assert "  1. look [check] Look at the [red]widgets[/red]" in lines
    assert "     ! Careful" in lines
    assert "     $ echo default-target web-0" in lines
    assert "     A) Restart" in lines and "        $ echo restart default-target" in lines
    assert "  3. tell [communicate] Tell people (message: slack/update)" in lines

    broken = cli("runbook", "show", "broken", ok=False)
    assert broken.code == 1
    assert broken.err.splitlines()[0].startswith("error: runbooks/broken.toml: phases[0].timebox")
    assert "Traceback" not in broken.err

    unknown = cli("runbook", "show", "nope", ok=False)
    assert unknown.code == 2
    assert unknown.err.splitlines() == [
        "error: no runbook 'nope'",
        "hint: valid runbooks: api-outage, broken, data-corruption, drill, scheduler-failure,"
        " security-breach, standard-response (see: incidentctl runbook list)",
    ]


def test_show_fills_variables_from_the_team_config(tmp_path: Path) -> None:
    repo = tmp_path / "waooaw"
    assert run_cli("init", "--example", "waooaw", str(repo)).code == 0
    cli = Cli(repo)
    shown = cli("runbook", "show", "api-outage")
    assert "$ kubectl get pods -n waooaw-prod" in shown.out
    assert "$ kubectl rollout undo deployment/plant-backend -n waooaw-prod" in shown.out

    # --var wins over the config; a value is inserted as typed, never rendered again
    data = cli(
        "runbook", "show", "api-outage", "--json", "--var", "namespace={{ deployment }}; rm -rf /"
    ).json()
    step = data["phases"][0]["steps"][2]
    assert step["id"] == "check-infrastructure"
    assert step["commands"][0] == {
        "template": "kubectl get pods -n {{ namespace }}",
        "command": "kubectl get pods -n {{ deployment }}; rm -rf /",
        "missing": [],
    }
    assert data["vars"]["deployment"] == "plant-backend"
    assert data["missing_vars"] == []
    decision = data["phases"][2]["steps"][0]
    assert [o["key"] for o in decision["options"]] == ["A", "B", "C"]

    standard = cli("runbook", "show", "standard-response", "--json").json()
    assert standard["missing_vars"] == ["container", "pod"]
    logs = standard["phases"][1]["steps"][1]["commands"][0]
    assert logs["command"] == "docker logs {{ container }} --tail 100"
    assert logs["missing"] == ["container"]

    bad = cli("runbook", "show", "api-outage", "--var", "no equals sign", ok=False)
    assert (bad.code, bad.err.splitlines()[0]) == (
        2,
        "error: --var 'no equals sign' is not NAME=VALUE",
    )


def test_lint_reports_each_problem_with_file_and_field_path(tmp_path: Path) -> None:
    good = tmp_path / "drill.toml"
    good.write_text(DRILL)
    broken = tmp_path / "broken.toml"
    broken.write_text(BROKEN)
    not_toml = tmp_path / "not-toml.toml"
    not_toml.write_text('name = "x"\ntitle = \n')
    misnamed = tmp_path / "other.toml"
    misnamed.write_text(DRILL.replace("{{ target }} {{ pod }}", "{{ target }"))

    result = run_cli("runbook", "lint", str(good), str(broken), str(not_toml), str(misnamed))
    assert result.code == 1
    assert result.out.splitlines() == [
        f"{broken}: phases[0].timebox: '5 minutes' is not a duration"
        " (use e.g. 5m, 15m, 1h30m, 24h, 2d)",
        f"{broken}: phases[0].steps[0].kind: Input should be 'check', 'action', 'decision'"
        " or 'communicate'",
        f"{not_toml}: invalid TOML: Invalid value (at line 2, column 9)",
        f"{misnamed}: name: 'drill' does not match the file name other.toml"
        " (a runbook lives in <name>.toml)",
        f"{misnamed}: phases[0].steps[0].commands[0]: template syntax error:"
        " unexpected '}' (line 1)",
    ]
    assert f"ok: {good} (runbook drill)" in result.err
    assert f"warning: {good}: vars: commands use {{{{ pod }}}}, which has no default" in result.err
    assert result.err.splitlines()[-2].startswith("error: 5 problems in ")
    assert "Traceback" not in result.err

    as_json = run_cli("runbook", "lint", "--json", str(good)).json()
    assert as_json[0]["ok"] is True and as_json[0]["name"] == "drill"

    builtins = run_cli("runbook", "lint", *map(str, sorted(BUILTIN.glob("*.toml"))))
    assert builtins.code == 0, builtins.err
    assert builtins.err.count("ok: ") == 5

    missing = run_cli("runbook", "lint", str(tmp_path / "absent.toml"))
    assert missing.code == 1
    assert missing.err.startswith("error: no runbook file")


def test_step_records_one_event_per_answer_and_rejects_bad_input(cli: Cli) -> None:
    add_team_runbooks(cli.repo, drill=DRILL)
    inc = cli.declare("Widgets wobbling", "--service", "widgets")
    start = cli.commits()

    result = cli("runbook", "step", inc, "drill", "look", "--done", "-m", NASTY, "--json")
    event = result.json()["events"][0]
    assert event["type"] == "runbook_step"
    assert not (cli.repo / "pwned").exists()
    record = tomllib.loads((cli.repo / event["path"]).read_text())
    assert {k: record[k] for k in ("runbook", "step", "outcome", "note", "author")} == {
        "runbook": "drill",
        "step": "look",
        "outcome": "done",
        "note": NASTY,
        "author": "Test Responder",
    }
    message = cli.git("log", "-1", "--format=%B")
    assert message.startswith(f"{inc}: runbook drill: look done\n")
    assert "Event-Type: runbook_step" in message
    assert cli.git("show", "--name-only", "--format=", "HEAD").strip() == event["path"]

    cli("runbook", "step", inc, "drill", "choose", "--option", "b", "--by", "@mike", "--at", "-1m")
    assert cli.commits() == start + 2

    bad_inputs = [
        (("choose", "--done"), "error: step choose is a decision: answer it by choosing an option"),
        (("look", "--option", "A"), "error: step look is a check step, not a decision"),
        (("choose", "--option", "Z"), "error: step choose has no option 'Z'"),
        (("nope", "--done"), "error: runbook drill has no step 'nope'"),
        (("look", "--done", "--failed"), "error: give exactly one of --done, --skipped,"),
        (("look",), "error: give exactly one of --done, --skipped,"),
        (("look", "--done", "--at", "tomorrow-ish"), "error: --at: not a time: 'tomorrow-ish'"),
    ]
    for args, message in bad_inputs:
        bad = cli("runbook", "step", inc, "drill", *args, ok=False)
        assert bad.code == 2, args
        assert bad.err.startswith(message), bad.err
        assert "hint: " in bad.err and "Traceback" not in bad.err
    unknown = cli("runbook", "step", inc, "nope", "look", "--done", ok=False)
    assert unknown.code == 2 and unknown.err.startswith("error: no runbook 'nope'")
    assert cli.commits() == start + 2  # nothing changed
    assert cli.git("status", "--porcelain") == ""

    shown = cli("show", inc, "--json").json()
    assert shown["runbook_steps"] == {"drill": {"look": "done", "choose": "decided"}}
    assert "runbook drill: choose decided B" in cli("show", inc).out


def test_progress_shows_answers_and_overrun_time_boxes(cli: Cli) -> None:
    add_team_runbooks(cli.repo, drill=DRILL)
    declared_at = "2026-02-12T14:23:00Z"
    env = {"INCIDENTCTL_NOW": declared_at}
    inc = cli.declare("Widgets wobbling", "--runbook", "drill", env=env)
    assert (
        cli("runbook", "progress", inc, "--json", env=env).json()["runbooks"][0]["next_step"]
        == "look"
    )
    cli("runbook", "step", inc, "drill", "look", "--failed", "-m", "no access", env=env)
    cli(
        "runbook", "step", inc, "standard-response", "alert-received", "--done",
        env={"INCIDENTCTL_NOW": "2026-02-12T14:24:00Z"},
    )  # fmt: skip

    later = {"INCIDENTCTL_NOW": "2026-02-12T14:35:00Z"}  # 12 minutes after declaring
    data = cli("runbook", "progress", inc, "--json", env=later).json()
    assert [(r["name"], r["attached"]) for r in data["runbooks"]] == [
        ("drill", True),
        ("standard-response", False),
    ]
    drill = data["runbooks"][0]
    assert (drill["answered"], drill["total"], drill["next_step"]) == (1, 3, "choose")
    first = drill["phases"][0]
    assert first["overrun"] is True and first["overrun_seconds"] == 7 * 60
    assert first["deadline"] == "2026-02-12T14:28:00+00:00"
    assert drill["phases"][1]["overrun"] is False
    look = drill["steps"][0]
    assert (look["id"], look["outcome"], look["note"]) == ("look", "failed", "no access")
    assert drill["steps"][1] == {"id": "choose", "phase": "first", "outcome": None}

    text = cli("runbook", "progress", inc, env=later).out
    assert "overrun by 7m" in text
    assert "\x1b[" not in text

    (cli.repo / "runbooks" / "drill.toml").write_text('name = "drill"\n')  # broken since
    broken = cli("runbook", "progress", inc, "--json", env=later, ok=False)
    assert broken.code == 1
    assert broken.json()["runbooks"][0]["answers"][0]["outcome"] == "failed"
    assert broken.err.startswith(
        "error: runbook drill cannot be loaded: runbooks/drill.toml: title: Field required;"
    )

    fresh = cli.declare("Another one")
    empty = cli("runbook", "progress", fresh)
    assert empty.out == "" and "has no runbook yet" in empty.err


def test_declare_attaches_a_runbook(cli: Cli) -> None:
    start = cli.commits()
    result = cli("declare", "API returning 503", "-s", "P1", "--runbook", "api-outage", "--json")
    assert "warning: runbook api-outage is written for P0 incidents; this one is P1" in result.err
    inc = result.json()["id"]
    assert cli("show", inc, "--json").json()["runbook"] == "api-outage"

    bad = cli("declare", "Other", "-s", "P1", "--runbook", "nope", ok=False)
    assert bad.code == 2 and bad.err.startswith("error: no runbook 'nope'")
    assert cli.commits() == start + 1


def test_list_suggests_runbooks_for_an_incident(cli: Cli) -> None:
    add_team_runbooks(cli.repo, drill=DRILL)
    inc = cli.declare("Widgets wobbling in eu-west", "--service", "widgets")
    data = cli("runbook", "list", "--for", inc, "--json").json()
    assert [r["name"] for r in data] == ["drill", "standard-response"]
    assert data[0]["reasons"] == ["service widgets", "mentions widgets, wobbling"]


def test_walk_needs_a_terminal(cli: Cli) -> None:
    inc = cli.declare()
    result = cli("runbook", "walk", inc, "api-outage", ok=False, input="d\n")
    assert result.code == 2
    assert result.err.splitlines() == [
        "error: runbook walk is interactive and needs a terminal",
        "hint: from a script, record steps with: incidentctl runbook step INC NAME STEP --done",
    ]


def test_answers_from_another_clone_count_after_a_pull(cli: Cli, tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(cli.repo), str(origin))
    git(cli.repo, "remote", "add", "origin", str(origin))
    inc = cli.declare("API returning 503", "--runbook", "api-outage")
    git(cli.repo, "push", "-q", "origin", "HEAD:main")

    other = Cli(tmp_path / "other")
    git(tmp_path, "clone", "-q", str(origin), str(other.repo))
    for step in ("declare", "page"):
        other("runbook", "step", inc, "api-outage", step, "--done", "--by", "@mike")
    git(other.repo, "push", "-q", "origin", "HEAD:main")

    cli("runbook", "step", inc, "api-outage", "check-infrastructure", "--skipped")
    git(cli.repo, "pull", "-q", "--rebase", "origin", "main")
    data = cli("runbook", "progress", inc, "--json").json()["runbooks"][0]
    assert data["next_step"] == "check-deployments"
    assert [s["author"] for s in data["steps"][:3]] == ["@mike", "@mike", "Test Responder"]


def test_builtin_runbooks_ship_with_the_package() -> None:
    """The wheel carries the runbooks: `runbook list` works from an unrelated folder."""
    assert shutil.which("git")
    data = json.loads(run_cli("runbook", "list", "--json").out)
    assert [r["name"] for r in data] == [p.stem for p in sorted(BUILTIN.glob("*.toml"))]


@pytest.mark.process
def test_help_stays_light() -> None:
    """`runbook ... --help` must not import GitPython, Jinja2 or our models."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from incidentctl.cli.app import main\n"
        "for argv in (['runbook', '--help'], ['runbook', 'walk', '--help'], ['declare', '--help']):\n"
        "    sys.argv = ['incidentctl', *argv]\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('git', 'jinja2')\n"
        "               or m.startswith(('incidentctl.domain', 'incidentctl.services')))\n"
        "print(heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stderr.strip().splitlines()[-1] == "[]"
    assert "walk" in proc.stdout and "--runbook" in proc.stdout
