"""The repo lock: one incidentctl writer at a time per clone, released if the process dies."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from incidentctl.errors import LockTimeout, RepoError

TIMEOUT_ENV = "INCIDENTCTL_LOCK_TIMEOUT"
DEFAULT_TIMEOUT = 60.0  # seconds; $INCIDENTCTL_LOCK_TIMEOUT sets another


class RepoLock:
    """An flock on <git-dir>/incidentctl.lock. The kernel drops it when the holder dies,
    so a crash never leaves a lock that blocks the next command."""

    def __init__(self, git_dir: Path, timeout: float | None = None) -> None:
        from incidentctl.environment import seconds

        self.path = git_dir / "incidentctl.lock"
        self.timeout = seconds(TIMEOUT_ENV, DEFAULT_TIMEOUT) if timeout is None else timeout
        self._fd: int | None = None

    def __enter__(self) -> RepoLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RepoError(
                f"cannot take the repo lock {self.path}: {exc.strerror}",
                hint="is this a git repo you can write to? (incidentctl init PATH makes one)",
            ) from None
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockTimeout(
                        f"another incidentctl process has held {self.path} for {self.timeout:.0f}s",
                        hint="wait for it to finish, or find it with: fuser " + str(self.path),
                    ) from None
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
