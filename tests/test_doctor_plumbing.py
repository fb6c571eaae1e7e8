"""doctor checks the repo's git plumbing, and --fix repairs what is safe to repair:
stale git locks, a rebase a killed sync left, a detached HEAD, an index naming missing
objects, the remote's default branch, events not pushed for too long."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from conftest import Cli, git, run_cli
from teamrepos import bare_origin, team


def findings(cli: Cli, *args: str) -> list[dict]:
    return cli("doctor", "--json", *args, ok=False).json()["findings"]


def about(items: list[dict], path: str) -> list[dict]:
    return [f for f in items if f["path"] == path]


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


# -- stale git locks ---------------------------------------------------------------------


def test_a_stale_index_lock_is_waited_for_said_then_named_with_the_fix(cli, monkeypatch):
    from incidentctl.store import git as git_runner
    from incidentctl.store import lock as locks

    monkeypatch.setattr(git_runner, "INDEX_LOCK_WAIT", 1.0)
    monkeypatch.setattr(locks, "SAY_WAITING_AFTER", 0.2)
    cli.git("config", "gc.auto", "0")  # no background gc to wait for
    inc = cli.declare()
    lock = cli.repo / ".git" / "index.lock"
    lock.write_text("")  # a killed git child's
    age(lock, 60)
    before = cli.commits()
    result = cli("note", inc, "blocked", ok=False)
    assert result.code == 1
    assert "waiting for .git/index.lock (held by another git process) ..." in result.err
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: gave up after 1s waiting for .git/index.lock: another git process holds it, "
        "or a killed one left it behind"
    ]
    assert "incidentctl doctor --fix" in result.err
    assert cli.commits() == before and cli.git("status", "--porcelain") == ""

    (stale,) = about(findings(cli), ".git/index.lock")
    assert stale["level"] == "error" and stale["fixable"] and "stale" in stale["problem"]
    fixed = cli("doctor", "--fix")
    assert "fixed: removed .git/index.lock, left by a git process that is gone" in fixed.err
    assert not lock.exists()
    cli("note", inc, "lands now")
    assert cli.commits() == before + 1


def test_a_lock_held_by_a_running_git_is_left(cli, monkeypatch):
    from incidentctl.services import setup

    monkeypatch.setattr(setup, "GIT_SETTLE_WAIT", 0.5)
    cli.declare()
    lock = cli.repo / ".git" / "index.lock"
    lock.write_text("")
    age(lock, 60)
    # a git of this repo that is still running (an alias runs a shell under git)
    holder = subprocess.Popen(["git", "-c", "alias.hold=!sleep 30", "hold"], cwd=cli.repo)
    try:
        deadline = time.monotonic() + 10
        from incidentctl.store.lock import git_processes

        while time.monotonic() < deadline and holder.pid not in (
            git_processes(cli.repo, cli.repo / ".git") or []
        ):
            time.sleep(0.05)
        (held,) = about(findings(cli, "--fix"), ".git/index.lock")
        assert held["level"] == "warning" and str(holder.pid) in held["problem"]
        assert "leaves it while a git process of this repo runs" in held["advice"]
        assert lock.exists()
    finally:
        holder.kill()
        holder.wait()
    fixed = cli("doctor", "--fix", ok=False)
    assert not lock.exists(), fixed.out


def test_a_stale_ref_lock_is_found_too(cli):
    cli.declare()
    lock = cli.repo / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text("")
    age(lock, 60)
    assert about(findings(cli), ".git/refs/heads/main.lock")[0]["fixable"]
    cli("doctor", "--fix")
    assert not lock.exists()


# -- a rebase left in progress --------------------------------------------------------------


def _diverged(cli: Cli) -> str:
    """A branch `up` that has a commit main does not, and main one that `up` lacks."""
    cli.git("config", "gc.auto", "0")  # no background gc to wait for (--fix waits for it)
    inc = cli.declare()
    cli.git("checkout", "-q", "-b", "up", "HEAD~1")
    (cli.repo / "team.txt").write_text("from the team\n")
    cli.git("add", "team.txt")
    cli.git("commit", "-q", "-m", "team")
    cli.git("checkout", "-q", "main")
    return inc


def _stopped_rebase(cli: Cli, action: str | None) -> str:
    """A rebase of main onto `up` that stopped half way, as a killed one leaves it."""
    before = cli.git("rev-parse", "main").strip()
    env = dict(os.environ, GIT_SEQUENCE_EDITOR="sed -i 1ibreak")
    if action:
        env["GIT_REFLOG_ACTION"] = action
    subprocess.run(
        ["git", "rebase", "-q", "-i", "up"], cwd=cli.repo, env=env, capture_output=True, check=True
    )
    assert (cli.repo / ".git" / "rebase-merge").is_dir()
    return before


def test_a_rebase_a_killed_sync_left_is_aborted_by_fix(cli):
    from incidentctl.store.plumbing import SYNC_REFLOG_ACTION

    inc = _diverged(cli)
    before = _stopped_rebase(cli, SYNC_REFLOG_ACTION)
    (left,) = about(findings(cli), ".git/rebase-merge")
    assert left["fixable"] and "killed incidentctl sync" in left["problem"]
    fixed = cli("doctor", "--fix")
    assert "aborted the rebase of main a killed sync left" in fixed.err
    assert not (cli.repo / ".git" / "rebase-merge").exists()
    assert cli.git("symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert cli.git("rev-parse", "HEAD").strip() == before
    assert cli("show", inc, "--json").json()["id"] == inc
    assert cli("doctor").code == 0


def test_the_users_own_rebase_is_left_and_said_why(cli):
    _diverged(cli)
    _stopped_rebase(cli, None)
    result = cli("doctor", "--fix", ok=False)
    assert result.code == 1
    assert "not started by incidentctl sync" in result.out
    assert "doctor --fix leaves it, it is yours" in result.out
    assert (cli.repo / ".git" / "rebase-merge").is_dir()
    cli.git("rebase", "--abort")


def test_sync_marks_its_rebase_in_the_reflog(tmp_path):
    from incidentctl.store.plumbing import SYNC_REFLOG_ACTION

    _origin, (a, b) = team(tmp_path)
    a.declare("from a")
    a("sync")
    b.declare("from b")
    b("sync")
    starts = [s for s in b.git("reflog", "--format=%gs").splitlines() if "(start)" in s]
    assert starts and starts[0].startswith(f"{SYNC_REFLOG_ACTION} (start): ")


# -- detached HEAD ------------------------------------------------------------------------


def test_a_detached_head_is_put_back_on_its_branch(cli):
    inc = cli.declare()
    cli.git("checkout", "-q", "--detach")
    cli("note", inc, "written while detached")  # a commit no branch holds yet
    (detached,) = about(findings(cli), "HEAD")
    assert detached["fixable"] and "put back on main" in detached["problem"]
    head = cli.git("rev-parse", "HEAD").strip()
    fixed = cli("doctor", "--fix")
    assert "put HEAD back on main" in fixed.err
    assert cli.git("symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert cli.git("rev-parse", "main").strip() == head
    assert cli.git("status", "--porcelain") == ""


def test_an_older_commit_checked_out_is_left(cli):
    inc = cli.declare()
    cli("note", inc, "later")
    cli.git("checkout", "-q", "HEAD~1")
    (detached,) = about(findings(cli, "--fix"), "HEAD")
    assert not detached["fixable"] and "git checkout BRANCH" in detached["advice"]
    assert subprocess.run(["git", "symbolic-ref", "-q", "HEAD"], cwd=cli.repo).returncode != 0


# -- an index naming missing objects ------------------------------------------------------


def _lose_object(cli: Cli, rel: str, text: str) -> None:
    (cli.repo / rel).write_text(text)
    cli.git("add", rel)
    oid = cli.git("rev-parse", f":{rel}").strip()
    (cli.repo / ".git" / "objects" / oid[:2] / oid[2:]).unlink()


def test_an_index_naming_a_missing_object_is_rebuilt_when_the_work_tree_matches(cli):
    inc = cli.declare()
    _lose_object(cli, "scratch.txt", "staged, then its object lost\n")
    (broken,) = about(findings(cli), ".git/index")
    assert broken["fixable"] and "scratch.txt" in broken["problem"]
    fixed = cli("doctor", "--fix")
    assert "rebuilt the index from HEAD" in fixed.err
    assert about(findings(cli), ".git/index") == []
    assert (cli.repo / "scratch.txt").read_text() == "staged, then its object lost\n"
    assert cli.git("status", "--porcelain").strip() == "?? scratch.txt"
    cli("note", inc, "commits work again")


def test_an_index_is_not_rebuilt_over_changed_files(cli):
    cli.declare()
    config = cli.repo / "incidentctl.toml"
    _lose_object(cli, "incidentctl.toml", config.read_text() + "\n# mine\n")
    (broken,) = about(findings(cli, "--fix"), ".git/index")
    assert not broken["fixable"] and "incidentctl.toml differs" in broken["advice"]
    assert config.read_text().endswith("# mine\n")


# -- the remote ---------------------------------------------------------------------------


def test_a_remote_whose_default_branch_is_missing_is_set_by_fix(tmp_path):
    origin = bare_origin(tmp_path)
    git(origin, "symbolic-ref", "HEAD", "refs/heads/master")  # a plain `git init --bare`
    repo = tmp_path / "a"
    assert run_cli("init", str(repo)).code == 0
    cli = Cli(repo)
    cli.git("remote", "add", "origin", str(origin))
    cli.git("push", "-q", "-u", "origin", "main")
    (wrong,) = about(findings(cli), "origin")
    assert wrong["level"] == "error" and wrong["fixable"]
    assert "master, which does not exist" in wrong["problem"]
    assert "fixed: set the default branch (HEAD)" in cli("doctor", "--fix").err
    assert git(origin, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert about(findings(cli), "origin") == []
    assert run_cli("clone", str(origin), str(tmp_path / "b")).code == 0


def test_events_unpushed_for_too_long_are_reported(tmp_path):
    from incidentctl.services.setup import doctor
    from incidentctl.store.repo import IncidentRepo

    _origin, (a, _b) = team(tmp_path)
    a.declare("not pushed")
    repo = IncidentRepo(a.repo)
    assert [f for f in doctor(repo, fix=False).findings if "not pushed" in f.problem] == []
    later = doctor(repo, fix=False, now=time.time() + 16 * 60)
    (late,) = [f for f in later.findings if "not pushed" in f.problem]
    assert late.path == "main" and "1 commit of events not pushed to origin" in late.problem
    assert "incidentctl sync" in late.advice
    a("sync")
    assert not [
        f for f in doctor(repo, fix=False, now=time.time() + 3600).findings if "pushed" in f.problem
    ]


def test_the_unpushed_threshold_is_configurable(tmp_path):
    from teamrepos import edit_config

    _origin, (a, _b) = team(tmp_path)
    edit_config(a.repo, "[sync]", '[doctor]\nunpushed_after = "1s"\n\n[sync]')
    a("sync")
    a.declare("waits")
    time.sleep(1.2)
    result = a("doctor")  # a warning: exit 0
    assert "not pushed to origin" in result.out and "unpushed_after" in result.out


def test_doctor_reports_nothing_on_a_healthy_team_clone(tmp_path):
    _origin, (a, b) = team(tmp_path)
    a.declare("x")
    a("sync")
    b("sync")
    for cli in (a, b):
        report = cli("doctor", "--json").json()
        assert report["ok"] and report["findings"] == [], report


def test_a_held_repo_lock_is_waited_for_out_loud_and_named_by_doctor(cli):
    import sys

    inc = cli.declare()
    lock = cli.repo / ".git" / "incidentctl.lock"
    # another process holds it, as another incidentctl command would
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
            "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        result = cli("note", inc, "waits", ok=False, env={"INCIDENTCTL_LOCK_TIMEOUT": "1.5"})
        assert result.code == 1
        pid = f"pid {holder.pid}"
        assert f"waiting for the repo lock (held by another incidentctl process, {pid})" in (
            result.err
        )
        assert f"another incidentctl process ({pid}) has held" in result.err
        (held,) = about(findings(cli), ".git/incidentctl.lock")  # no wait past 3 s
        assert held["level"] == "warning" and pid in held["problem"]
    finally:
        holder.kill()
        holder.wait()
