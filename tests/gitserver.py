"""A real git server for the team tests: `git daemon` on 127.0.0.1, pushes enabled.

The clones reach it over the git:// protocol (`git://127.0.0.1:PORT/NAME.git`), so a
push goes through a real `git-receive-pack` on the other side of a socket: its
`remote:` lines, its ref locks, its hooks, exactly as with a team's server.

`.ci/run` starts one daemon for the whole run and exports where it is:

    INCIDENTCTL_TEST_GIT_DAEMON=git://127.0.0.1:PORT
    INCIDENTCTL_TEST_GIT_DAEMON_DIR=/the/base/path

When those are unset (a plain `pytest`), the first test that asks starts a daemon of
its own, for the rest of the test process, and stops it at exit. A test that must stop
the server (the server going away mid-push) starts its own `GitDaemon` instead.

Use: the `git_server` fixture (import it into the test module), or `shared()`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ENV_URL = "INCIDENTCTL_TEST_GIT_DAEMON"
ENV_DIR = "INCIDENTCTL_TEST_GIT_DAEMON_DIR"
# read at import: the tests' isolation fixture clears INCIDENTCTL_* for every test
_FROM_ENV = (os.environ.get(ENV_URL, ""), os.environ.get(ENV_DIR, ""))


@dataclass(frozen=True)
class Hosted:
    """One bare repo on the server: where it is on disk, and how clones reach it."""

    path: Path
    url: str


@dataclass
class GitServer:
    """A running git daemon serving the bare repos under `base`."""

    base: Path
    url: str  # git://127.0.0.1:PORT

    def new_repo(self, name: str = "origin.git", initial_branch: str = "main") -> Hosted:
        """A new, empty bare repo on the server, under a folder of its own (so tests
        sharing one server never meet). `initial_branch` is where its HEAD points."""
        folder = f"t-{uuid.uuid4().hex[:12]}/{name}"
        path = self.base / folder
        path.parent.mkdir(parents=True)
        subprocess.run(
            ["git", "init", "-q", "--bare", "-b", initial_branch, str(path)],
            check=True,
            capture_output=True,
        )
        return Hosted(path, f"{self.url}/{folder}")

    def url_for(self, path: Path) -> str:
        """The git:// URL of a repo already under the base path."""
        return f"{self.url}/{path.resolve().relative_to(self.base.resolve()).as_posix()}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class GitDaemon:
    """`git daemon --enable=receive-pack` on 127.0.0.1, started and stopped by its owner.

    `with GitDaemon(base) as server:` or `start()` / `stop()`; `stop()` then `start()`
    again brings it back on the same port (a server that went away and came back)."""

    def __init__(self, base: Path, port: int | None = None) -> None:
        self.base = base
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def server(self) -> GitServer:
        return GitServer(self.base, f"git://127.0.0.1:{self.port}")

    def command(self) -> list[str]:
        return [
            "git",
            "daemon",
            "--reuseaddr",
            f"--base-path={self.base}",
            "--export-all",
            "--enable=receive-pack",
            "--informative-errors",
            "--listen=127.0.0.1",
            f"--port={self.port}",
        ]

    def start(self, timeout: float = 10.0) -> GitServer:
        self.base.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        while True:
            self.proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            while self.proc.poll() is None and time.monotonic() < deadline:
                if _listening(self.port):
                    return self.server
                time.sleep(0.05)
            if self.proc.poll() is None:
                self.stop()
                raise RuntimeError(f"git daemon did not listen on port {self.port}")
            if time.monotonic() >= deadline:
                raise RuntimeError(f"git daemon exited with {self.proc.returncode}")
            time.sleep(0.1)  # the port was taken between free_port() and now: try again

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> GitServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


_shared: GitServer | None = None


def shared() -> GitServer:
    """The server of this test run: the one `.ci/run` started, else one of this process's
    own (started on first use, stopped at exit)."""
    global _shared
    if _shared is None:
        url, base = _FROM_ENV
        if url and base:
            _shared = GitServer(Path(base), url.rstrip("/"))
        else:
            root = Path(tempfile.mkdtemp(prefix="incidentctl-gitd-"))
            daemon = GitDaemon(root)
            _shared = daemon.start()
            atexit.register(shutil.rmtree, root, ignore_errors=True)
            atexit.register(daemon.stop)
    return _shared


@pytest.fixture
def git_server() -> GitServer:
    """The running git server (see `shared`)."""
    return shared()
