"""A read-only repo (a mounted backup, an auditor's copy): reads and `doctor` work, with
no warning; writes and `doctor --fix` refuse in one line.

Three ways to make the repo read-only, so the tests mean something as root too (root
ignores file modes): a read-only bind mount in a private mount namespace (root, or a
user namespace), file modes (not root), and EROFS injected at every write the process
makes into the repo (in this process, anyone).
"""

from __future__ import annotations

import errno
import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, Cli, Result

UNSHARE = shutil.which("unshare")


@functools.cache
def _can_mount_read_only() -> list[str] | None:
    """The unshare arguments that give a private mount namespace where a read-only bind
    mount works, or None."""
    if UNSHARE is None:
        return None
    probe = Path(os.environ.get("TMPDIR", "/tmp")) / f"incidentctl-ro-probe-{os.getpid()}"
    probe.mkdir(exist_ok=True)
    try:
        for args in (["-m"], ["-r", "-m"]):
            cmd = [UNSHARE, *args, "--propagation", "private", "sh", "-c",
                   'mount --bind -o ro "$1" "$1" && ! touch "$1/x" 2>/dev/null', "sh", str(probe)]  # fmt: skip
            done = subprocess.run(cmd, capture_output=True, check=False)
            if done.returncode == 0 and not (probe / "x").exists():
                return args
        return None
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def run_read_only_mount(repo: Path, *args: str) -> Result:
    """`incidentctl --repo REPO ARGS` in a child process that sees REPO read-only."""
    unshare = _can_mount_read_only()
    assert unshare is not None
    script = 'mount --bind -o ro "$1" "$1" && shift && exec "$@"'
    cmd = [UNSHARE, *unshare, "--propagation", "private", "sh", "-c", script, "sh", str(repo)]
    done = subprocess.run(
        [*cmd, str(BIN), "--repo", str(repo), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def _team_repo(tmp_path: Path) -> tuple[Cli, str]:
    from conftest import run_cli

    cli = Cli(tmp_path / "repo")
    assert run_cli("init", str(cli.repo)).code == 0
    inc = cli.declare("backup copy")
    cli("note", inc, "a note")
    return cli, inc


def _assert_reads_work(run, inc: str) -> None:
    for args in (["list", "--all", "--json"], ["show", inc, "--json"], ["log", inc]):
        result = run(*args)
        assert result.code == 0, (args, result.err)
        assert "warning" not in result.err and "Traceback" not in result.err, (args, result.err)
    shown = run("show", inc, "--json")
    assert [e["type"] for e in shown.json()["timeline"]] == ["declared", "note_added"]
    checked = run("doctor", "--json")
    assert checked.code == 0, checked.err
    report = checked.json()
    assert report["ok"] is True and report["read_only"] is True and report["events"] == 2
    assert "warning" not in checked.err and "Traceback" not in checked.err


def _assert_writes_refuse(run, inc: str) -> None:
    for args in (["note", inc, "cannot land"], ["doctor", "--fix"]):
        result = run(*args)
        assert result.code == 1, (args, result.err)
        lines = [line for line in result.err.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and "Traceback" not in result.err, (args, result.err)


def test_a_read_only_mount_is_read_and_checked(tmp_path):
    if _can_mount_read_only() is None:
        pytest.skip("no private mount namespace here (needs root or user namespaces)")
    cli, inc = _team_repo(tmp_path)
    before = cli.git("rev-parse", "HEAD")

    def run(*args: str) -> Result:
        return run_read_only_mount(cli.repo, *args)

    _assert_reads_work(run, inc)
    _assert_writes_refuse(run, inc)
    assert cli.git("rev-parse", "HEAD") == before
    assert cli.git("status", "--porcelain") == ""


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes whatever the file modes say")
def test_a_copy_without_write_permission_is_read_and_checked(tmp_path):
    cli, inc = _team_repo(tmp_path)
    subprocess.run(["chmod", "-R", "a-w", str(cli.repo)], check=True)
    try:
        _assert_reads_work(run_ok_false(cli), inc)
        _assert_writes_refuse(run_ok_false(cli), inc)
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(cli.repo)], check=True)


def test_eros_at_every_write_into_the_repo(tmp_path, monkeypatch):
    """In this process: every open for writing, mkdir or rename inside the repo fails
    with EROFS, as on a read-only mount, whoever runs the test."""
    cli, inc = _team_repo(tmp_path)
    root = str(cli.repo)
    inside = lambda path: os.path.abspath(os.fsdecode(path)).startswith(root)  # noqa: E731
    real_open, real_mkdir, real_replace = os.open, os.mkdir, os.replace
    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def refuse(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))

    def open_(path, flags, *args, **kwargs):
        if flags & writes and inside(path):
            refuse(path)
        return real_open(path, flags, *args, **kwargs)

    def mkdir(path, *args, **kwargs):
        if inside(path):
            refuse(path)
        return real_mkdir(path, *args, **kwargs)

    def replace(src, dst, *args, **kwargs):
        if inside(dst):
            refuse(dst)
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "replace", replace)
    run = Cli(cli.repo, process=False)
    _assert_reads_work(run_ok_false(run), inc)
    assert not (cli.repo / ".git" / "incidentctl" / "cache").exists()


def run_ok_false(cli: Cli):
    return lambda *args: cli(*args, ok=False)
