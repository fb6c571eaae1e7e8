"""Shell completion: the completion functions in-process, the protocol through the
CLI, and bash itself driven in a pseudo-terminal with the script loaded."""

from __future__ import annotations

import os
import shutil

import pexpect
import pytest

from conftest import BIN
from incidentctl.services import completion


def complete(cli, line: str, shell: str = "bash", **env) -> list[str]:
    """What `incidentctl` answers a Tab at the end of `line`, through the real protocol."""
    import subprocess

    words = line.split()
    environ = dict(os.environ, _INCIDENTCTL_COMPLETE=f"complete_{shell}", **env)
    environ["INCIDENTCTL_REPO"] = str(cli.repo)
    if shell == "bash":
        environ["COMP_WORDS"] = line
        environ["COMP_CWORD"] = str(len(words) if line.endswith(" ") else len(words) - 1)
    else:
        environ["_TYPER_COMPLETE_ARGS"] = line
        environ["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"
    out = subprocess.run([str(BIN)], env=environ, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def test_the_domain_names_are_the_domains():
    from incidentctl.domain.events import NOTE_KINDS
    from incidentctl.domain.policy import STATUSES
    from incidentctl.domain.review import ACTION_STATUSES

    assert completion.NOTE_KINDS == NOTE_KINDS
    assert completion.STATUSES == STATUSES
    assert completion.ACTION_STATUSES == ACTION_STATUSES


def test_incidents_open_first_newest_first_with_titles(cli):
    old = cli.declare("Old and resolved", "-s", "P2")
    cli("resolve", old, "--root-cause", "x", "--resolution", "y")
    first = cli.declare("First open", "-s", "P1")
    second = cli.declare("Second open", "-s", "P3")
    choices = completion.incidents(str(cli.repo))
    assert [c.value for c in choices] == ["-", second, first, old]
    assert choices[1].help == "P3 investigating: Second open"
    assert choices[3].help.startswith("P2 resolved: Old and resolved")
    cli("list")  # the state cache (and its summary) is written: the same answer from it
    assert [c.value for c in completion.incidents(str(cli.repo))] == ["-", second, first, old]


def test_incidents_come_from_the_cache_summary_when_the_folders_are_old(cli, monkeypatch):
    inc = cli.declare("Cached one", "-s", "P1")
    cli("list")
    # "two days later": the folder is no longer read, the summary still answers
    monkeypatch.setattr(completion, "RECENT", completion.timedelta(0))
    assert [c.value for c in completion.incidents(str(cli.repo))] == ["-", inc]


def test_completion_reads_no_heavy_module(cli):
    import subprocess
    import sys

    cli.declare("Anything", "-s", "P1")
    code = (
        "import os, sys, runpy\n"
        "sys.argv = ['incidentctl']\n"
        "try:\n"
        "    from incidentctl.cli.app import main; main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('git', 'jinja2', 'rich', 'incidentctl.domain.events',"
        " 'incidentctl.domain.policy', 'incidentctl.store.config')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    env = dict(
        os.environ,
        INCIDENTCTL_REPO=str(cli.repo),
        _INCIDENTCTL_COMPLETE="complete_bash",
        COMP_WORDS="incidentctl show ",
        COMP_CWORD="2",
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert "INC-" in out.stdout
    assert "HEAVY []" in out.stderr, out.stderr


def test_runbooks_steps_templates_roles_severities_kinds(cli):
    names = [c.value for c in completion.runbooks(str(cli.repo))]
    assert "api-outage" in names and "security-breach" in names
    steps = [c.value for c in completion.runbook_steps(str(cli.repo), "api-outage")]
    assert steps[:2] == ["declare", "page"]
    assert completion.runbook_steps(str(cli.repo), "no-such") == []
    templates = [c.value for c in completion.templates(str(cli.repo))]
    assert "slack/declared" in templates and "email/customer" in templates
    assert completion.roles(str(cli.repo))[0].value == "commander"
    assert [c.value for c in completion.severities(str(cli.repo))] == ["P0", "P1", "P2", "P3"]


def test_action_ids(cli):
    inc = cli.declare("With an action", "-s", "P2")
    cli("resolve", inc, "--root-cause", "x", "--resolution", "y")
    cli("action", "add", inc, "Add a canary", "--owner", "@ann", "--due", "2030-01-01", "-p", "P2")
    cli("list", "--all")
    assert [c.value for c in completion.action_ids(str(cli.repo))] == [f"{inc}#A1"]


@pytest.mark.process
def test_the_protocol_for_each_shell(cli):
    inc = cli.declare("Checkout failing", "-s", "P1")
    assert complete(cli, "incidentctl show ")[:2] == ["-", inc]
    assert complete(cli, "incidentctl runbook show api") == ["api-outage"]
    assert complete(cli, "incidentctl runbook step - api-outage ch")[:2] == [
        "check-infrastructure",
        "check-deployments",
    ]
    assert complete(cli, "incidentctl update - --status i") == ["investigating", "identified"]
    assert complete(cli, "incidentctl note - text --kind h") == ["hypothesis"]
    assert complete(cli, "incidentctl declare T -s P") == ["P0", "P1", "P2", "P3"]
    assert complete(cli, "incidentctl assign - t") == ["tech-lead"]
    assert "slack/declared" in complete(cli, "incidentctl render ")
    assert (
        complete(cli, "incidentctl show ", "fish")[1]
        == f"{inc}\tP1 investigating: Checkout failing"
    )
    zsh = "\n".join(complete(cli, "incidentctl show ", "zsh"))
    assert f'"{inc}":"P1 investigating\\\\: Checkout failing"' in zsh


@pytest.mark.process
@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_each_shells_script(cli, shell):
    result = cli("completion", shell)
    assert "_INCIDENTCTL_COMPLETE" in result.out


def test_completion_of_an_unknown_shell_is_a_usage_error(cli):
    result = cli("completion", "tcsh", ok=False)
    assert result.code == 2
    assert "error: no completion for shell 'tcsh'" in result.err


@pytest.mark.process
@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_ids_runbooks_and_steps(cli, tmp_path):
    first = cli.declare("Checkout failing", "-s", "P1")
    second = cli.declare("Search slow", "-s", "P3")
    script = tmp_path / "incidentctl.bash"
    script.write_text(cli("completion", "bash").out)
    rc = tmp_path / "bashrc"
    rc.write_text(f"PS1='$ '\nsource {script}\nbind 'set show-all-if-ambiguous off'\n")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(INCIDENTCTL_REPO=str(cli.repo), PATH=f"{BIN.parent}:{env['PATH']}", TERM="dumb")
    bash = pexpect.spawn(
        "bash",
        ["--noprofile", "--rcfile", str(rc), "-i"],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
    )
    try:
        bash.expect_exact("$ ")
        bash.send("incidentctl show \t\t")
        bash.expect_exact(second)  # the newest open one first
        bash.expect_exact(first)
        bash.sendcontrol("c")
        bash.expect_exact("$ ")
        bash.send("incidentctl runbook show \t\t")
        bash.expect_exact("api-outage")
        bash.expect_exact("security-breach")
        bash.sendcontrol("c")
        bash.expect_exact("$ ")
        bash.send("incidentctl runbook step - api-outage check-i\t")
        bash.expect_exact("check-infrastructure")
        bash.sendcontrol("c")
        bash.expect_exact("$ ")
        bash.sendline("exit")
        bash.expect(pexpect.EOF)
    finally:
        bash.close(force=True)
