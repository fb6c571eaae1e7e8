"""Test isolation and helpers. Every test runs with its own HOME, XDG dirs and git identity.

incidentctl runs in this process (`run_cli`, `Cli`): the console script's own code,
`incidentctl.cli.app.run`, with the call's environment, working directory and
standard streams. Tests marked `process` are end-to-end: every call runs the
installed console script in a child process (`run_process`), as do the tests that
start it themselves (BIN) for a terminal, signals or a real exit.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "incidentctl"

# Typer reads these once, when it is imported, and the tests import it in this process:
# none of the developer's may colour or narrow the help that in-process calls print.
IMPORT_TIME_ENV = ("FORCE_COLOR", "PY_COLORS", "TERMINAL_WIDTH")
for _name in IMPORT_TIME_ENV:
    os.environ.pop(_name, None)


# The work tree of the repos `init` and `clone` make: sparse (the product's default) or
# full. INCIDENTCTL_TEST_CHECKOUT=full runs the whole suite on full checkouts; the
# `checkout_mode` fixture (tests/test_sparse_modes.py) runs a test in both.
CHECKOUT_MODE = os.environ.get("INCIDENTCTL_TEST_CHECKOUT", "sparse")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "process: end-to-end; every incidentctl call runs the console script in a child process",
    )


_as_process = False  # the current test is marked `process`


@pytest.fixture(autouse=True)
def cli_mode(request):
    """In a test marked `process`, `run_cli` and `Cli` start the console script."""
    global _as_process
    _as_process = request.node.get_closest_marker("process") is not None
    yield _as_process
    _as_process = False


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """Always on: no test sees the developer's HOME, config, git identity, colours or width."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith(("INCIDENTCTL_", "GIT_")) or name in (
            "NO_COLOR",
            "TZ",
            *IMPORT_TIME_ENV,
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test Responder\n\temail = responder@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
    )
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.setenv("INCIDENTCTL_LOCK_TIMEOUT", "30")
    monkeypatch.setenv("INCIDENTCTL_CHECKOUT", CHECKOUT_MODE)
    # no first-run question (the handle) on a terminal: tests/test_handle.py asks it
    monkeypatch.setenv("INCIDENTCTL_NO_FIRST_RUN", "1")
    return home


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


class _Pipe(io.BytesIO):
    """What a command writes to: bytes, like a pipe, and still readable after a close
    (a command that meets a broken pipe closes its stderr)."""

    def close(self) -> None:
        pass

    def text(self) -> str:
        # as `subprocess.run(..., text=True)` reads a child's output
        return self.getvalue().decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


@contextmanager
def _invocation(cwd: Path | None, env: dict | None, input: str | None):
    """A command's own process, as far as it can tell: the environment, working
    directory and standard streams are the call's for its duration, restored after."""
    saved_env = os.environ.copy()
    saved_cwd = os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    out, err = _Pipe(), _Pipe()
    stdin = io.TextIOWrapper(io.BytesIO((input or "").encode("utf-8")), encoding="utf-8")
    stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", write_through=True)
    try:
        os.environ.update(env or {})
        if cwd is not None:
            os.chdir(cwd)
        sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
        yield out, err
    finally:
        for stream in (stdout, stderr):
            if not stream.closed:
                stream.flush()
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        if os.environ != saved_env:
            os.environ.clear()
            os.environ.update(saved_env)


def run_cli(
    *args: str, cwd: Path | None = None, env: dict | None = None, input: str | None = None
) -> Result:
    """`incidentctl ARGS`: in this process, or in a child process in a test marked `process`."""
    runner = run_process if _as_process else run_in_process
    return runner(*args, cwd=cwd, env=env, input=input)


def run_in_process(
    *args: str, cwd: Path | None = None, env: dict | None = None, input: str | None = None
) -> Result:
    """`incidentctl ARGS` in this process, through `incidentctl.cli.app.run` (what the
    console script runs), with `env` added to the environment, `cwd` and `input` on
    stdin, for the call alone. stdout and stderr are captured apart, as text."""
    from incidentctl.cli.app import run

    with _invocation(cwd, env, input) as (out, err):
        try:
            code = run(list(args))
        except SystemExit as exc:  # as a process would end
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return Result(code, out.text(), err.text())


def run_process(
    *args: str, cwd: Path | None = None, env: dict | None = None, input: str | None = None
) -> Result:
    """`incidentctl ARGS` as the installed console script in a child process: for the
    end-to-end tests (start-up, exit status, signals, a process's own environment)."""
    full_env = dict(os.environ, **(env or {}))
    proc = subprocess.run(
        [str(BIN), *args],
        cwd=cwd,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


class Cli:
    """Runs incidentctl against one incident repo, as `run_cli` does; `process=True` or
    False chooses a child process or this one whatever the test's marks."""

    def __init__(self, repo: Path, *, process: bool | None = None) -> None:
        self.repo = repo
        self.process = process

    def __call__(self, *args: str, ok: bool = True, **kw) -> Result:
        process = _as_process if self.process is None else self.process
        runner = run_process if process else run_in_process
        result = runner("--repo", str(self.repo), *args, **kw)
        if ok and result.code != 0:
            raise AssertionError(f"incidentctl {' '.join(args)} -> {result.code}\n{result.err}")
        return result

    def declare(self, title: str = "API returning 503", *args: str, **kw) -> str:
        """Declare; return the new ID (stdout holds the Slack declaration, so ask for JSON)."""
        result = self("declare", title, "-s", kw.pop("severity", "P1"), *args, "--json", **kw)
        return result.json()["id"] if result.code == 0 else result.out.strip()

    def git(self, *args: str) -> str:
        return git(self.repo, *args)

    def commits(self) -> int:
        return int(self.git("rev-list", "--count", "HEAD").strip())


@pytest.fixture
def repo(tmp_path) -> Path:
    path = tmp_path / "incidents-repo"
    result = run_cli("init", str(path))
    assert result.code == 0, result.err
    return path


@pytest.fixture
def cli(repo) -> Cli:
    return Cli(repo)


def example(tmp_path: Path, name: str) -> Cli:
    """A repo made by `init --example NAME` ("waooaw", "white-room") in tmp_path/NAME."""
    path = tmp_path / name
    assert run_cli("init", "--example", name, str(path)).code == 0
    return Cli(path)


@pytest.fixture
def waooaw(tmp_path) -> Cli:
    return example(tmp_path, "waooaw")


@pytest.fixture
def white_room(tmp_path) -> Cli:
    return example(tmp_path, "white-room")


def add_config(cli: Cli, toml: str) -> None:
    """Append TOML (a table for a destination, say) to the repo's incidentctl.toml."""
    path = cli.repo / "incidentctl.toml"
    path.write_text(path.read_text() + toml)


@pytest.fixture
def no_proxy(monkeypatch):
    """HTTP to the fake servers on 127.0.0.1 goes direct, whatever proxy the machine
    sets. Use it with `pytestmark = pytest.mark.usefixtures("no_proxy")`."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def kill_a_flush(cli: Cli, reached: Callable[[], bool], env: dict | None = None) -> None:
    """Run `outbox flush` as a child process until `reached()` (the fake server holds
    its request unanswered, say), then SIGKILL it mid-request."""
    flusher = subprocess.Popen(
        [str(BIN), "--repo", str(cli.repo), "outbox", "flush"],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not reached() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reached(), "the flush never reached the server"
        flusher.send_signal(signal.SIGKILL)
        flusher.wait(30)
    finally:
        if flusher.poll() is None:
            flusher.kill()
