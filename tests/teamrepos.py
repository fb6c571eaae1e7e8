"""Helpers for tests with a bare "origin" and several clones of one team repo."""

from __future__ import annotations

import stat
import subprocess
import tomllib
from pathlib import Path

from conftest import BIN, Cli, git, run_cli
from gitserver import GitServer

DAY = "2026-02-12"
NOW = f"{DAY}T10:00:00Z"


def at(minute: int) -> dict[str, str]:
    """An env pinning "now" to 10:MM on the test day, so every clone numbers the same day."""
    return {"INCIDENTCTL_NOW": f"{DAY}T10:{minute:02d}:00Z"}


def human_id(seq: int) -> str:
    return f"INC-{DAY}-{seq:03d}"


def bare_origin(tmp_path: Path, name: str = "origin.git") -> Path:
    path = tmp_path / name
    subprocess.run(
        ["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True, capture_output=True
    )
    return path


def team(
    tmp_path: Path, names: tuple[str, ...] = ("a", "b"), server: GitServer | None = None
) -> tuple[Path, list[Cli]]:
    """A bare origin published by the first clone (`init --remote`), joined by the others
    (`clone`). The origin is a path on disk, or with `server` a repo on that git server
    reached over git:// (the bare repo's path on disk is returned either way; the clones'
    `git remote get-url origin` says how they reach it)."""
    if server is None:
        origin = bare_origin(tmp_path)
        url = str(origin)
    else:
        hosted = server.new_repo()
        origin, url = hosted.path, hosted.url
    first = tmp_path / names[0]
    result = run_cli("init", str(first), "--remote", url)
    assert result.code == 0, result.err
    clis = [Cli(first)]
    for name in names[1:]:
        result = run_cli("clone", url, str(tmp_path / name))
        assert result.code == 0, result.err
        clis.append(Cli(tmp_path / name))
    return origin, clis


def event_files(repo: Path) -> set[str]:
    """Committed event files at HEAD."""
    out = git(repo, "ls-files", "incidents")
    return {line for line in out.splitlines() if "/events/" in line}


def event_ids(repo: Path) -> set[str]:
    return {Path(p).stem.rsplit("-", 1)[-1] for p in event_files(repo)}


def read_event(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def edit_config(repo: Path, old: str, new: str, *, commit: bool = True) -> None:
    """Replace text in the repo's incidentctl.toml (and commit it, a team-wide change)."""
    config = repo / "incidentctl.toml"
    text = config.read_text(encoding="utf-8")
    assert old in text, old
    config.write_text(text.replace(old, new), encoding="utf-8")
    if commit:
        git(repo, "commit", "-q", "-m", "config", "--", "incidentctl.toml")


def install_verify_hook(origin: Path) -> None:
    """docs/verify.md's pre-receive hook: refuse any push whose new commits break the
    append-only rule."""
    hook = origin / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        "zero=0000000000000000000000000000000000000000\n"
        "while read old new ref; do\n"
        '  [ "$new" = "$zero" ] && continue\n'
        '  if [ "$old" = "$zero" ]; then range="$new"; else range="$old..$new"; fi\n'
        f'  "{BIN}" --repo . verify "$range" || exit 1\n'
        "done\n"
    )
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
