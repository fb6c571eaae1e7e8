"""Git, through the git command line, so hooks and signing apply."""

from __future__ import annotations

import getpass
import logging
import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incidentctl.environment import for_children
from incidentctl.errors import GitError

log = logging.getLogger("incidentctl")
_COMMIT_LINE = re.compile(r"^\[[^\]]*?([0-9a-f]{7,40})\]", re.MULTILINE)
_FILES_CHANGED = re.compile(r"^\s*(\d+) files? changed", re.MULTILINE)
# How long to wait for another git process's .git/index.lock: the git child of a killed
# incidentctl command goes on to finish its commit while the next command starts.
INDEX_LOCK_WAIT = 10.0
_IDENTITY = ("config", "--get-regexp", r"^user\.(name|email)$")  # who commits
_STAGED = ("diff-index", "--cached", "--name-only", "HEAD", "--")  # what is staged already


@dataclass(frozen=True)
class LogEntry:
    commit: str
    author: str
    at: str  # ISO 8601, the author date
    subject: str
    trailers: dict[str, str]


def _fail(action: str, exc: Exception) -> GitError:
    """From GitPython's error, whose stderr reads `stderr: '...'`."""
    stderr = str(getattr(exc, "stderr", "") or "")
    unwrapped = "\n".join(
        line.strip().removeprefix("stderr:").strip().strip("'") for line in stderr.splitlines()
    )
    return _git_error(action, unwrapped, str(exc))


def _git_error(action: str, stderr: str, fallback: str) -> GitError:
    detail = " ".join(line.strip() for line in stderr.splitlines() if line.strip())
    return GitError(f"git {action} failed: {detail or fallback}", hint="see the git message above")


class Git:
    """The git command line in one work tree.

    The commands an event runs (identity, add, commit, status, log) are plain
    subprocesses: importing GitPython costs more than the whole git commit in a
    small repo. GitPython (`repo`, `cmd`) is loaded on first use, by sync, verify
    and the rest.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._repo: Any = None
        self._env_overrides: dict[str, str] = {}  # a fallback identity, if git has none
        self._identity: tuple[str, str] | None = None
        self._identity_proc: subprocess.Popen[bytes] | None = None
        self._staged_proc: subprocess.Popen[bytes] | None = None

    @property
    def repo(self) -> Any:
        """The GitPython Repo (imported on first use)."""
        if self._repo is None:
            import git

            try:
                self._repo = git.Repo(self.root)
            except (git.InvalidGitRepositoryError, git.NoSuchPathError):
                raise GitError(f"{self.root} is not a git repository") from None
            if self._env_overrides:
                self._repo.git.update_environment(**self._env_overrides)
        return self._repo

    @property
    def cmd(self) -> Any:
        return self.repo.git

    @staticmethod
    def init(root: Path) -> Git:
        root.mkdir(parents=True, exist_ok=True)
        git = Git(root)
        git.run("init", "-q")
        return git

    def _start(self, *args: str) -> subprocess.Popen[bytes]:
        env = {
            **for_children(),
            # the C locale, as GitPython runs git: commit output is parsed
            "LANGUAGE": "C",
            "LC_ALL": "C",
            # this repo only: never an enclosing one found by walking up
            "GIT_CEILING_DIRECTORIES": str(Path(self.root).resolve().parent),
            **self._env_overrides,
        }
        try:
            return subprocess.Popen(
                ["git", *args],
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            if exc.filename == "git":
                raise GitError(
                    f"cannot run git: {exc.strerror or exc}", hint="install git and put it on PATH"
                ) from None
            raise GitError(
                f"cannot run git in {self.root}: {exc.strerror or exc}",
                hint="check the repo path (--repo, $INCIDENTCTL_REPO)",
            ) from None

    @staticmethod
    def _output(out: bytes) -> str:
        # as GitPython returns it: one trailing newline dropped, bytes that are not
        # UTF-8 kept as surrogates
        text = out.decode("utf-8", "surrogateescape")
        return text[:-1] if text.endswith("\n") else text

    def run(self, *args: Any, **kwargs: Any) -> str:
        """Run git and return its output (one trailing newline dropped); raise GitError
        with git's own message on failure. Keyword arguments go to GitPython's execute."""
        if kwargs:
            import git

            try:
                return self.cmd.execute(["git", *map(str, args)], **kwargs)
            except git.GitCommandError as exc:
                raise _fail(str(args[0]) if args else "", exc) from None
        proc = self._start(*map(str, args))
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise _git_error(
                str(args[0]) if args else "",
                err.decode("utf-8", "replace"),
                f"exit status {proc.returncode}",
            )
        return self._output(out)

    def run_quiet(self, *args: Any) -> str:
        """Run git; on failure return "" (e.g. `ls-tree HEAD` before the first commit)."""
        return self._finish(self._start(*map(str, args))) or ""

    def _finish(self, proc: subprocess.Popen[bytes]) -> str | None:
        """A started git's output, or None if it failed."""
        out, _err = proc.communicate()
        return self._output(out) if proc.returncode == 0 else None

    def prepare_commit(self) -> None:
        """Start the identity lookup and the check for files already staged, so they run
        while the caller reads the incident, not one after the other before the commit."""
        if self._identity is None and self._identity_proc is None:
            self._identity_proc = self._start(*_IDENTITY)
        if self._staged_proc is None:
            self._staged_proc = self._start(*_STAGED)

    def identity(self) -> tuple[str, str]:
        """(name, email) as git will record them; fills in a fallback where git has none,
        so a fresh machine with no git identity can still commit."""
        if self._identity is not None:
            return self._identity
        proc = self._identity_proc or self._start(*_IDENTITY)
        self._identity_proc = None
        values: dict[str, str] = {}
        for line in (self._finish(proc) or "").splitlines():
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
            self._env_overrides.update(fallback)
            if self._repo is not None:
                self._repo.git.update_environment(**fallback)
        self._identity = (name, email)
        return self._identity

    def _staged(self) -> set[str] | None:
        """The paths staged against HEAD (as of `prepare_commit`, if it ran), or None
        when there is no HEAD yet."""
        proc = self._staged_proc or self._start(*_STAGED)
        self._staged_proc = None
        out = self._finish(proc)
        return None if out is None else set(out.splitlines())

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
        staged = self._staged()
        self._run_waiting_for_index("add", "--", *paths)
        # no HEAD yet (the first commit): be careful then too
        careful = staged is None or bool(staged - set(paths))
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
            self.run_quiet("reset", "-q", "--", *paths)
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
        return self.run_quiet("rev-parse", "-q", "--verify", "HEAD").strip() or None

    def status(self, *pathspec: str) -> list[tuple[str, str]]:
        """(two-letter code, path) for changed and untracked files under `pathspec`."""
        out = self.run("status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *pathspec)
        entries = []
        for item in out.split("\0"):
            if len(item) > 3:
                entries.append((item[:2], item[3:]))
        return entries

    def log(self, *pathspec: str) -> list[LogEntry]:
        from incidentctl.store.commits import LOG_FORMAT, parse_trailers

        sep, end = "\x1f", "\x1e"
        fmt = sep.join(["%H", "%an", "%aI", "%s", LOG_FORMAT]) + end
        out = self.run("log", f"--format={fmt}", "--", *pathspec)
        entries = []
        for record in out.split(end):
            record = record.strip("\n")
            if not record:
                continue
            commit, author, at, subject, trailer_text = record.split(sep)
            trailers = dict(parse_trailers(trailer_text))
            entries.append(LogEntry(commit, author, at, subject, trailers))
        return entries
