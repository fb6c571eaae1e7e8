"""Test isolation and helpers. Every test runs with its own HOME, XDG dirs and git identity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "incidentctl"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """Always on: no test sees the developer's HOME, config, git identity, colours or width."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith(("INCIDENTCTL_", "GIT_")) or name in ("NO_COLOR", "FORCE_COLOR", "TZ"):
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
    return home


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def run_cli(
    *args: str, cwd: Path | None = None, env: dict | None = None, input: str | None = None
) -> Result:
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
    """Runs the installed console script against one incident repo."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo

    def __call__(self, *args: str, ok: bool = True, **kw) -> Result:
        result = run_cli("--repo", str(self.repo), *args, **kw)
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
