"""Which repo a command used: `incidentctl repo`, `init PATH [--default]`, and the
notice after the first write from a terminal."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, run_cli


def user_config(home: Path) -> Path:
    return home / ".config" / "incidentctl" / "config.toml"


def test_repo_says_the_default_and_that_an_enclosing_git_repo_was_passed_over(tmp_path):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    result = run_cli("repo", cwd=project / "src")
    assert result.code == 0, result.err
    assert result.out.strip().endswith(os.path.join("incidentctl", "repo"))
    assert "the default repo" in result.err
    assert f"{project} (the enclosing git repo) is not an incident repo" in result.err
    assert "incidentctl init PATH --default" in result.err
    data = run_cli("repo", "--json", cwd=project / "src").json()
    assert data["how"] == "default" and data["passed_over"] == str(project)
    assert data["initialised"] is False  # `repo` creates nothing
    assert not Path(data["repo"]).exists()


def test_repo_names_each_source(tmp_path, repo):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    by_flag = run_cli("--repo", str(repo), "repo", "--json", cwd=elsewhere).json()
    assert (by_flag["repo"], by_flag["how"]) == (str(repo), "--repo")
    by_env = run_cli("repo", "--json", cwd=elsewhere, env={"INCIDENTCTL_REPO": str(repo)}).json()
    assert by_env["how"] == "INCIDENTCTL_REPO" and str(repo) in by_env["why"]
    inside = run_cli("repo", "--json", cwd=repo).json()
    assert (inside["repo"], inside["how"]) == (str(repo), "work tree")
    assert run_cli("init", str(repo), "--default").code == 0
    configured = run_cli("repo", cwd=elsewhere)
    assert configured.out.strip() == str(repo)
    assert "repo = in the user config" in configured.err


def test_init_off_a_terminal_says_how_to_make_it_the_default(tmp_path, isolated_env):
    path = tmp_path / "team"
    result = run_cli("init", str(path))
    assert result.code == 0, result.err
    assert f"incidentctl init {path} --default" in result.err
    assert not user_config(isolated_env).exists()
    made = run_cli("init", str(path), "--default")
    assert made.code == 0, made.err
    assert f"{path} is now your default repo" in made.err
    assert f'repo = "{path}"' in user_config(isolated_env).read_text()
    again = run_cli("init", str(path), "--default")
    assert "already your default repo" in again.err


def _spawn(args, cwd, env=None):
    pexpect = pytest.importorskip("pexpect")
    return pexpect.spawn(
        str(BIN),
        args,
        cwd=str(cwd),
        env={**os.environ, **(env or {})},
        encoding="utf-8",
        timeout=30,
    )


def _end(child) -> int:
    import pexpect

    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


@pytest.mark.process
def test_init_on_a_terminal_asks_to_make_it_the_default(tmp_path, isolated_env):
    path = tmp_path / "team"
    child = _spawn(["init", str(path)], tmp_path)
    child.expect(
        re.escape(f"Make {path} your default incident repo, for commands run anywhere? [y/N]: ")
    )
    child.sendline("y")
    child.expect(re.escape(f"{path} is now your default repo"))
    assert _end(child) == 0
    assert f'repo = "{path}"' in user_config(isolated_env).read_text()
    other = tmp_path / "other"
    child = _spawn(["init", str(other)], tmp_path)
    child.expect(re.escape("[y/N]: "))
    child.sendline("")  # no: the default stays
    child.expect(re.escape(f"to use it from anywhere: incidentctl init {other} --default"))
    assert _end(child) == 0
    assert f'repo = "{path}"' in user_config(isolated_env).read_text()


class Shell:
    """A real bash on a terminal: its commands share the tty and the session, as the
    commands typed in one terminal window do."""

    PROMPT = "READY> "

    def __init__(self, cwd: Path) -> None:
        pexpect = pytest.importorskip("pexpect")
        env = {**os.environ, "PS1": self.PROMPT, "PATH": f"{BIN.parent}:{os.environ['PATH']}"}
        self.child = pexpect.spawn(
            "bash",
            ["--norc", "--noprofile"],
            cwd=str(cwd),
            env=env,
            encoding="utf-8",
            timeout=30,
        )
        self.child.expect_exact(self.PROMPT)

    def run(self, command: str) -> str:
        """Run `command`; its output (and `exit N`)."""
        self.child.sendline(f'{command}; echo "exit $?"')
        self.child.expect_exact(self.PROMPT)
        return self.child.before

    def close(self) -> None:
        self.child.sendline("exit")
        self.child.close()


@pytest.mark.process
def test_the_first_write_from_a_terminal_says_where_it_went(tmp_path):
    team = tmp_path / "team"
    assert run_cli("init", str(team), "--default").code == 0
    shell = Shell(tmp_path)
    try:
        first = shell.run("incidentctl declare 'API returning 503' -s P1")
        assert "exit 0" in first
        assert f"recorded in {team} (repo = in the user config" in first
        # the same terminal again: it was told
        second = shell.run("incidentctl ack -")
        assert "exit 0" in second and "recorded in" not in second
        # a read says nothing
        read = shell.run("incidentctl show -")
        assert "exit 0" in read and "recorded in" not in read
    finally:
        shell.close()
    # another terminal is told once too
    other = Shell(tmp_path)
    try:
        assert f"recorded in {team}" in other.run("incidentctl note - 'checking the LB'")
    finally:
        other.close()
    # off a terminal: nothing
    assert "recorded in" not in run_cli("note", "-", "checking", cwd=tmp_path).err


@pytest.mark.process
def test_every_write_to_a_repo_that_is_not_the_configured_one_says_so(tmp_path):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    for _ in range(2):
        child = _spawn(["declare", "Disk full", "-s", "P2"], project / "src")
        child.expect(r"recorded in \S+incidentctl[/\\]repo \(the default repo")
        child.expect(re.escape(f"{project} is a git repo, not an incident repo"))
        child.expect(re.escape("make a repo your default: incidentctl init PATH --default"))
        assert _end(child) == 0
