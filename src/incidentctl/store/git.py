"""Git, through the git command line, so hooks, signing, credential helpers and the
user's SSH config apply. Every git that incidentctl starts starts here, in one
controlled environment (`Git.start`)."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incidentctl.environment import for_children
from incidentctl.errors import GitError

log = logging.getLogger("incidentctl")
_COMMIT_LINE = re.compile(r"^\[[^\]]*?([0-9a-f]{7,40})\]", re.MULTILINE)
_LOCK_FILE = re.compile(r"'([^']*index\.lock)'")
_FILES_CHANGED = re.compile(r"^\s*(\d+) files? changed", re.MULTILINE)
# How long to wait for another git process's .git/index.lock: the git child of a killed
# incidentctl command goes on to finish its commit while the next command starts.
INDEX_LOCK_WAIT = 10.0
_IDENTITY = ("config", "--get-regexp", r"^user\.(name|email)$")  # who commits
# what is staged already: `diff --cached`, never `diff-index`, which expands a sparse index
_STAGED = (
    "diff",
    "--cached",
    "--no-color",
    "--no-ext-diff",
    "--no-renames",
    "--name-only",
    "HEAD",
    "--",
)


@dataclass(frozen=True)
class LogEntry:
    commit: str
    author: str
    at: str  # ISO 8601, the author date
    subject: str
    trailers: dict[str, str]


@dataclass(frozen=True)
class Finished:
    """A git that ran to its end (or was stopped at its time limit)."""

    status: int
    out: str  # one trailing newline dropped, as `run` returns it
    err: str  # trailing newlines dropped
    timed_out: bool = False
    timeout: float | None = None  # the limit it ran under

    @property
    def ok(self) -> bool:
        return self.status == 0 and not self.timed_out


def _git_error(action: str, stderr: str, fallback: str) -> GitError:
    detail = " ".join(line.strip() for line in stderr.splitlines() if line.strip())
    return GitError(f"git {action} failed: {detail or fallback}", hint="see the git message above")


def _login() -> str:
    import getpass  # only for a machine with no git identity: not on every read

    return getpass.getuser()


def _kill_tree(pid: int) -> None:
    """SIGKILL a process and its descendants (a fetch's ssh or git-remote-https, which
    would otherwise keep the pipes open)."""
    family = [pid]
    try:
        table = subprocess.run(
            ["ps", "-A", "-o", "pid=", "-o", "ppid="],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        children: dict[int, list[int]] = {}
        for line in table.splitlines():
            fields = line.split()
            if len(fields) == 2 and all(f.isdigit() for f in fields):
                children.setdefault(int(fields[1]), []).append(int(fields[0]))
        for parent in family:  # grows while it is walked
            family.extend(children.get(parent, []))
    except OSError:
        pass
    for member in family:
        with contextlib.suppress(OSError):  # gone already
            os.kill(member, signal.SIGKILL)


# git options for the reads that walk much of the object store (every event blob, a
# path-limited log over the whole history): git's own defaults cache up to 96 MB of delta
# bases and map the pack in 1 GB windows, which took `ls-tree -r` at 180,000 events to a
# 476 MB peak; these caps bound it near 100 MB at no cost in speed (bench/).
BULK_READ = (
    "-c",
    "core.deltaBaseCacheLimit=8m",
    "-c",
    "core.packedGitWindowSize=16m",
    "-c",
    "core.packedGitLimit=32m",
)


class Git:
    """The git command line in one work tree, and the one place incidentctl starts git.

    Every command is a plain subprocess in the same environment: the user's (as given,
    see environment.py), the C locale (output is parsed), and this repo only (never an
    enclosing one). Importing GitPython costs more than a whole git commit in a small
    repo; it is loaded only for `repo`, whose object database `verify` reads blobs from.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._repo: Any = None
        self._env_overrides: dict[str, str] = {}  # a fallback identity, if git has none
        self._identity: tuple[str, str] | None = None
        self.commits_made = 0  # by this process: the CLI says where a first write went
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

    @staticmethod
    def init(root: Path) -> Git:
        root.mkdir(parents=True, exist_ok=True)
        git = Git(root)
        git.run("init", "-q")
        return git

    def start(
        self, *args: str, env: Mapping[str, str] | None = None, stdin: bool = False
    ) -> subprocess.Popen[bytes]:
        """Start git, not waiting for it: it runs while the caller goes on (read its
        output with `finish`). `env` adds to the controlled environment; with `stdin`,
        its standard input is a pipe (else nothing)."""
        full_env = {
            **for_children(),
            # the C locale: git's output is parsed
            "LANGUAGE": "C",
            "LC_ALL": "C",
            # this repo only: never an enclosing one found by walking up
            "GIT_CEILING_DIRECTORIES": str(Path(self.root).resolve().parent),
            **self._env_overrides,
            **(env or {}),
        }
        try:
            return subprocess.Popen(
                ["git", *args],
                cwd=self.root,
                env=full_env,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
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
    def _output(out: bytes, keep_newline: bool = False) -> str:
        # one trailing newline dropped; bytes that are not UTF-8 kept as surrogates
        text = out.decode("utf-8", "surrogateescape")
        return text[:-1] if text.endswith("\n") and not keep_newline else text

    def call(
        self,
        *args: Any,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        input: bytes | None = None,
    ) -> Finished:
        """Run git to its end, whatever its exit status, with `input` on its stdin. At
        `timeout` seconds it is stopped, with whatever it started (`timed_out`)."""
        proc = self.start(*map(str, args), env=env, stdin=input is not None)
        timed_out = False
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_tree(proc.pid)
            out, err = proc.communicate()
            timed_out = True
        return Finished(
            proc.returncode,
            self._output(out),
            err.decode("utf-8", "replace").rstrip("\n"),
            timed_out,
            timeout,
        )

    def run(self, *args: Any, keep_newline: bool = False) -> str:
        """Run git and return its output (one trailing newline dropped, unless
        `keep_newline`); raise GitError with git's own message on failure."""
        proc = self.start(*map(str, args))
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise _git_error(
                str(args[0]) if args else "",
                err.decode("utf-8", "replace"),
                f"exit status {proc.returncode}",
            )
        return self._output(out, keep_newline)

    def run_quiet(self, *args: Any) -> str:
        """Run git; on failure return "" (e.g. `ls-tree HEAD` before the first commit)."""
        return self.finish(self.start(*map(str, args))) or ""

    def finish(self, proc: subprocess.Popen[bytes]) -> str | None:
        """The output of a git from `start`, once it ends; None if it failed."""
        out, _err = proc.communicate()
        return self._output(out) if proc.returncode == 0 else None

    def prepare_commit(self) -> None:
        """Start the identity lookup and the check for files already staged, so they run
        while the caller reads the incident, not one after the other before the commit."""
        if self._identity is None and self._identity_proc is None:
            self._identity_proc = self.start(*_IDENTITY)
        if self._staged_proc is None:
            self._staged_proc = self.start(*_STAGED)

    def identity(self) -> tuple[str, str]:
        """(name, email) as git will record them; fills in a fallback where git has none,
        so a fresh machine with no git identity can still commit."""
        if self._identity is not None:
            return self._identity
        proc = self._identity_proc or self.start(*_IDENTITY)
        self._identity_proc = None
        values: dict[str, str] = {}
        for line in (self.finish(proc) or "").splitlines():
            key, _, value = line.partition(" ")
            values[key] = value
        name = os.environ.get("GIT_AUTHOR_NAME") or values.get("user.name", "")
        email = os.environ.get("GIT_AUTHOR_EMAIL") or values.get("user.email", "")
        fallback: dict[str, str] = {}
        if not name:
            name = _login()
            fallback |= {"GIT_AUTHOR_NAME": name, "GIT_COMMITTER_NAME": name}
        if not email:
            import socket

            email = f"{_login()}@{socket.gethostname() or 'localhost'}"
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
        proc = self._staged_proc or self.start(*_STAGED)
        self._staged_proc = None
        out = self.finish(proc)
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
        self.commits_made += 1
        m = _COMMIT_LINE.search(out)
        if m:
            return m.group(1)
        return self.run("rev-parse", "HEAD")

    def _run_waiting_for_index(self, *args: Any) -> str:
        """`run`, waiting while another git holds the index lock (the git child of a
        killed command finishing its commit): the user is told what the wait is for,
        and at INDEX_LOCK_WAIT seconds gets one line and the fix."""
        from incidentctl.store.lock import SAY_WAITING_AFTER

        start = time.monotonic()
        said = False
        while True:
            try:
                return self.run(*args)
            except GitError as exc:
                if "index.lock" not in exc.message:
                    raise
                lock = self._lock_named(exc.message)
                waited = time.monotonic() - start
                if waited >= INDEX_LOCK_WAIT:
                    raise GitError(
                        f"gave up after {INDEX_LOCK_WAIT:g}s waiting for {lock}: another git "
                        "process holds it, or a killed one left it behind",
                        hint="if no git command is running in this repo, remove it with: "
                        "incidentctl doctor --fix",
                    ) from None
                if not said and waited >= SAY_WAITING_AFTER:
                    said = True
                    log.warning("waiting for %s (held by another git process) ...", lock)
                time.sleep(0.05)

    def _lock_named(self, message: str) -> str:
        """The lock file git could not create, relative to the work tree if inside it."""
        m = _LOCK_FILE.search(message)
        if not m:
            return ".git/index.lock"
        path = Path(m.group(1))
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

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
        out = self.run(*BULK_READ, "log", f"--format={fmt}", "--", *pathspec)
        entries = []
        for record in out.split(end):
            record = record.strip("\n")
            if not record:
                continue
            commit, author, at, subject, trailer_text = record.split(sep)
            trailers = dict(parse_trailers(trailer_text))
            entries.append(LogEntry(commit, author, at, subject, trailers))
        return entries
