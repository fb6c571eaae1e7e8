"""Locks: incidentctl's repo lock (one writer at a time per clone, released if the
process dies), and git's own lock files, which a killed git leaves behind."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from incidentctl.errors import LockTimeout, RepoError

log = logging.getLogger("incidentctl")

TIMEOUT_ENV = "INCIDENTCTL_LOCK_TIMEOUT"
DEFAULT_TIMEOUT = 60.0  # seconds; $INCIDENTCTL_LOCK_TIMEOUT sets another
SAY_WAITING_AFTER = 1.0  # seconds of waiting before the user is told what for
# A repo that cannot be written: nobody can write it, so a reader needs no lock
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


class RepoLock:
    """An flock on <git-dir>/incidentctl.lock. The kernel drops it when the holder dies,
    so a crash never leaves a lock that blocks the next command.

    `shared` is for a reader that would rather see no write half done (doctor without
    --fix): it keeps writers out, not other readers; on a repo that cannot be written
    (read-only mount, no permission) it takes no lock at all, and when a writer holds
    the lock past `timeout` it goes on without it (`contended`), never failing."""

    def __init__(
        self, git_dir: Path, timeout: float | None = None, *, shared: bool = False
    ) -> None:
        from incidentctl.environment import seconds

        self.path = git_dir / "incidentctl.lock"
        self.timeout = seconds(TIMEOUT_ENV, DEFAULT_TIMEOUT) if timeout is None else timeout
        self.shared = shared
        self.read_only = False  # shared, on a repo that cannot be written
        self.contended = False  # shared, and a writer held the lock past the timeout
        self._fd: int | None = None

    def _open(self) -> int | None:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if self.shared and exc.errno in _READ_ONLY:
                self.read_only = True
                try:  # an existing lock file can be flocked read-only
                    return os.open(self.path, os.O_RDONLY)
                except OSError:
                    return None
            raise RepoError(
                f"cannot take the repo lock {self.path}: {exc.strerror}",
                hint="is this a git repo you can write to? (incidentctl init PATH makes one)",
            ) from None

    def __enter__(self) -> RepoLock:
        fd = self._open()
        if fd is None:
            return self
        mode = fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX
        start = time.monotonic()
        deadline = start + self.timeout
        delay = 0.005
        said = False
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                now = time.monotonic()
                if now >= deadline:
                    os.close(fd)
                    if self.shared:
                        self.contended = True
                        return self
                    raise LockTimeout(
                        f"another incidentctl process{_held_by(self.path)} has held "
                        f"{self.path} for {self.timeout:.0f}s",
                        hint="wait for it to finish, or find it with: fuser " + str(self.path),
                    ) from None
                if not said and now - start >= SAY_WAITING_AFTER:
                    said = True
                    log.warning(
                        "waiting for the repo lock (held by another incidentctl process%s) ...",
                        _held_by(self.path, ", pid "),
                    )
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


# -- who holds what ----------------------------------------------------------------------


def flock_holders(path: Path) -> list[int]:
    """The pids holding an flock on `path` (from /proc/locks; empty where there is none)."""
    try:
        st = os.stat(path)
        table = Path("/proc/locks").read_text()
    except OSError:
        return []
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    pids = []
    for line in table.splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 00:2a:5678 0 EOF" (a waiter's has "->" first)
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == dev and fields[4].isdigit():
            pids.append(int(fields[4]))
    return pids


def _held_by(path: Path, prefix: str = " (pid ") -> str:
    pids = [p for p in flock_holders(path) if p != os.getpid()]
    if not pids:
        return ""
    return f"{prefix}{pids[0]}" + (")" if prefix.startswith(" (") else "")


# git's lock files in a git dir: a git creates NAME.lock, writes it, renames it over NAME
GIT_LOCKS = ("index.lock", "HEAD.lock", "ORIG_HEAD.lock", "packed-refs.lock", "config.lock")


@dataclass(frozen=True)
class GitLock:
    path: Path
    age: float  # seconds since it was last written
    inode: int
    mtime_ns: int


def git_lock_files(git_dir: Path) -> list[GitLock]:
    """git's lock files in `git_dir` (index, HEAD, refs, packed-refs, config)."""
    found = [git_dir / name for name in GIT_LOCKS]
    refs = git_dir / "refs"
    if refs.is_dir():
        found.extend(refs.rglob("*.lock"))
    now = time.time()
    locks = []
    for path in found:
        try:
            st = path.lstat()
        except OSError:
            continue
        locks.append(GitLock(path, max(0.0, now - st.st_mtime), st.st_ino, st.st_mtime_ns))
    return locks


def git_processes(root: Path, git_dir: Path) -> list[int] | None:
    """The pids of git processes working on this repo: their working directory is in
    the work tree or the git dir, or their GIT_DIR / GIT_WORK_TREE names them. None
    when that cannot be known (no /proc: not Linux), which callers read as "maybe"."""
    proc = Path("/proc")
    if not (proc / "self" / "cwd").exists():
        return None
    targets = {str(root.resolve()), str(git_dir.resolve())}

    def ours(path: str) -> bool:
        return any(path == t or path.startswith(t + "/") for t in targets)

    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone
        # "PID (COMM) STATE ...": COMM may hold spaces and parentheses
        comm, _, rest = stat.partition(" (")[2].rpartition(") ")
        if not comm.startswith("git") or rest[:1] in ("Z", "X"):
            continue  # not a git, or a dead one (a zombie holds no lock)
        try:
            cwd = os.readlink(entry / "cwd")
        except FileNotFoundError:
            continue  # ended meanwhile
        except OSError:
            # a git we may not look at (another user's): it might be ours
            found.append(int(entry.name))
            continue
        if ours(cwd):
            found.append(int(entry.name))
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            env = []
        for item in env:
            name, _, value = item.partition(b"=")
            if name in (b"GIT_DIR", b"GIT_WORK_TREE", b"GIT_INDEX_FILE"):
                text = value.decode("utf-8", "replace")
                if not os.path.isabs(text):
                    text = os.path.join(cwd, text)
                if ours(os.path.normpath(text)):
                    found.append(int(entry.name))
                    break
    return found


def settled_git_processes(root: Path, git_dir: Path, wait: float) -> list[int] | None:
    """`git_processes`, after waiting up to `wait` seconds for them to end (a git gc
    --auto that a commit or fetch started in the background, a commit finishing)."""
    deadline = time.monotonic() + wait
    while True:
        running = git_processes(root, git_dir)
        if not running or time.monotonic() >= deadline:
            return running
        time.sleep(0.1)


def describe(pids: list[int]) -> str:
    """ "git gc --auto (pid 12)", for messages."""
    shown = []
    for pid in pids[:3]:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            words = [a.decode("utf-8", "replace") for a in argv if a][:4]
            name = " ".join([Path(words[0]).name, *words[1:]]) if words else "git"
        except OSError:
            name = "git"
        shown.append(f"{name} (pid {pid})")
    return ", ".join(shown) + (f" and {len(pids) - 3} more" if len(pids) > 3 else "")


def remove_if_unchanged(lock: GitLock) -> bool:
    """Remove a stale git lock file, unless it was replaced or written since it was seen."""
    try:
        st = lock.path.lstat()
    except FileNotFoundError:
        return True  # gone by itself: whoever held it finished
    if st.st_ino != lock.inode or st.st_mtime_ns != lock.mtime_ns:
        return False
    lock.path.unlink(missing_ok=True)
    return True
