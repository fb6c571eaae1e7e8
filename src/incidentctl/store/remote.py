"""Talking to the team's git remote: ls-remote, clone, fetch, rebase, push.

Everything goes through the git command line (GitPython's `execute`), so the user's
credentials helpers, SSH config, hooks and signing apply. Nothing here force-pushes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incidentctl.errors import GitError, IncidentctlError

if TYPE_CHECKING:
    from incidentctl.store.git import Git


class RemoteError(IncidentctlError):
    """The remote could not be used: unreachable, refused the push, or diverged."""


class Unreachable(RemoteError):
    """Offline, or the remote is missing: said in one line, no hint."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class PushRaced(RemoteError):
    """Someone pushed between our fetch and our push (non-fast-forward): fetch again."""


def _stderr(exc: Exception) -> str:
    text = str(getattr(exc, "stderr", "") or exc)
    lines = [
        line.strip().removeprefix("stderr:").strip().strip("'").strip()
        for line in text.splitlines()
    ]
    return "\n".join(line for line in lines if line)


def last_line(text: str) -> str:
    """The line of git's message that says what went wrong (fatal: ..., error: ...)."""
    lines = [line for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith(("fatal:", "error:")):
            return line.removeprefix("fatal:").removeprefix("error:").strip()
    return lines[-1] if lines else "no answer"


def redact(url: str) -> str:
    """https://user:token@host/x -> https://***@host/x"""
    return re.sub(r"^([a-z][a-z0-9+.-]*://)[^/@]+@", r"\1***@", url)


def _network_env(prompt: bool) -> dict[str, str]:
    # no credential prompt that nobody will answer (auto-sync runs unattended)
    return {} if prompt else {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}


def _execute(git: Git | None, args: list[str], timeout: float, prompt: bool, **kw: Any) -> str:
    import git as gitpython

    runner = git.cmd if git is not None else gitpython.Git(os.getcwd())
    return runner.execute(
        ["git", *args], kill_after_timeout=timeout, env=_network_env(prompt), **kw
    )


def remote_heads(url: str, timeout: float, prompt: bool = True) -> tuple[dict[str, str], str]:
    """({branch: commit}, default branch or "") of the repo at `url`. Raises Unreachable."""
    import git as gitpython

    try:
        out = _execute(
            None, ["ls-remote", "--symref", url, "HEAD", "refs/heads/*"], timeout, prompt
        )
    except gitpython.GitCommandError as exc:
        raise Unreachable(f"cannot reach {url}: {last_line(_stderr(exc))}") from None
    heads: dict[str, str] = {}
    default = ""
    for line in str(out).splitlines():
        left, _, ref = line.partition("\t")
        if left.startswith("ref: ") and ref == "HEAD":
            default = left.removeprefix("ref: ").removeprefix("refs/heads/")
        elif ref.startswith("refs/heads/"):
            heads[ref.removeprefix("refs/heads/")] = left
    return heads, default


def clone(url: str, path: Path, origin: str, timeout: float, prompt: bool = True) -> None:
    import git as gitpython

    try:
        _execute(None, ["clone", "--origin", origin, "--", url, str(path)], timeout, prompt)
    except gitpython.GitCommandError as exc:
        raise Unreachable(f"cannot clone {url}: {last_line(_stderr(exc))}") from None


@dataclass
class Remote:
    """One named remote of one clone, and the branch synced with it."""

    git: Git
    name: str
    timeout: float
    prompt: bool = True

    def url(self) -> str | None:
        out = self.git.cmd.execute(["git", "remote", "get-url", self.name], with_exceptions=False)
        return str(out).strip() or None

    def shown_url(self) -> str:
        """The URL for messages, without any password or token in it."""
        return redact(self.url() or "no URL")

    def branch(self) -> str:
        out = self.git.cmd.execute(
            ["git", "symbolic-ref", "-q", "--short", "HEAD"], with_exceptions=False
        )
        name = str(out).strip()
        if not name:
            raise GitError(
                "HEAD is detached: sync needs a branch",
                hint="check out your branch first, e.g.: git checkout main",
            )
        return name

    def tracking_ref(self, branch: str) -> str:
        return f"refs/remotes/{self.name}/{branch}"

    def resolve(self, ref: str) -> str | None:
        out = self.git.cmd.execute(
            ["git", "rev-parse", "-q", "--verify", f"{ref}^{{commit}}"], with_exceptions=False
        )
        return str(out).strip() or None

    def fetch_branch(self, branch: str) -> bool:
        """Fetch `branch` into its remote-tracking ref. False if the remote has no such
        branch. The refspec has no `+`, so a rewritten (force-pushed) remote branch is
        refused, every time, instead of silently replacing what this clone saw."""
        import git as gitpython

        refspec = f"refs/heads/{branch}:{self.tracking_ref(branch)}"
        try:
            _execute(
                self.git, ["fetch", "--no-tags", self.name, refspec], self.timeout, self.prompt
            )
        except gitpython.GitCommandError as exc:
            err = _stderr(exc)
            if "couldn't find remote ref" in err:
                return False
            if "[rejected]" in err or "non-fast-forward" in err:
                seen = self.resolve(self.tracking_ref(branch)) or ""
                raise RemoteError(
                    f"{self.name}/{branch} was rewritten (force-pushed): it no longer contains "
                    f"{seen[:12]}, which this clone fetched before; nothing changed here",
                    hint="someone replaced the team's history; this clone still has the "
                    "original. Check the remote with incidentctl verify on a fresh clone",
                ) from None
            raise Unreachable(
                f"cannot reach {self.name} ({self.shown_url()}): {last_line(err)}"
            ) from None
        return True

    def count(self, revision_range: str) -> int:
        return int(self.git.run("rev-list", "--count", revision_range).strip() or 0)

    def has_common_history(self, ref: str) -> bool:
        out = self.git.cmd.execute(
            ["git", "merge-base", "HEAD", ref], with_exceptions=False, with_extended_output=True
        )
        return out[0] == 0

    def rebase_onto(self, ref: str) -> None:
        """Replay local commits onto `ref`. On a conflict, abort and raise: nothing changes."""
        import git as gitpython

        git_dir = Path(self.git.run("rev-parse", "--absolute-git-dir").strip())
        if any(
            (git_dir / name).exists() for name in ("rebase-merge", "rebase-apply", "MERGE_HEAD")
        ):
            raise RemoteError(
                "a rebase or merge is in progress in this repo; sync leaves it alone",
                hint="finish it, or abandon it with: git rebase --abort (or git merge --abort)",
            )
        stashes = len(
            str(self.git.cmd.execute(["git", "stash", "list"], with_exceptions=False)).splitlines()
        )
        try:
            self.git.cmd.execute(["git", "rebase", "--quiet", "--autostash", ref])
        except gitpython.GitCommandError as exc:
            conflicted = self.git.cmd.execute(
                ["git", "diff", "--name-only", "--diff-filter=U"], with_exceptions=False
            )
            self.git.cmd.execute(["git", "rebase", "--abort"], with_exceptions=False)
            files = ", ".join(str(conflicted).split()) or last_line(_stderr(exc))
            raise RemoteError(
                f"rebasing your commits onto {ref.removeprefix('refs/remotes/')} conflicted "
                f"({files}); the rebase was aborted and your commits are as they were",
                hint="one file per event never conflicts, so a committed file was changed "
                "on one side: run incidentctl verify, here and on a fresh clone",
            ) from None
        after = len(
            str(self.git.cmd.execute(["git", "stash", "list"], with_exceptions=False)).splitlines()
        )
        if after > stashes:
            # git could not put the user's uncommitted changes back: never lose them quietly
            raise RemoteError(
                "your uncommitted changes (outside the events) conflict with what sync brought in; "
                "they are kept in git stash@{0}",
                hint="get them back with: git stash pop (and resolve the conflict)",
            )

    def push(self, commit: str, branch: str, set_upstream: bool) -> None:
        import git as gitpython

        args = ["push", "--porcelain", self.name, f"{commit}:refs/heads/{branch}"]
        try:
            _execute(self.git, args, self.timeout, self.prompt)
        except gitpython.GitCommandError as exc:
            text = f"{exc.stdout or ''}\n{_stderr(exc)}"
            if "[rejected]" in text or "(fetch first)" in text or "non-fast-forward" in text:
                raise PushRaced(f"push to {self.name}/{branch} was rejected") from None
            if "[remote rejected]" in text or "hook declined" in text:
                said = [
                    line.removeprefix("remote:").strip()
                    for line in _stderr(exc).splitlines()
                    if line.startswith("remote:") and line.removeprefix("remote:").strip()
                ]
                raise RemoteError(
                    f"{self.name} refused the push" + (f": {'; '.join(said)}" if said else ""),
                    hint="the remote's hook checks the history; see its message above, "
                    "and run: incidentctl verify",
                ) from None
            raise Unreachable(
                f"cannot push to {self.name} ({self.shown_url()}): {last_line(_stderr(exc))}"
            ) from None
        if set_upstream:
            self.git.cmd.execute(
                ["git", "branch", f"--set-upstream-to={self.name}/{branch}", branch],
                with_exceptions=False,
            )
