"""`watch` in a real pseudo-terminal: it draws, follows other processes' commits,
survives a resize, and leaves cleanly on Ctrl-C."""

from __future__ import annotations

import os

import pexpect
import pytest

from conftest import BIN

pytestmark = pytest.mark.process  # end-to-end: a pseudo-terminal and Ctrl-C

TIMEOUT = 30


def spawn_watch(repo, *args: str) -> pexpect.spawn:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    return pexpect.spawn(
        str(BIN),
        ["--repo", str(repo), "watch", *args],
        env=env,
        dimensions=(40, 120),
        encoding="utf-8",
        codec_errors="replace",
        timeout=TIMEOUT,
    )


def test_watch_draws_follows_new_events_and_exits_on_ctrl_c(cli):
    inc = cli.declare("Checkout failing for EU", "--ic", "@sarah")
    child = spawn_watch(cli.repo)
    try:
        child.expect("Checkout failing for EU")
        child.expect("Next update due in")
        # another process commits an event: the view picks it up
        cli("note", inc, "Rollback started on edge-7")
        child.expect("note: Rollback started on edge-7")  # labelled as what it is
        cli("escalate", inc, "--to", "@lead", "-m", "Need the DB team")
        child.expect("escalated to L2 Engineering Lead @lead: Need the DB team")
        # a smaller terminal: it keeps drawing
        child.setwinsize(20, 60)
        child.expect("Checkout failing for EU")
        child.expect("Ctrl-C to quit")
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    assert "Traceback" not in (child.before or "")


def test_watch_of_an_unknown_incident_fails_before_drawing(cli):
    child = spawn_watch(cli.repo, "INC-2026-02-12-999")
    try:
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 1
    assert "error: no incident 'INC-2026-02-12-999'" in child.before
