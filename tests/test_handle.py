"""One identity: `handle = "@ann"` in the user config authors every event (asked once,
on a terminal); the git identity stays the commits' author."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conftest import BIN, Cli, git, run_cli


def user_config(home: Path) -> Path:
    return home / ".config" / "incidentctl" / "config.toml"


def authors(cli: Cli) -> list[str]:
    return [e["author"] for e in cli("show", "-", "--json").json()["timeline"]]


def test_the_handle_in_the_user_config_is_the_author_everywhere(cli, isolated_env):
    user_config(isolated_env).parent.mkdir(parents=True, exist_ok=True)
    user_config(isolated_env).write_text('handle = "@ann"\n')
    cli.declare("API returning 503", "--ic", "@ann")
    cli("ack", "-")
    cli("note", "-", "Looking at the LB")
    cli("resolve", "-", "--root-cause", "a leak", "--resolution", "rollback")
    state = cli("show", "-", "--json").json()
    assert set(authors(cli)) == {"@ann"}
    assert state["responders"] == ["@ann"]  # one person, one name
    thanks = cli("render", "slack/resolved", "-").out
    assert "@ann" in thanks and "Test Responder" not in thanks
    # the commits stay the git identity's
    assert set(git(cli.repo, "log", "--format=%an").split()) == {"Test", "Responder"}


def test_without_a_handle_off_a_terminal_the_author_is_the_git_name(cli):
    cli.declare()
    cli("ack", "-")
    assert set(authors(cli)) == {"Test Responder"}
    # --by still wins
    cli("note", "-", "paged the DBA", "--by", "@mike")
    assert authors(cli)[-1] == "@mike"


@pytest.mark.parametrize("bad", ['handle = "Ann Oncall"', "handle = 3", 'handle = "@"'])
def test_a_bad_handle_is_refused_before_anything_is_written(repo, isolated_env, bad):
    user_config(isolated_env).parent.mkdir(parents=True, exist_ok=True)
    user_config(isolated_env).write_text(bad + "\n")
    result = run_cli("--repo", str(repo), "declare", "x", "-s", "P1")
    assert result.code != 0
    assert "error:" in result.err and "handle" in result.err and "Traceback" not in result.err
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"


def _spawn(repo: Path, *args: str):
    pexpect = pytest.importorskip("pexpect")
    env = {k: v for k, v in os.environ.items() if k != "INCIDENTCTL_NO_FIRST_RUN"}
    return pexpect.spawn(
        str(BIN), ["--repo", str(repo), *args], env=env, encoding="utf-8", timeout=30
    )


@pytest.mark.process
def test_the_handle_is_asked_once_on_a_terminal(repo, isolated_env):
    import pexpect

    child = _spawn(repo, "declare", "API returning 503", "-s", "P1")
    child.expect(re.escape("without one, events say 'Test Responder' (your git name)"))
    child.expect(re.escape("Your handle [@responder]: "))  # from responder@example.com
    child.sendline("ann smith")
    child.expect(re.escape("is not a handle"))
    child.expect(re.escape("Your handle [@responder]: "))
    child.sendline("ann")  # the @ is added
    child.expect(re.escape("saved handle = '@ann'"))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert 'handle = "@ann"' in user_config(isolated_env).read_text()
    child = _spawn(repo, "ack", "-")  # asked once: never again
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and "Your handle" not in child.before
    cli = Cli(repo)
    assert set(authors(cli)) == {"@ann"}  # the command that asked already used it
    assert cli("show", "-", "--json").json()["responders"] == ["@ann"]


@pytest.mark.process
def test_enter_takes_the_suggested_handle_and_end_of_input_asks_next_time(repo, isolated_env):
    import pexpect

    child = _spawn(repo, "declare", "Disk full", "-s", "P2")
    child.expect(re.escape("Your handle [@responder]: "))
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert not user_config(isolated_env).exists()
    assert authors(Cli(repo)) == ["Test Responder"]
    child = _spawn(repo, "ack", "-")
    child.expect(re.escape("Your handle [@responder]: "))
    child.sendline("")
    child.expect(pexpect.EOF)
    child.close()
    assert 'handle = "@responder"' in user_config(isolated_env).read_text()
