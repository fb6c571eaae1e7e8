"""Talking to the team's git remote: ls-remote, clone, fetch, rebase, push.

Everything goes through the git command line (store/git.py's runner), so the user's
credentials helpers, SSH config, hooks and signing apply. Nothing here force-pushes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from incidentctl.errors import GitError, IncidentctlError
from incidentctl.store.git import Finished, Git


class RemoteError(IncidentctlError):
    """The remote could not be used: unreachable, refused the push, or diverged."""


class Unreachable(RemoteError):
    """Offline, or the remote is missing: said in one line, no hint."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class PushRaced(RemoteError):
    """Someone pushed between our fetch and our push (non-fast-forward): fetch again."""


def _said(done: Finished, args: list[str]) -> str:
    """What git said on stderr, its blank lines dropped; or that it ran out of time."""
    if done.timed_out:
        command = "git " + " ".join(redact(a) for a in args)
        return f'Timeout: the command "{command}" did not complete in {done.timeout:g} secs.'
    return "\n".join(line.strip() for line in done.err.splitlines() if line.strip())


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


_DISK_FULL = ("no space left on device", "disk quota exceeded", "file too large")


def disk_full(said: str, where: str) -> RemoteError | None:
    """The error for a git that failed because this clone's disk is full (not the
    network's fault, whatever else git said after it), or None."""
    for line in said.splitlines():
        if any(needle in line.lower() for needle in _DISK_FULL):
            for prefix in ("fatal:", "error:"):
                line = line.removeprefix(prefix).strip()
            return RemoteError(
                f"the disk of this clone is full ({line}); nothing from {where} was taken, "
                "and your events stay committed here",
                hint="free some space, then run incidentctl sync again",
            )
    return None


def _network_env(prompt: bool) -> dict[str, str]:
    # no credential prompt that nobody will answer (auto-sync runs unattended)
    return {} if prompt else {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}


def _network(git: Git | None, args: list[str], timeout: float | None, prompt: bool) -> Finished:
    """A git that talks to a remote: within `timeout`, and with no credential prompt when
    `prompt` is off. With no clone to run in (ls-remote, clone), it runs in the current
    folder."""
    runner = git if git is not None else Git(Path.cwd())
    return runner.call(*args, env=_network_env(prompt), timeout=timeout)


def remote_heads(url: str, timeout: float, prompt: bool = True) -> tuple[dict[str, str], str]:
    """({branch: commit}, default branch or "") of the repo at `url`. Raises Unreachable."""
    args = ["ls-remote", "--symref", url, "HEAD", "refs/heads/*"]
    done = _network(None, args, timeout, prompt)
    if not done.ok:
        raise Unreachable(f"cannot reach {url}: {last_line(_said(done, args))}")
    heads: dict[str, str] = {}
    default = ""
    for line in done.out.splitlines():
        left, _, ref = line.partition("\t")
        if left.startswith("ref: ") and ref == "HEAD":
            default = left.removeprefix("ref: ").removeprefix("refs/heads/")
        elif ref.startswith("refs/heads/"):
            heads[ref.removeprefix("refs/heads/")] = left
    return heads, default


def clone(url: str, path: Path, origin: str, timeout: float | None, prompt: bool = True) -> None:
    args = ["clone", "--origin", origin, "--", url, str(path)]
    done = _network(None, args, timeout, prompt)
    if not done.ok:
        raise Unreachable(f"cannot clone {url}: {last_line(_said(done, args))}")


@dataclass
class Remote:
    """One named remote of one clone, and the branch synced with it."""

    git: Git
    name: str
    timeout: float
    prompt: bool = True

    def url(self) -> str | None:
        return self.git.run_quiet("remote", "get-url", self.name).strip() or None

    def shown_url(self) -> str:
        """The URL for messages, without any password or token in it."""
        return redact(self.url() or "no URL")

    def branch(self) -> str:
        name = self.git.run_quiet("symbolic-ref", "-q", "--short", "HEAD").strip()
        if not name:
            self._refuse_if_in_progress()  # HEAD is detached during a rebase: say why
            raise GitError(
                "HEAD is detached: sync needs a branch",
                hint="check out your branch first, e.g.: git checkout main",
            )
        return name

    def tracking_ref(self, branch: str) -> str:
        return f"refs/remotes/{self.name}/{branch}"

    def resolve(self, ref: str) -> str | None:
        return (
            self.git.run_quiet("rev-parse", "-q", "--verify", f"{ref}^{{commit}}").strip() or None
        )

    def fetch_branch(self, branch: str) -> bool:
        """Fetch `branch` into its remote-tracking ref. False if the remote has no such
        branch. The refspec has no `+`, so a rewritten (force-pushed) remote branch is
        refused, every time, instead of silently replacing what this clone saw."""
        refspec = f"refs/heads/{branch}:{self.tracking_ref(branch)}"
        args = ["fetch", "--no-tags", self.name, refspec]
        done = _network(self.git, args, self.timeout, self.prompt)
        if not done.ok:
            err = _said(done, args)
            if "couldn't find remote ref" in err:
                return False
            if "[rejected]" in err or "non-fast-forward" in err:
                seen = self.resolve(self.tracking_ref(branch)) or ""
                raise RemoteError(
                    f"{self.name}/{branch} was rewritten (force-pushed): it no longer contains "
                    f"{seen[:12]}, which this clone fetched before; nothing changed here",
                    hint="someone replaced the team's history; this clone still has the "
                    "original. Check the remote with incidentctl verify on a fresh clone",
                )
            raise disk_full(err, self.name) or Unreachable(
                f"cannot reach {self.name} ({self.shown_url()}): {last_line(err)}"
            )
        return True

    def count(self, revision_range: str) -> int:
        return int(self.git.run("rev-list", "--count", revision_range).strip() or 0)

    def has_common_history(self, ref: str) -> bool:
        return self.git.call("merge-base", "HEAD", ref).ok

    def rebase_onto(self, ref: str) -> None:
        """Replay local commits onto `ref`. On a conflict, abort and raise: nothing changes."""
        self._refuse_if_in_progress()
        stashes = len(self.git.run_quiet("stash", "list").splitlines())
        args = ["rebase", "--quiet", "--autostash", ref]
        # the reflog says who started it, so doctor can tell a rebase a killed sync left
        done = self.git.call(*args, env={"GIT_REFLOG_ACTION": "incidentctl sync"})
        if not done.ok:
            conflicted = self.git.run_quiet("diff", "--name-only", "--diff-filter=U")
            self.git.run_quiet("rebase", "--abort")
            files = ", ".join(conflicted.split()) or last_line(_said(done, args))
            raise RemoteError(
                f"rebasing your commits onto {ref.removeprefix('refs/remotes/')} conflicted "
                f"({files}); the rebase was aborted and your commits are as they were",
                hint="one file per event never conflicts, so a committed file was changed "
                "on one side: run incidentctl verify, here and on a fresh clone",
            )
        after = len(self.git.run_quiet("stash", "list").splitlines())
        if after > stashes:
            # git could not put the user's uncommitted changes back: never lose them quietly
            raise RemoteError(
                "your uncommitted changes (outside the events) conflict with what sync brought in; "
                "they are kept in git stash@{0}",
                hint="get them back with: git stash pop (and resolve the conflict)",
            )

    def _refuse_if_in_progress(self) -> None:
        git_dir = Path(self.git.run("rev-parse", "--absolute-git-dir").strip())
        if any(
            (git_dir / name).exists() for name in ("rebase-merge", "rebase-apply", "MERGE_HEAD")
        ):
            raise RemoteError(
                "a rebase or merge is in progress in this repo; sync leaves it alone",
                hint="finish it, or abandon it with: git rebase --abort (or git merge --abort); "
                "one a killed sync left: incidentctl doctor --fix",
            )

    def push(self, commit: str, branch: str, set_upstream: bool) -> None:
        args = ["push", "--porcelain", self.name, f"{commit}:refs/heads/{branch}"]
        done = _network(self.git, args, self.timeout, self.prompt)
        if not done.ok:
            said = _said(done, args)
            text = f"{done.out}\n{said}"
            if "[rejected]" in text or "(fetch first)" in text or "non-fast-forward" in text:
                raise PushRaced(f"push to {self.name}/{branch} was rejected")
            if "[remote rejected]" in text or "hook declined" in text:
                hook = [
                    line.removeprefix("remote:").strip()
                    for line in said.splitlines()
                    if line.startswith("remote:") and line.removeprefix("remote:").strip()
                ]
                raise RemoteError(
                    f"{self.name} refused the push" + (f": {'; '.join(hook)}" if hook else ""),
                    hint="the remote's hook checks the history; see its message above, "
                    "and run: incidentctl verify",
                )
            raise disk_full(said, self.name) or Unreachable(
                f"cannot push to {self.name} ({self.shown_url()}): {last_line(said)}"
            )
        if set_upstream:
            self.git.run_quiet("branch", f"--set-upstream-to={self.name}/{branch}", branch)
