"""Narrow terminals: at 80x24, 60x20 and 40 columns every view keeps its key columns
(ID, severity, status, what happened, what is due), whole and on the screen, and cuts
the free text with "…". Real pseudo-terminals (pexpect), sized with setwinsize."""

from __future__ import annotations

import os
import re

import pexpect
import pytest

from conftest import BIN

pytestmark = pytest.mark.process

SIZES = [(24, 80), (20, 60), (24, 40)]
TITLE = "Checkout failing for EU customers on the payment page since the deploy"
NOTE = "Rollback started on edge-7, waiting for the canary to come back green"
ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][A-Z0-9]|[=>78])")


def spawn(repo, args, size) -> pexpect.spawn:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    child = pexpect.spawn(
        str(BIN),
        ["--repo", str(repo), *args],
        env=env,
        dimensions=size,
        encoding="utf-8",
        codec_errors="replace",
        timeout=30,
    )
    child.setwinsize(*size)
    return child


def screen_lines(text: str) -> list[str]:
    text = ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    return [line.rstrip() for line in text.split("\n")]


def run(repo, args, size) -> list[str]:
    child = spawn(repo, args, size)
    try:
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    return screen_lines(child.before)


@pytest.fixture
def incident(cli):
    inc = cli.declare(TITLE, "-s", "P1", "--ic", "@sarah")
    cli("note", inc, NOTE)
    return inc


def fits(lines: list[str], columns: int) -> None:
    too_wide = [line for line in lines if len(line) > columns]
    assert not too_wide, too_wide


def row_of(lines: list[str], inc: str) -> str:
    """An incident's row with its continuation line (a 40-column layout takes two)."""
    for n, line in enumerate(lines):
        if line.startswith(inc):
            following = lines[n + 1] if n + 1 < len(lines) else ""
            return line + ("\n" + following if following.startswith("  ") else "")
    raise AssertionError(f"no row for {inc} in:\n" + "\n".join(lines))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[1]}x{s[0]}")
def test_list_keeps_id_severity_status_and_cuts_the_title(cli, incident, size):
    lines = run(cli.repo, ["list"], size)
    fits(lines, size[1])
    row = row_of(lines, incident)
    assert re.search(rf"^{incident}\s+P1\s+investigating", row)
    assert "Checkout fail" in row and "…" in row  # the title cut, never dropped


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[1]}x{s[0]}")
def test_status_keeps_the_due_column_whole(cli, incident, size):
    lines = run(cli.repo, ["status"], size)
    fits(lines, size[1])
    assert "DUE" in "\n".join(lines[:2])
    row = row_of(lines, incident)
    assert re.search(rf"^{incident}\s+P1\s+investigating", row)
    assert re.search(r"\b\d+s overdue\b", row), row  # "0s overdue", never "0s / overdu"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[1]}x{s[0]}")
def test_show_keeps_the_timelines_what_column(cli, incident, size):
    lines = run(cli.repo, ["show", incident], size)
    fits(lines, size[1])
    timeline = lines[lines.index("timeline") + 1 :]
    assert re.match(r"time \(UTC\)\s+(who\s+)?what\b", timeline[0]), timeline[0]
    start = timeline[0].index("what")
    text = " ".join(re.sub(r"\b[0-9A-Z]{12}$", "", line[start:]) for line in timeline[1:])
    assert f"declared P1: {TITLE}" in re.sub(r"\s+", " ", text)
    assert f"note: {NOTE}" in re.sub(r"\s+", " ", text)


def watch_frame(repo, size) -> list[str]:
    """One whole frame of `watch`: the screen between two redraws (each starts with the
    cursor sent home), then Ctrl-C."""
    child = spawn(repo, ["watch"], size)
    try:
        child.expect("Ctrl-C to quit")
        for _ in range(3):  # two redraws after the first draw: the middle one is whole
            child.expect(r"\x1b\[H")
        drawn = child.before
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    frame = screen_lines(drawn.rsplit("\x1b[H", 1)[-1])
    assert any("Ctrl-C to quit" in line for line in frame), frame
    assert len(frame) <= size[0] + 1, frame
    return frame


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[1]}x{s[0]}")
def test_watch_keeps_due_on_screen(cli, incident, size):
    frame = watch_frame(cli.repo, size)
    fits(frame, size[1])
    assert any(re.match(r"ID\s+SEV\s+STATUS\b", line) for line in frame), frame
    assert any(re.search(r"\bDUE\b", line) for line in frame), frame
    row = row_of(frame, incident)
    assert re.search(rf"^{incident}\s+P1\s+investigating", row)
    assert re.search(r"\b\d+s overdue\b", row), row
    assert not any(line.endswith("overdu") for line in frame)


@pytest.mark.parametrize("size", [(40, 80), (40, 60), (40, 40)], ids=lambda s: f"{s[1]}x{s[0]}")
def test_watch_events_keep_what_happened(cli, incident, size):
    """Tall enough to reach the latest events: each keeps its time, incident and what."""
    frame = watch_frame(cli.repo, size)
    fits(frame, size[1])
    events = [
        line + (frame[n + 1] if frame[n + 1 :] and frame[n + 1].startswith("  ") else "")
        for n, line in enumerate(frame)
        if re.match(r"\d\d-\d\d \d\d:\d\d:\d\d", line)
    ]
    assert events, frame
    assert all(incident in line for line in events)
    note = next(line for line in events if "note: R" in line)
    assert note.endswith("…") or note.endswith(NOTE)
