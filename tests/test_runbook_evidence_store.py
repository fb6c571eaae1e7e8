"""An event's extra files (a runbook step's evidence) share its commit, even after a crash."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import pytest

from conftest import Cli, git
from incidentctl.domain import events as ev
from incidentctl.domain.ulid import new_ulid
from incidentctl.errors import GitError
from incidentctl.store.repo import IncidentRepo
from incidentctl.store.writer import writing

CRASH_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from datetime import UTC, datetime
    from pathlib import Path

    from incidentctl.domain import events as ev
    from incidentctl.domain.ulid import new_ulid
    import incidentctl.store.writer as writer
    from incidentctl.store.git import Git
    from incidentctl.store.repo import IncidentRepo

    root, mode = Path(sys.argv[1]), sys.argv[2]
    repo = IncidentRepo(root)
    folder = repo.incident_folders()[0]
    at = datetime.now(UTC)
    event = ev.RunbookStepAnswered(
        id=new_ulid(at), incident=folder.name[:26], at=at, recorded_at=at,
        author="crash", runbook="api-outage", step="declare", outcome="done",
        evidence="evidence/x.txt",
    )
    evidence = folder / "evidence" / f"{event.id}.txt"
    if mode == "before-commit":
        Git.commit_paths = lambda self, paths, message: os._exit(9)  # killed mid-command
    else:  # killed after the evidence is written, before the event file
        write = writer.write_atomic
        writer.write_atomic = lambda p, d, **k: os._exit(9) if "/events/" in str(p) else write(p, d, **k)
    with writer.writing(repo) as w:
        w.event(folder, "INC-crash", event, "crash test", extra_files={evidence: b"output\\n"})
    """
)


def crash(repo, mode: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(repo), mode], capture_output=True, text=True
    )
    assert proc.returncode == 9, proc.stderr


def test_killed_before_the_commit_the_next_command_commits_event_and_evidence(cli: Cli) -> None:
    inc = cli.declare()
    crash(cli.repo, "before-commit")
    untracked = cli.git("status", "--porcelain", "--untracked-files=all").split("\n")
    assert sum("/evidence/" in line for line in untracked) == 1

    result = cli("note", inc, "after the crash")
    assert "recovered" in result.err
    recovered = cli.git("log", "-1", "--skip=1", "--name-only", "--format=%B")
    assert "Recovered: true" in recovered
    files = [line for line in recovered.splitlines() if line.startswith("incidents/")]
    assert len(files) == 2
    assert any("/events/" in f for f in files) and any("/evidence/" in f for f in files)
    assert cli.git("status", "--porcelain") == ""


def test_killed_before_the_event_file_the_orphan_evidence_is_removed(cli: Cli) -> None:
    inc = cli.declare()
    crash(cli.repo, "before-event")
    assert "/evidence/" in cli.git("status", "--porcelain", "--untracked-files=all")
    before = cli.commits()
    cli("note", inc, "after the crash")
    assert cli.commits() == before + 1  # only the note: nothing to recover
    assert cli.git("status", "--porcelain", "--untracked-files=all") == ""


def test_a_refused_commit_leaves_neither_file(cli: Cli) -> None:
    cli.declare()
    hook = cli.repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'refused by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    repo = IncidentRepo(cli.repo)
    folder = repo.incident_folders()[0]
    at = datetime.now(UTC)
    event = ev.RunbookStepAnswered(
        id=new_ulid(at),
        incident=folder.name[:26],
        at=at,
        recorded_at=at,
        runbook="api-outage",
        step="declare",
        outcome="done",
    )
    evidence = folder / "evidence" / f"{event.id}.txt"
    with writing(repo) as w, pytest.raises(GitError, match="refused by policy"):
        w.event(folder, "INC-refused", event, "refused", extra_files={evidence: b"x\n"})
    assert not evidence.exists()
    assert git(cli.repo, "status", "--porcelain", "--untracked-files=all") == ""
