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
    """Someone else's push landed between our fetch and our push (a non-fast-forward, or
    the remote's ref moved while it took ours): fetch, rebase and push again."""


class PushRefused(RemoteError):
    """A hook on the remote refused the push; the message carries the hook's own lines."""


class AuthFailed(RemoteError):
    """The remote would not let us in: credentials, keys, or no write access."""


class ProtectedBranch(RemoteError):
    """The remote protects the branch against pushes from this user."""


class MissingBranch(RemoteError):
    """The remote has no branch of that name (but has others)."""


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


# What git (or the server) says, lower-cased, and what it means. Checked in this order.
_PROTECTED = ("protected branch", "gh006", "protected_branch")
_AUTH = (
    "permission denied",
    "authentication failed",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "access denied",
    "returned error: 401",
    "returned error: 403",
    "invalid username or password",
    "invalid credentials",
    "not authorized",
    "write access to repository not granted",
    "insufficient permission",
    "service not enabled",
    "host key verification failed",
)
_MISSING = (
    "repository not found",
    "no such repository",
    "returned error: 404",
    "could not be found",
)
_NETWORK = (
    "could not resolve",
    "connection refused",
    "timed out",
    "timeout:",
    "network is unreachable",
    "no route to host",
    "unable to connect",
    "failed to connect",
    "connection reset",
    "connection closed",
    "hung up unexpectedly",
    "early eof",
    "does not appear to be a git repository",
    "could not read from remote repository",
    "unable to access",
    "broken pipe",
    "unexpected disconnect",
)
# a push that lost a race: the remote's branch moved before, or while, it took ours
_RACE = (
    "fetch first",
    "non-fast-forward",
    "stale info",
    "cannot lock ref",
    "failed to update ref",
    "failed to lock",
    "incorrect old value",
    "but expected",
    "reference already exists",
)
_ACCESS_HINT = (
    "check your access: an SSH key the server knows (ssh -T git@HOST), a credential helper "
    "(git credential), and write access to the repo; automatic sync never asks for a password"
)


def _any(text: str, needles: tuple[str, ...]) -> bool:
    low = text.lower()
    return any(n in low for n in needles)


def _telling(said: str, needles: tuple[str, ...]) -> str:
    """The line of git's message that shows `needles` (say, "Permission denied
    (publickey)" rather than the "Could not read from remote repository" after it)."""
    for line in said.splitlines():
        if _any(line, needles):
            for prefix in ("fatal:", "error:", "remote:"):
                line = line.removeprefix(prefix).strip()
            return line
    return last_line(said)


def remote_lines(said: str) -> list[str]:
    """The server's own lines (`remote: ...`), as it wrote them."""
    return [
        line.removeprefix("remote:").strip()
        for line in said.splitlines()
        if line.startswith("remote:") and line.removeprefix("remote:").strip()
    ]


def classify(said: str, where: str, url: str, doing: str) -> RemoteError:
    """The one-line error for a git that could not talk to the remote `where` (auth, a
    missing repo, the network, anything else), from what git said on stderr."""
    if _any(said, _AUTH):
        return AuthFailed(
            f"{where} ({url}) refused access: {_telling(said, _AUTH)}", hint=_ACCESS_HINT
        )
    if _any(said, _MISSING):
        return RemoteError(
            f"{where} ({url}) has no such repository: {_telling(said, _MISSING)}",
            hint="check the URL (git remote -v) and that you may read it; "
            "to change it: git remote set-url NAME URL",
        )
    if _any(said, _NETWORK):
        return Unreachable(f"cannot reach {where} ({url}): {_telling(said, _NETWORK)}")
    return RemoteError(
        f"cannot {doing} {where} ({url}): {last_line(said)}",
        hint=f"to see all that git says: git {doing} {where}",
    )


_LANDED = (" ", "*", "=")  # git push --porcelain's flags of a ref the remote took


def _push_status(out: str, branch: str) -> tuple[str, str, str] | None:
    """(flag, summary, reason) of `git push --porcelain`'s line for refs/heads/`branch`:
    e.g. ("!", "[remote rejected]", "pre-receive hook declined")."""
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[1].endswith(f":refs/heads/{branch}"):
            summary, _, reason = parts[2].partition(" (")
            return parts[0], summary.strip(), reason.rstrip(")").strip()
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
        raise classify(_said(done, args), redact(url), redact(url), "ls-remote")
    heads: dict[str, str] = {}
    default = ""
    for line in done.out.splitlines():
        left, _, ref = line.partition("\t")
        if left.startswith("ref: ") and ref == "HEAD":
            default = left.removeprefix("ref: ").removeprefix("refs/heads/")
        elif ref.startswith("refs/heads/"):
            heads[ref.removeprefix("refs/heads/")] = left
    return heads, default


def clone(
    url: str,
    path: Path,
    origin: str,
    timeout: float | None,
    prompt: bool = True,
    *,
    sparse: bool = False,
) -> None:
    """`git clone`; with `sparse`, checking nothing out (`--no-checkout`): the caller sets
    the cone with a sparse index first (store/sparse.py), so the index is never the full
    one. A checkout of the whole tree, even one `--sparse` leaves on disk, writes an
    index of every event file (180,000 at N = 10,000: 0.7 s, and 500 MB for git), and
    making it sparse after costs as much again."""
    args = [
        "clone",
        *(["--no-checkout"] if sparse else []),
        "--origin",
        origin,
        "--",
        url,
        str(path),
    ]
    done = _network(None, args, timeout, prompt)
    if not done.ok:
        raise classify(_said(done, args), redact(url), redact(url), "clone")


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
            raise disk_full(err, self.name) or classify(err, self.name, self.shown_url(), "fetch")
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
        """Push `commit` to the remote's `branch`, never forced. Raises PushRaced when
        another push got there first (before or during ours: retry from the fetch), and
        one classified RemoteError for anything else."""
        args = ["push", "--porcelain", self.name, f"{commit}:refs/heads/{branch}"]
        done = _network(self.git, args, self.timeout, self.prompt)
        if not done.ok:
            status = _push_status(done.out, branch)
            if status is None or status[0] not in _LANDED:
                raise self._push_failure(done, args, branch)
            # the server took the branch, then the connection broke (its post-receive
            # hook died, say): the push landed, and saying otherwise would be false
            self.git.run_quiet("update-ref", self.tracking_ref(branch), commit)
        if set_upstream:
            self.git.run_quiet("branch", f"--set-upstream-to={self.name}/{branch}", branch)

    def _push_failure(self, done: Finished, args: list[str], branch: str) -> RemoteError:
        said = _said(done, args)
        full = disk_full(said, self.name)
        if full is not None:
            return full
        status = _push_status(done.out, branch)
        hook = remote_lines(said)
        told = f": {'; '.join(hook)}" if hook else ""
        where = f"{self.name}/{branch}"
        if status is None or status[0] != "!":
            # no verdict on the branch: the push never got that far (auth, network, ...)
            return classify(said, self.name, self.shown_url(), "push")
        _flag, summary, reason = status
        if summary == "[rejected]" or _any(reason, _RACE):
            detail = _telling(said, _RACE) if _any(said, _RACE) else reason or summary
            return PushRaced(f"push to {where} lost a race ({detail})")
        if _any(reason, _PROTECTED) or _any("\n".join(hook), _PROTECTED):
            return ProtectedBranch(
                f"{where} is a protected branch: {self.name} refused the push{told}",
                hint="allow pushes (not force-pushes) to it for the team, or share the incidents "
                "on a branch of their own; your events stay committed here",
            )
        if "hook declined" in reason:
            return PushRefused(
                f"{self.name} refused the push{told or f' ({reason})'}",
                hint="the remote's hook checks the history; see its message, "
                "and run: incidentctl verify",
            )
        if "checked out" in reason:
            return RemoteError(
                f"{self.name} ({self.shown_url()}) is a repo with {branch} checked out, "
                "and git refuses pushes to it",
                hint="share a bare repo (git init --bare), or on that repo run: "
                "git config receive.denyCurrentBranch updateInstead",
            )
        if "unpack" in reason or "missing necessary objects" in reason:
            return RemoteError(
                f"{self.name} could not store the push ({reason}){told}",
                hint="the server's disk may be full, or its repo not writable by you; "
                "your events stay committed here",
            )
        if _any(reason, _AUTH) or _any(said, _AUTH):
            return AuthFailed(f"{self.name} refused the push ({reason}){told}", hint=_ACCESS_HINT)
        return RemoteError(
            f"{self.name} refused the push ({reason or summary}){told}",
            hint=f"see git's whole answer with: git push -v {self.name} {branch}",
        )
