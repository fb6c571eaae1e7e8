"""The state of a clone's git plumbing, for `doctor`: a rebase left in progress, a
detached HEAD, an index naming objects the repo does not have, the remote's default
branch, commits not pushed. Facts only; services/setup.py decides what they mean."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from incidentctl.store.git import Git

# sync's rebase says so in the reflog ("incidentctl sync (start): checkout ..."), so a
# rebase a killed sync left is told from one the user started
SYNC_REFLOG_ACTION = "incidentctl sync"


@dataclass(frozen=True)
class Rebase:
    folder: str  # rebase-merge or rebase-apply
    branch: str  # the branch being rebased ("" if unknown)
    ours: bool  # started by incidentctl sync


def rebase_in_progress(git: Git, git_dir: Path) -> Rebase | None:
    for folder in ("rebase-merge", "rebase-apply"):
        state = git_dir / folder
        if state.is_dir():
            try:
                branch = (state / "head-name").read_text().strip().removeprefix("refs/heads/")
            except OSError:
                branch = ""
            return Rebase(folder, branch, _started_by_sync(git))
    return None


def _started_by_sync(git: Git) -> bool:
    """Was the last rebase that started in this repo started by incidentctl sync?"""
    out = git.run_quiet("reflog", "-n", "200", "--format=%gs", "HEAD")
    for line in out.splitlines():
        if " (start): " in line:
            return line.startswith(f"{SYNC_REFLOG_ACTION} (start): ")
    return False


def current_branch(git: Git) -> str | None:
    return git.run_quiet("symbolic-ref", "-q", "--short", "HEAD").strip() or None


@dataclass(frozen=True)
class Detached:
    head: str
    # a local branch HEAD can be put back on without changing a file: its tip is HEAD,
    # or behind HEAD on the same line (the commits made while detached move it on)
    branch: str | None
    why_not: str  # when `branch` is None: why none is safe


def detached_head(git: Git) -> Detached | None:
    if current_branch(git) is not None:
        return None
    head = git.run_quiet("rev-parse", "-q", "--verify", "HEAD").strip()
    if not head:
        return None  # unborn
    tips: dict[str, str] = {}
    for line in git.run_quiet(
        "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/"
    ).splitlines():
        name, _, oid = line.partition(" ")
        tips[name] = oid
    if not tips:
        return Detached(head, None, "no local branch to put it back on")
    candidates = [
        name
        for name, oid in tips.items()
        if oid == head or git.call("merge-base", "--is-ancestor", oid, head).ok
    ]
    if len(candidates) > 1:
        upstream = [n for n in candidates if git.run_quiet("config", f"branch.{n}.remote")]
        candidates = upstream if len(upstream) == 1 else candidates
    if len(candidates) == 1:
        return Detached(head, candidates[0], "")
    if not candidates:
        return Detached(
            head,
            None,
            "HEAD is not on the line of any local branch (an older commit checked out, "
            "or commits no branch holds); check out your branch with git checkout BRANCH",
        )
    return Detached(
        head, None, f"more than one branch could hold it ({', '.join(sorted(candidates))})"
    )


def reattach(git: Git, found: Detached) -> None:
    """Put HEAD back on `found.branch`, moving the branch forward to HEAD if it is behind.
    No file changes: HEAD stays at the same commit."""
    assert found.branch is not None
    ref = f"refs/heads/{found.branch}"
    old = git.run("rev-parse", ref).strip()
    if old != found.head:
        git.run("update-ref", "-m", "incidentctl doctor: reattach HEAD", ref, found.head, old)
    git.run("symbolic-ref", "-m", "incidentctl doctor: reattach HEAD", "HEAD", ref)


def missing_index_objects(git: Git) -> list[str]:
    """The paths whose index entry names an object the repo does not have."""
    done = git.call("ls-files", "-s", "-z")
    if not done.ok:
        return []
    by_oid: dict[str, list[str]] = {}
    for item in done.out.split("\0"):
        meta, _, path = item.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[0] != "160000":  # a submodule's commit is elsewhere
            by_oid.setdefault(parts[1], []).append(path)
    if not by_oid:
        return []
    checked = git.call(
        "cat-file", "--batch-check=%(objectname) %(objecttype)", input="\n".join(by_oid).encode()
    ).out
    missing = []
    for line in checked.splitlines():
        oid, _, kind = line.partition(" ")
        if kind == "missing":
            missing.extend(by_oid.get(oid, []))
    return sorted(missing)


def rebuild_index(git: Git, git_dir: Path) -> list[str]:
    """Replace the index by one built from HEAD, if the work tree's tracked files match
    HEAD (then nothing staged or changed is lost). Returns the files that differ (the
    index is left alone then)."""
    tmp = git_dir / "index.incidentctl-rebuild"
    tmp.unlink(missing_ok=True)
    env = {"GIT_INDEX_FILE": str(tmp)}
    try:
        if not git.call("read-tree", "HEAD", env=env).ok:
            return ["HEAD (its tree cannot be read)"]
        git.call("update-index", "-q", "--refresh", env=env)
        differ = git.call("diff-files", "--name-only", env=env)
        if not differ.ok:
            return ["the work tree (it cannot be compared with HEAD)"]
        if differ.out.strip():
            return differ.out.splitlines()
        os.replace(tmp, git_dir / "index")
        return []
    finally:
        tmp.unlink(missing_ok=True)


def unpushed(git: Git, tracking: str) -> list[tuple[str, int]]:
    """(commit, commit time) of the commits on HEAD that touch incidents/ and that
    `tracking` does not have, oldest first."""
    out = git.run_quiet(
        "log", "--reverse", "--format=%H %ct", f"{tracking}..HEAD", "--", "incidents/"
    )
    found = []
    for line in out.splitlines():
        oid, _, when = line.partition(" ")
        if when.isdigit():
            found.append((oid, int(when)))
    return found
