"""sync under faults: a clone killed mid-sync, a full disk, a remote that rewrote its
history, the server going away mid-push. Each is safe: nothing recorded is lost, no
event is duplicated, and the next `sync` completes or explains itself in one line.

A sync is paused at a chosen git command, with no hook in the product: a `git` script
earlier on PATH marks that it was reached and sleeps before running the real git, so
the test can SIGKILL the whole sync (incidentctl and its git) exactly there.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from conftest import BIN, Cli, Result, run_cli
from teamrepos import at, event_files, event_ids, human_id, read_event, team

REAL_GIT = shutil.which("git")


def _pausing_git(tmp_path: Path) -> Path:
    """A folder whose `git` runs the real one, except that with $PAUSE_ON set to a git
    command (rebase, push) it first touches $PAUSE_MARK and sleeps: a sync held there."""
    folder = tmp_path / "pausing-bin"
    folder.mkdir(exist_ok=True)
    script = folder / "git"
    script.write_text(
        textwrap.dedent(
            f"""\
            #!/bin/sh
            if [ -n "$PAUSE_ON" ] && [ "$1" = "$PAUSE_ON" ]; then
                : > "$PAUSE_MARK"
                sleep 60
            fi
            exec "{REAL_GIT}" "$@"
            """
        )
    )
    script.chmod(0o755)
    return folder


def _one_line(result: Result) -> str:
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.err, result.err
    return errors[0]


def _assert_safe(clones: list[Cli], recorded: set[str]) -> None:
    """Every clone ends with the same history holding every recorded event once, and
    human IDs that are unique; verify and git fsck pass."""
    heads = {c.git("rev-parse", "HEAD") for c in clones}
    assert len(heads) == 1
    for clone in clones:
        files = event_files(clone.repo)
        ids = [Path(p).stem.rsplit("-", 1)[-1] for p in files]
        assert len(ids) == len(set(ids)), "an event is duplicated"
        assert recorded <= set(ids), f"lost: {recorded - set(ids)}"
        listed = clone("list", "--all", "--json").json()
        assert len({i["id"] for i in listed}) == len(listed)
        clone("verify")
        fsck = subprocess.run(["git", "fsck"], cwd=clone.repo, capture_output=True, text=True)
        assert fsck.returncode == 0, fsck.stderr
        assert clone("doctor").code == 0


def _diverged_team(tmp_path: Path) -> tuple[Path, Cli, Cli, set[str]]:
    """a and b each declared an incident of the same day (b's number collides) and
    noted on it; a's are pushed, b's not."""
    origin, (a, b) = team(tmp_path)
    a.declare("from a", env=at(1))
    a("note", human_id(1), "a's note", env=at(2))
    a("sync")
    b.declare("from b", env=at(3))
    b("note", human_id(1), "b's note", env=at(4))
    return origin, a, b, event_ids(a.repo) | event_ids(b.repo)


def _killed_at(tmp_path: Path, clone: Cli, command: str) -> None:
    """Run `sync` in `clone` and SIGKILL it, with its git, when it reaches `git COMMAND`."""
    mark = tmp_path / f"reached-{command}"
    mark.unlink(missing_ok=True)
    env = dict(
        os.environ,
        PATH=f"{_pausing_git(tmp_path)}{os.pathsep}{os.environ['PATH']}",
        PAUSE_ON=command,
        PAUSE_MARK=str(mark),
        **at(5),
    )
    proc = subprocess.Popen(
        [str(BIN), "--repo", str(clone.repo), "sync"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not mark.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "sync never reached git " + command
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize("command", ["rebase", "push"])
def test_a_sync_killed_before_its_rebase_or_its_push_loses_nothing(tmp_path, command):
    _origin, a, b, recorded = _diverged_team(tmp_path)
    _killed_at(tmp_path, b, command)
    if command == "push":  # it had rebased and renumbered: that stays, unpushed
        assert b("show", human_id(2), "--json").json()["title"] == "from b"
    # the next sync completes: no false error, one renumbering
    synced = b("sync", "--json", env=at(6))
    assert "error" not in synced.err
    a("sync")
    _assert_safe([a, b], recorded)
    renumbered = [p for p in event_files(b.repo) if read_event(b.repo / p)["type"] == "renumbered"]
    assert len(renumbered) == 1
    titles = {i["id"]: i["title"] for i in a("list", "--all", "--json").json()}
    assert titles == {human_id(1): "from a", human_id(2): "from b"}


def test_a_sync_killed_in_the_middle_of_its_rebase_is_explained_then_repaired(tmp_path):
    """git itself killed half way through the rebase (its state left in .git/rebase-merge):
    sync says so in one line, and doctor --fix aborts it, as the sync's own."""
    _origin, a, b, recorded = _diverged_team(tmp_path)
    stop = tmp_path / "stop-rebase-bin"
    stop.mkdir()
    # the rebase runs, but stops after replaying nothing, as if killed there
    (stop / "git").write_text(
        textwrap.dedent(
            f"""\
            #!/bin/sh
            if [ "$1" = "rebase" ] && [ "$2" != "--abort" ]; then
                shift
                GIT_SEQUENCE_EDITOR="sed -i 1ibreak" exec "{REAL_GIT}" rebase -i "$@"
            fi
            exec "{REAL_GIT}" "$@"
            """
        )
    )
    (stop / "git").chmod(0o755)
    env = {"PATH": f"{stop}{os.pathsep}{os.environ['PATH']}"}
    b("sync", ok=False, env=env)  # the sync's rebase "dies" half way (left in progress)
    assert (b.repo / ".git" / "rebase-merge").is_dir()
    explained = b("sync", ok=False)
    assert explained.code == 1 and "a rebase or merge is in progress" in _one_line(explained)
    fixed = b("doctor", "--fix", ok=False)
    assert fixed.code == 0, fixed.out
    assert "aborted the rebase of main a killed sync left" in fixed.err
    assert "error" not in b("sync").err
    a("sync")
    _assert_safe([a, b], recorded)


def test_a_remote_that_rewrote_its_history_is_refused_in_one_line_and_nothing_is_lost(
    tmp_path,
):
    origin, a, b, recorded = _diverged_team(tmp_path)
    b("sync")  # b has seen a's events
    mine = b.declare("b's unpushed", env=at(7))
    # someone force-pushes an older history over the team's
    first = a.git("rev-list", "--max-parents=0", "HEAD").strip()
    subprocess.run(
        ["git", "push", "-q", "--force", str(origin), f"{first}:refs/heads/main"],
        cwd=a.repo,
        check=True,
        capture_output=True,
    )
    before = b.git("rev-parse", "HEAD")
    for _ in range(2):  # every time, the same one line, and nothing changes here
        refused = b("sync", ok=False)
        assert refused.code == 1 and "rewritten (force-pushed)" in _one_line(refused)
        assert b.git("rev-parse", "HEAD") == before
    assert b("show", mine, "--json").json()["title"] == "b's unpushed"
    assert recorded <= event_ids(b.repo)


def _tmpfs_namespace() -> bool:
    """Can this test mount a small tmpfs in a private mount namespace (root, or user
    namespaces)? The mount is never seen outside the namespace."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    done = subprocess.run(
        [
            unshare,
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            'd=$(mktemp -d) || exit 1; mount -t tmpfs -o size=1m tmpfs "$d"; rc=$?; '
            'umount "$d" 2>/dev/null; rmdir "$d"; exit $rc',
        ],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def test_a_full_disk_on_the_clone_loses_nothing(tmp_path):
    """The clone lives on a 6 MB tmpfs that is filled to the last byte: an event command
    and a sync fail in one line, nothing half-written is left, and once space is freed
    the next sync completes."""
    if not _tmpfs_namespace():
        pytest.skip("cannot mount a tmpfs in a private mount namespace here")
    _origin, a, b, recorded = _diverged_team(tmp_path)
    a("note", human_id(1), "more from a", env=at(8))  # so b's sync has objects to fetch
    a("sync")
    recorded |= event_ids(a.repo)
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    clone = disk / "b"
    script = textwrap.dedent(
        f"""\
        set -u
        mount -t tmpfs -o size=6m tmpfs "{disk}" || exit 90
        cp -a "{b.repo}" "{clone}"
        dd if=/dev/zero of="{disk}/fill" bs=4k 2>/dev/null
        run() {{ name=$1; shift
                 "{BIN}" --repo "{clone}" "$@" > "{out}/$name.out" 2> "{out}/$name.err"
                 echo $? > "{out}/$name.rc"; }}
        run note note {human_id(1)} "on a full disk"
        run sync sync
        rm "{disk}/fill"
        run again sync
        cp -a "{clone}" "{out}/b"
        """
    )
    env = dict(os.environ, **at(9))
    done = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    def result(name: str) -> Result:
        read = lambda ext: (out / f"{name}.{ext}").read_text()  # noqa: E731
        return Result(int(read("rc")), read("out"), read("err"))

    note, sync, again = result("note"), result("sync"), result("again")
    assert note.code == 1 and "space" in _one_line(note).lower()
    assert sync.code == 1 and "space" in _one_line(sync).lower()
    assert again.code == 0 and "error" not in again.err, again.err
    after = Cli(out / "b")
    assert after("doctor").code == 0
    assert after.git("status", "--porcelain") == ""
    a("sync")
    _assert_safe([a, after], recorded)


@pytest.mark.parametrize("hook", ["pre-receive", "post-receive"])
def test_the_server_going_away_mid_push_loses_nothing(tmp_path, hook):
    """A real git server (git daemon) killed while it takes the push: before it updated
    the branch (pre-receive), or after (post-receive). Before, the sync explains itself
    in one line; after, the push landed and the sync says so, not that it failed. Once
    the server is back, the next sync completes."""
    from gitserver import GitDaemon

    daemon = GitDaemon(tmp_path / "served")
    server = daemon.start()
    try:
        hosted = server.new_repo()
        a, b = Cli(tmp_path / "a"), Cli(tmp_path / "b")
        assert run_cli("init", str(a.repo), "--remote", hosted.url).code == 0
        assert run_cli("clone", hosted.url, str(b.repo)).code == 0
        a.declare("from a", env=at(1))
        a("sync")
        b.declare("from b", env=at(2))
        b("note", human_id(1), "b's note", env=at(3))
        recorded = event_ids(a.repo) | event_ids(b.repo)
        mark = tmp_path / "in-the-hook"
        script = hosted.path / "hooks" / hook
        script.write_text(f'#!/bin/sh\ncat > /dev/null\necho "$$ $PPID" > "{mark}"\nsleep 60\n')
        script.chmod(0o755)
        proc = subprocess.Popen(
            [str(BIN), "--repo", str(b.repo), "sync"],
            env=dict(os.environ, **at(4)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not (mark.exists() and mark.read_text().strip()):
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the push never reached the server's hook"
            time.sleep(0.02)
        # the server goes away: the daemon, the receive-pack and its hook, all at once
        daemon.stop()
        for pid in mark.read_text().split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        _out, err = proc.communicate(timeout=60)
        failed = Result(proc.returncode, "", err)
        if hook == "pre-receive":  # the branch was not updated: said, in one line
            assert failed.code == 1 and "your events stay committed here" in _one_line(failed)
        else:  # the server took the branch before it went away: the push landed
            assert failed.code == 0 and "error" not in failed.err, failed.err
        assert recorded <= event_ids(b.repo)
        script.unlink()
        daemon.start()  # back, on the same port
        again = b("sync", env=at(5))
        assert "error" not in again.err
        a("sync")
        _assert_safe([a, b], recorded)
    finally:
        daemon.stop()
