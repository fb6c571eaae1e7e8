"""Git, through GitPython's `repo.git` (the git command line), so hooks and signing apply."""

from __future__ import annotations

import getpass
import logging
import os
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incidentctl.errors import GitError

log = logging.getLogger("incidentctl")
_COMMIT_LINE = re.compile(r"^\[[^\]]*?([0-9a-f]{7,40})\]", re.MULTILINE)
_FILES_CHANGED = re.compile(r"^\s*(\d+) files? changed", re.MULTILINE)
# How long to wait for another git process's .git/index.lock: the git child of a killed
# incidentctl command goes on to finish its commit while the next command starts.
INDEX_LOCK_WAIT = 10.0


@dataclass(frozen=True)
class LogEntry:
    commit: str
    author: str
    at: str  # ISO 8601, the author date
    subject: str
    trailers: dict[str, str]


def _fail(action: str, exc: Exception) -> GitError:
    stderr = getattr(exc, "stderr", "") or ""
    detail = " ".join(
        line.strip().removeprefix("stderr:").strip().strip("'")
        for line in str(stderr).splitlines()
        if line.strip()
    )
    return GitError(f"git {action} failed: {detail or exc}", hint="see the git message above")


class Git:
    def __init__(self, root: Path) -> None:
        import git

        self.root = root
        try:
            self.repo = git.Repo(root)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise GitError(f"{root} is not a git repository") from None
        self.cmd = self.repo.git
        self._identity: tuple[str, str] | None = None

    @staticmethod
    def init(root: Path) -> Git:
        import git

        root.mkdir(parents=True, exist_ok=True)
        try:
            git.Repo.init(root)
        except git.GitCommandError as exc:
            raise _fail("init", exc) from None
        return Git(root)

    def run(self, *args: Any, **kwargs: Any) -> str:
        import git

        try:
            return self.cmd.execute(["git", *map(str, args)], **kwargs)
        except git.GitCommandError as exc:
            raise _fail(str(args[0]) if args else "", exc) from None

    def run_quiet(self, *args: Any) -> str:
        """Run git; on failure return "" (e.g. `ls-tree HEAD` before the first commit)."""
        return str(self.cmd.execute(["git", *map(str, args)], with_exceptions=False) or "")

    def identity(self) -> tuple[str, str]:
        """(name, email) as git will record them; fills in a fallback where git has none,
        so a fresh machine with no git identity can still commit."""
        if self._identity is not None:
            return self._identity
        values: dict[str, str] = {}
        try:
            out = self.cmd.execute(
                ["git", "config", "--get-regexp", r"^user\.(name|email)$"], with_exceptions=False
            )
        except Exception:
            out = ""
        for line in str(out).splitlines():
            key, _, value = line.partition(" ")
            values[key] = value
        name = os.environ.get("GIT_AUTHOR_NAME") or values.get("user.name", "")
        email = os.environ.get("GIT_AUTHOR_EMAIL") or values.get("user.email", "")
        fallback: dict[str, str] = {}
        if not name:
            name = getpass.getuser()
            fallback |= {"GIT_AUTHOR_NAME": name, "GIT_COMMITTER_NAME": name}
        if not email:
            email = f"{getpass.getuser()}@{socket.gethostname() or 'localhost'}"
            fallback |= {"GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_EMAIL": email}
        if fallback:
            self.cmd.update_environment(**fallback)
        self._identity = (name, email)
        return self._identity

    def commit_paths(self, paths: list[str], message: str) -> str:
        """Commit exactly `paths` (new or changed), leaving anything else the user has
        staged or changed as it was. Returns the new commit's (abbreviated) id.

        `git commit -- PATHS` guarantees that, but builds a second index from HEAD,
        which costs seconds in a repo of 200,000 files. So when nothing else is staged,
        a plain `git commit` does the same job; and if the user stages something in the
        instant between the check and the commit, the commit's file count shows it, and
        the commit is redone the careful way.
        """
        self.identity()
        self._run_waiting_for_index("add", "--", *paths)
        staged = set(
            self.run_quiet("diff-index", "--cached", "--name-only", "HEAD", "--").splitlines()
        )
        # nothing staged at all means no HEAD yet (the first commit): be careful then too
        careful = not staged or bool(staged - set(paths))
        try:
            if careful:
                out = self._run_waiting_for_index("commit", "-m", message, "--", *paths)
            else:
                out = self._run_waiting_for_index("commit", "-m", message)
                changed = _FILES_CHANGED.search(out)
                if changed and int(changed.group(1)) != len(paths):
                    # something was staged in the instant before the commit: redo it with
                    # only our paths (the commit exists, so a failure here is not "no commit")
                    try:
                        self._run_waiting_for_index("reset", "-q", "--soft", "HEAD~1")
                        out = self._run_waiting_for_index("commit", "-m", message, "--", *paths)
                    except GitError:
                        log.warning("a change staged during the commit went into it too")
        except GitError:
            # leave the index as we found it: the caller removes the files it wrote
            self.cmd.execute(["git", "reset", "-q", "--", *paths], with_exceptions=False)
            raise
        m = _COMMIT_LINE.search(out)
        if m:
            return m.group(1)
        return self.run("rev-parse", "HEAD")

    def _run_waiting_for_index(self, *args: Any) -> str:
        deadline = time.monotonic() + INDEX_LOCK_WAIT
        while True:
            try:
                return self.run(*args)
            except GitError as exc:
                if "index.lock" not in exc.message:
                    raise
                if time.monotonic() >= deadline:
                    exc.hint = (
                        "if no git command is running in this repo, remove its .git/index.lock"
                    )
                    raise
                time.sleep(0.05)

    def head(self) -> str | None:
        out = self.cmd.execute(
            ["git", "rev-parse", "-q", "--verify", "HEAD"], with_exceptions=False
        )
        return str(out).strip() or None

    def status(self, *pathspec: str) -> list[tuple[str, str]]:
        """(two-letter code, path) for changed and untracked files under `pathspec`."""
        out = self.run("status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *pathspec)
        entries = []
        for item in out.split("\0"):
            if len(item) > 3:
                entries.append((item[:2], item[3:]))
        return entries

    def log(self, *pathspec: str) -> list[LogEntry]:
        sep, end = "\x1f", "\x1e"
        fmt = sep.join(["%H", "%an", "%aI", "%s", "%(trailers:only,unfold)"]) + end
        out = self.run("log", f"--format={fmt}", "--", *pathspec)
        entries = []
        for record in out.split(end):
            record = record.strip("\n")
            if not record:
                continue
            commit, author, at, subject, trailer_text = record.split(sep)
            trailers = {}
            for line in trailer_text.splitlines():
                key, _, value = line.partition(":")
                if value:
                    trailers[key.strip()] = value.strip()
            entries.append(LogEntry(commit, author, at, subject, trailers))
        return entries
