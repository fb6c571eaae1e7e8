"""Crash safety and concurrency, with real processes: 20 notes at once, and SIGKILL at
random moments (and, deterministically, between the file write and the commit)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
import tomllib
from pathlib import Path

import pytest

from conftest import BIN, Cli, git
from incidentctl.domain.events import parse_event
from teamrepos import at

pytestmark = pytest.mark.process  # end-to-end: real processes, killed and racing

PAUSE = "INCIDENTCTL_TEST_PAUSE_AFTER_WRITE"
QUIET_GIT = dict(os.environ, GIT_OPTIONAL_LOCKS="0")  # our checks never take index.lock


def _start(cli: Cli, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN), "--repo", str(cli.repo), *args],
        env=dict(os.environ, **(env or {})),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _event_paths(repo: Path) -> list[Path]:
    return sorted(p for p in repo.glob("incidents/*/*/events/*.toml") if not p.name.startswith("."))


def _assert_whole_or_absent(repo: Path) -> None:
    for path in _event_paths(repo):
        parse_event(tomllib.loads(path.read_text(encoding="utf-8")))  # raises if torn


def _uncommitted(repo: Path) -> set[str]:
    out = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--", "incidents"],
        cwd=repo,
        env=QUIET_GIT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line[3:] for line in out.splitlines() if "/events/" in line and "/." not in line}


def _wait_for_git(repo: Path) -> None:
    """A killed command's git child finishes on its own; wait for it to let go."""
    lock = repo / ".git" / "index.lock"
    deadline = time.monotonic() + 10
    while lock.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def _committed(repo: Path) -> set[str]:
    return set(git(repo, "ls-files", "incidents").splitlines())


def test_twenty_concurrent_notes_all_land(cli):
    incident = cli.declare(env=at(0))
    before = cli.commits()

    procs = [_start(cli, "note", incident, f"note {i} from terminal {i}") for i in range(20)]
    errors = [p.communicate(timeout=120)[1] for p in procs]

    assert [p.returncode for p in procs] == [0] * 20, errors
    assert cli.commits() == before + 20
    texts = [
        e["text"]
        for e in cli("show", incident, "--json").json()["timeline"]
        if e["type"] == "note_added"
    ]
    assert sorted(texts) == sorted(f"note {i} from terminal {i}" for i in range(20))
    assert len(_event_paths(cli.repo)) == 21 and not _uncommitted(cli.repo)
    fsck = subprocess.run(["git", "fsck", "--strict"], cwd=cli.repo, capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr
    assert "error" not in fsck.stderr and "missing" not in fsck.stdout


def _kill_after_write(cli: Cli, *args: str) -> str:
    """Start a command that pauses after writing its event file; kill it in that pause."""
    before = {p.name for p in _event_paths(cli.repo)}
    proc = _start(cli, *args, env={PAUSE: "60"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        new = [p for p in _event_paths(cli.repo) if p.name not in before]
        if new:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and len(new) == 1
    return new[0].relative_to(cli.repo).as_posix()


def test_an_event_killed_before_its_commit_is_recovered(cli):
    incident = cli.declare(env=at(0))

    orphan = _kill_after_write(cli, "update", incident, "--severity", "P0", "-m", "worse")
    assert _uncommitted(cli.repo) == {orphan}
    recovered = cli("note", incident, "next command")
    assert f"recovered {orphan}" in recovered.err
    assert orphan in _committed(cli.repo) and not _uncommitted(cli.repo)
    assert "Recovered: true" in cli.git("log", "-1", "--skip=1", "--format=%B")

    orphan = _kill_after_write(cli, "note", incident, "killed too")
    doctor = cli("doctor", ok=False)
    assert doctor.code == 1 and "doctor --fix repairs this" in doctor.out
    assert "fixed: committed" in cli("doctor", "--fix").err
    assert orphan in _committed(cli.repo)
    state = cli("show", incident, "--json").json()
    assert state["severity"] == "P0"
    assert [e["text"] for e in state["timeline"] if e["type"] == "note_added"] == [
        "next command",
        "killed too",
    ]
    assert cli("verify").code == 0


def test_sigkill_at_random_moments_never_loses_or_tears_an_event(cli):
    incident = cli.declare(env=at(0))
    rng = random.Random(20260212)
    kills = checks = 0
    # a kill lands only while the command still runs, which depends on the machine's
    # speed: try until 50 have landed, not a fixed number of times
    for i in range(200):
        if kills >= 50:
            break
        if rng.random() < 0.5:
            args = ("note", incident, f'note {i}: "quoted" 🔥 {{{{ x }}}}')
        else:
            args = ("update", incident, "--severity", rng.choice(["P0", "P1", "P2"]), "-m", f"u{i}")
        paused = rng.random() < 0.6
        env = {PAUSE: "0.3"} if paused else {}
        proc = _start(cli, *args, env=env)
        # within the command's life: from its start, through the write, into the pause
        time.sleep(rng.uniform(0.0, 0.6 if paused else 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += proc.returncode == -signal.SIGKILL
        _wait_for_git(cli.repo)
        _assert_whole_or_absent(cli.repo)
        if i % 8 == 7:  # the next command commits what the killed one left
            left = _uncommitted(cli.repo)
            checks += 1
            if checks % 2:
                cli("note", incident, f"check {i}")
            else:
                cli("doctor", "--fix")
            assert left <= _committed(cli.repo) and not _uncommitted(cli.repo)
    assert kills >= 50

    cli("doctor", "--fix")
    assert cli("doctor").code == 0
    assert cli("verify").code == 0
    assert not _uncommitted(cli.repo)
    assert not list(cli.repo.rglob("*.incidentctl-tmp"))
    assert not (cli.repo / ".git" / "index.lock").exists()
    assert not list((cli.repo / ".git" / "incidentctl" / "pending").glob("*"))
    # one commit per event (plus the init commit), and every event file is committed
    assert cli.commits() == len(_event_paths(cli.repo)) + 1
    assert _committed(cli.repo) == {
        p.relative_to(cli.repo).as_posix() for p in _event_paths(cli.repo)
    }
    fsck = subprocess.run(["git", "fsck"], cwd=cli.repo, capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr
    cli("show", incident, "--json")


def test_a_command_waits_for_a_git_index_lock_held_by_another_git(cli):
    incident = cli.declare(env=at(0))
    lock = cli.repo / ".git" / "index.lock"
    lock.write_text("")  # as the git child of a killed command would hold it
    proc = _start(cli, "note", incident, "after the lock")
    time.sleep(2)
    lock.unlink()
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert not _uncommitted(cli.repo)


def test_a_file_staged_while_an_event_is_being_written_stays_out_of_its_commit(cli):
    # the check for other staged files runs early (beside the incident's reading); a
    # file the user stages after it must still stay out of the event's commit
    incident = cli.declare(env=at(0))
    before = {p.name for p in _event_paths(cli.repo)}
    proc = _start(cli, "note", incident, "while you stage", env={PAUSE: "1.5"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not [
        p for p in _event_paths(cli.repo) if p.name not in before
    ]:
        time.sleep(0.01)
    (cli.repo / "mine.txt").write_text("the user's own work\n")
    git(cli.repo, "add", "mine.txt")
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    changed = git(cli.repo, "show", "--name-only", "--format=", "HEAD").split()
    assert len(changed) == 1 and changed[0].endswith(".toml") and "/events/" in changed[0]
    assert git(cli.repo, "diff", "--cached", "--name-only").split() == ["mine.txt"]
