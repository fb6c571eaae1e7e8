"""`incidentctl runbook walk` in a real pseudo-terminal, driven with pexpect."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pexpect
import pytest

from conftest import BIN, Cli, git

pytestmark = pytest.mark.process  # end-to-end: a pseudo-terminal

NOTE = "pods 'ok' \"mostly\" <!channel> {{ title }} $(touch pwned) 🚨"


def drill(marker: Path) -> str:
    return f'''
name = "drill"
title = "Drill"
source = "tests"
warnings = ["DO NOT restart the widgets", "Keep <@U123> out of it"]

[vars]
marker = "{marker}"

[[phases]]
id = "first"
title = "First five minutes"
timebox = "5m"

[[phases.steps]]
id = "look"
kind = "check"
text = "Look at the widgets"
commands = ["echo evidence-123", "touch {{{{ marker }}}}"]

[[phases.steps]]
id = "choose"
kind = "decision"
text = "Choose a fix"

[[phases.steps.options]]
key = "A"
text = "Restart"
commands = ["touch {{{{ marker }}}}"]

[[phases.steps.options]]
key = "B"
text = "Wait"
commands = ["echo waited-for-{{{{ pod }}}}"]

[[phases]]
id = "later"
title = "Later"

[[phases.steps]]
id = "tell"
kind = "communicate"
text = "Tell people"
template = "slack/update"

[[phases.steps]]
id = "wrap-up"
text = "Wrap up"
commands = ["echo started; sleep 30; echo never-printed"]
'''


@pytest.fixture
def drill_repo(cli: Cli, tmp_path: Path) -> tuple[Cli, str, Path]:
    marker = tmp_path / "marker"
    (cli.repo / "runbooks").mkdir()
    (cli.repo / "runbooks" / "drill.toml").write_text(drill(marker))
    git(cli.repo, "add", "runbooks")
    git(cli.repo, "commit", "-q", "-m", "team runbook")
    inc = cli.declare("Widgets wobbling", "--runbook", "drill")
    return cli, inc, marker


def spawn(cli: Cli, *args: str) -> pexpect.spawn:
    child = pexpect.spawn(
        str(BIN),
        ["--repo", str(cli.repo), "runbook", "walk", *args],
        env=dict(os.environ),
        cwd=str(cli.repo),
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 200),
    )
    child.logfile_read = open(os.environ.get("WALK_LOG", os.devnull), "a")  # noqa: SIM115
    return child


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def acknowledge(child: pexpect.spawn) -> None:
    child.expect("DO NOT restart the widgets")
    child.expect("Keep <@U123> out of it")
    child.expect(re.escape("I have read these warnings. Start? [y/n] (n): "))
    child.sendline("y")


def choose(child: pexpect.spawn, key: str) -> None:
    child.expect(r"choice \[[a-z/]+\]: ")
    child.sendline(key)


def confirm_run(child: pexpect.spawn, command: str, answer: str) -> None:
    child.expect("about to run, in ")
    child.expect(re.escape(command))
    child.expect(re.escape("Run exactly this command? [y/n] (n): "))
    child.sendline(answer)


def test_walk_end_to_end(drill_repo) -> None:
    cli, inc, marker = drill_repo
    start = cli.commits()

    # 1. warnings, a command run as evidence, a note, done; then quit halfway
    child = spawn(cli, inc)  # no name: the runbook attached at declaration
    child.expect(re.escape(f"{inc}: Drill  (drill, attached at declaration)"))
    acknowledge(child)
    child.expect("step 1 of 4 · First five minutes · ")
    child.expect(r"of 5m")
    choose(child, "r")
    child.expect(re.escape("which command to run [1/2]: "))
    child.sendline("1")
    confirm_run(child, "echo evidence-123", "y")
    child.expect("evidence-123")
    child.expect("exit code 0")
    choose(child, "n")
    child.expect("note: ")
    child.sendline(NOTE)
    child.expect("not yet recorded: note; command output")
    choose(child, "d")
    child.expect(r"recorded look: done · commit ([0-9a-f]+) · evidence (evidence/\S+\.txt)")
    evidence_rel = child.match.group(2)
    child.expect("step 2 of 4")
    choose(child, "q")
    child.expect(
        re.escape(f"paused at step 2 (choose); resume with: incidentctl runbook walk {inc} drill")
    )
    assert finish(child) == 0
    assert cli.commits() == start + 1

    # the step's event and its evidence are one commit
    files = cli.git("show", "--name-only", "--format=", "HEAD").split()
    assert len(files) == 2
    event_rel = next(f for f in files if "/events/" in f)
    assert next(f for f in files if "/evidence/" in f).endswith(evidence_rel)
    event = tomllib.loads((cli.repo / event_rel).read_text())
    assert (event["step"], event["outcome"], event["note"]) == ("look", "done", NOTE)
    assert event["evidence"] == evidence_rel
    assert event["runs"] == [
        {
            "command": "echo evidence-123",
            "exit_code": 0,
            "output_bytes": len("evidence-123\n"),
            "truncated": False,
            "interrupted": False,
        }
    ]
    folder = (cli.repo / event_rel).parent.parent
    evidence = (folder / evidence_rel).read_text()
    assert f"# incidentctl evidence for {inc}" in evidence
    assert "$ echo evidence-123\nevidence-123\n[exit code 0]\n" in evidence
    assert not (cli.repo / "pwned").exists() and not marker.exists()

    # 2. resume at step 2: the warnings are shown, not asked again; Ctrl-C in the middle
    #    of a prompt leaves nothing behind
    child = spawn(cli, inc, "drill")
    child.expect(re.escape("resuming at step 2 (choose): 1 of 4 steps answered"))
    child.expect(re.escape("warnings (acknowledged when this walk began)"))
    child.expect("DO NOT restart the widgets")
    child.expect("step 2 of 4")
    assert "I have read" not in child.before
    choose(child, "n")
    child.expect("note: ")
    child.send("half a thou")
    child.sendintr()
    child.expect("interrupted: the current step was not recorded")
    assert finish(child) == 130
    assert cli.commits() == start + 1
    assert cli.git("status", "--porcelain", "--untracked-files=all") == ""

    # 3. resume again: a decision with its option's command, a skip, and a command
    #    stopped with Ctrl-C whose output so far is kept
    child = spawn(cli, inc)
    child.expect(re.escape("resuming at step 2 (choose)"))
    choose(child, "p")
    child.expect(re.escape("option [A/B]: "))
    child.sendline("b")
    child.expect(re.escape("value for {{ pod }}: "))
    child.sendline("web-0")
    confirm_run(child, "echo waited-for-web-0", "y")
    child.expect("waited-for-web-0")
    child.expect(r"recorded choose: decided B · commit [0-9a-f]+ · evidence")
    child.expect("step 3 of 4")
    choose(child, "s")
    child.expect("recorded tell: skipped")
    child.expect("step 4 of 4 · Later")
    choose(child, "r")
    confirm_run(child, "echo started; sleep 30; echo never-printed", "y")
    child.expect("started")
    child.sendintr()
    child.expect(r"exit code \d+ \(interrupted; the output so far is kept\)")
    choose(child, "f")
    child.expect("recorded wrap-up: failed")
    child.expect("runbook drill complete: every step is answered")
    assert finish(child) == 0
    assert cli.commits() == start + 4

    progress = cli("runbook", "progress", inc, "--json").json()["runbooks"][0]
    assert progress["complete"] is True
    assert [(s["id"], s["outcome"], s["option"]) for s in progress["steps"]] == [
        ("look", "done", ""),
        ("choose", "decided", "B"),
        ("tell", "skipped", ""),
        ("wrap-up", "failed", ""),
    ]
    files = cli.git("show", "--name-only", "--format=", "HEAD").split()
    wrap_up = tomllib.loads((cli.repo / next(f for f in files if "/events/" in f)).read_text())
    assert wrap_up["runs"][0]["interrupted"] is True
    code = wrap_up["runs"][0]["exit_code"]
    assert code > 128  # stopped by a signal, reported the way a shell does
    kept = (folder / wrap_up["evidence"]).read_text()
    assert f"\nstarted\n[exit code {code}]\n" in kept and "\nnever-printed" not in kept
    assert "[interrupted with Ctrl-C]" in kept


def test_declining_a_command_never_runs_it(drill_repo) -> None:
    cli, inc, marker = drill_repo
    start = cli.commits()
    child = spawn(cli, inc, "drill")
    acknowledge(child)
    choose(child, "x")
    child.expect(re.escape("please answer one of: d, s, f, n, r, c, q"))
    choose(child, "R")  # any letter case
    child.expect(re.escape("which command to run [1/2]: "))
    child.sendline("2")
    confirm_run(child, f"touch {marker}", "")  # Enter: the default is no
    child.expect("not run")
    choose(child, "r")
    child.sendline("2")
    confirm_run(child, f"touch {marker}", "n")
    child.expect("not run")
    choose(child, "d")
    child.expect("recorded look: done")
    choose(child, "p")  # the decision's option A would touch the marker too
    child.expect(re.escape("option [A/B]: "))
    child.sendline("A")
    confirm_run(child, f"touch {marker}", "no")
    child.expect("Please enter Y or N")
    child.expect(re.escape("Run exactly this command? [y/n] (n): "))
    child.sendline("n")
    child.expect("not run")
    child.expect("recorded choose: decided A")
    choose(child, "q")
    assert finish(child) == 0

    assert not marker.exists()
    assert cli.commits() == start + 2
    for rel in cli.git("show", "--name-only", "--format=", "HEAD~1", "HEAD").split():
        assert "/evidence/" not in rel
        event = tomllib.loads((cli.repo / rel).read_text())
        assert event["runs"] == [] and event["evidence"] == ""


def test_walk_suggests_a_runbook_when_none_is_attached(cli: Cli) -> None:
    inc = cli.declare("API returning 503", "--service", "api")
    child = spawn(cli, inc)
    child.expect(re.escape(f"no runbook is attached to {inc}; these fit it:"))
    child.expect(re.escape("1. api-outage  (service api; mentions 503, api)"))
    child.expect(re.escape("2. standard-response  (general procedure)"))
    child.expect(re.escape("runbook (number or name) (1): "))
    child.sendline("")
    child.expect(re.escape(f"{inc}: API outage  (api-outage, chosen)"))
    # "Declare P0 incident" is done by the declaration: shown, not asked
    child.expect(re.escape("✓ step 1 · Declare P0 incident"))
    child.expect("step 2 of 12")
    choose(child, "d")
    child.expect("recorded page: done")
    choose(child, "q")
    assert finish(child) == 0
    # the walk in progress is found again without naming it
    child = spawn(cli, inc)
    child.expect(re.escape("(api-outage, in progress)"))
    child.expect(re.escape("resuming at step 3 (check-infrastructure): 2 of 12 steps answered"))
    choose(child, "q")
    assert finish(child) == 0


def test_the_timeline_satisfies_steps_and_do_not_lines_are_warnings(cli: Cli) -> None:
    inc = cli.declare(
        "Orders table has wrong totals", "--runbook", "data-corruption", severity="P0"
    )
    declared = cli("show", inc, "--json").json()["timeline"][0]
    start = cli.commits()

    # 1. the DO NOT lines are warnings, acknowledged once; the declaration did step 1
    child = spawn(cli, inc)
    child.expect(re.escape("✓ step 1 · Declare P0 incident + page engineering leadership"))
    child.expect(re.escape("done: declared at "))
    child.expect(re.escape(f"(event {declared['id']})"))
    child.expect("DO NOT restart services")
    child.expect("DO NOT run migrations or schema changes")
    child.expect("DO NOT delete anything")
    child.expect("Always prefer data preservation over service restoration")
    child.expect(re.escape("I have read these warnings. Start? [y/n] (n): "))
    child.sendline("y")
    child.expect(re.escape("step 2 of 11 · Immediate Actions (Critical: DO NOT MAKE WORSE)"))
    child.expect("Take database snapshot immediately")
    choose(child, "d")
    child.expect("recorded snapshot: done")
    child.expect("step 3 of 11")
    choose(child, "q")
    assert finish(child) == 0
    assert cli.commits() == start + 1  # satisfied steps and warnings record nothing

    # 2. the customer email recorded as sent does the notify-customers step
    sent = cli("comms", "sent", inc, "email/customer", "--json").json()["events"][0]
    child = spawn(cli, inc)
    child.expect(re.escape("✓ step 9 · Notify customers immediately if their data affected"))
    child.expect(re.escape("done: email/customer sent at "))
    child.expect(re.escape(f"(event {sent['id']})"))
    child.expect(re.escape("resuming at step 3 (scope): 3 of 11 steps answered"))
    child.expect(re.escape("warnings (acknowledged when this walk began)"))
    child.expect("step 3 of 11")
    assert "I have read" not in child.before
    for step in ("scope", "start-time", "cause", "point-in-time-recovery", "quarantine"):
        choose(child, "s")
        child.expect(f"recorded {step}: skipped")
    choose(child, "s")
    child.expect("recorded restore-backup: skipped")
    child.expect("step 10 of 11")  # step 9 was not asked
    choose(child, "q")
    assert finish(child) == 0

    steps = {
        s["id"]: s for s in cli("runbook", "progress", inc, "--json").json()["runbooks"][0]["steps"]
    }
    assert steps["declare"]["outcome"] == "done"
    assert steps["declare"]["satisfied_by"] == [
        {"satisfier": "declared", "event": declared["id"], "type": "declared", "at": declared["at"]}
    ]
    assert steps["notify-customers"]["event"] == sent["id"]
    assert steps["snapshot"]["outcome"] == "done" and "satisfied_by" not in steps["snapshot"]
    assert steps["transparency"]["outcome"] is None
