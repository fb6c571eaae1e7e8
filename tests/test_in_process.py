"""The in-process runner the tests use (conftest.run_in_process) tells the same story as
the console script in a child process, and leaves this process as it found it."""

from __future__ import annotations

import gc
import logging
import os
import sys

import pytest

from conftest import run_in_process, run_process
from teamrepos import at


@pytest.fixture
def calls(cli):
    inc = cli.declare("A title long enough to be wrapped in a narrow panel, twice over", env=at(0))
    cli("note", inc, "a note that runs on and on, past the edge of a narrow terminal", env=at(1))
    repo = str(cli.repo)
    return [
        # one after another: each call has its own width, colour and streams
        (("--repo", repo, "show", inc), {"COLUMNS": "60", **at(2)}),
        (("--repo", repo, "show", inc), {"COLUMNS": "120", **at(2)}),
        (("--repo", repo, "list", "--json"), at(2)),
        (("--repo", repo, "show", "INC-2026-02-12-999"), {}),
        (("--repo", repo, "declare", "x", "-s", "P9"), {}),
        (("--repo", repo, "nonsense"), {}),
        (("--version",), {}),
    ]


def test_in_process_calls_match_the_console_script(calls):
    for args, env in calls:
        inside, child = run_in_process(*args, env=env), run_process(*args, env=env)
        assert inside == child, args


def test_a_call_leaves_this_process_as_it_found_it(cli, tmp_path):
    def snapshot():
        return dict(os.environ), os.getcwd(), (sys.stdin, sys.stdout, sys.stderr), gc.isenabled()

    before = snapshot()
    for _ in range(3):
        listed = run_in_process(
            "--repo", str(cli.repo), "list", cwd=tmp_path, env={"INCIDENTCTL_X": "1"}, input="y\n"
        )
        assert listed.code == 0, listed.err
        assert run_in_process("--repo", str(tmp_path / "nowhere"), "list").code == 1
        assert snapshot() == before
    assert gc.isenabled()  # the collector belongs to the process: only main() turns it off
    # one warnings handler, however many calls (pytest adds its own capture handlers)
    handlers = logging.getLogger("incidentctl").handlers
    assert [h.get_name() for h in handlers].count("incidentctl-warnings") == 1
