"""One write path: only store/writer.py commits, each event is serialised once (the bytes
its Event-Sha256 names are the bytes written), records that are not events share the
crash journal, and the modules on the way import in one direction."""

from __future__ import annotations

import ast
import hashlib
import re
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import Cli, git
from incidentctl.domain import events as ev
from incidentctl.errors import GitError
from incidentctl.store import commits, writer
from incidentctl.store.initialise import init_repo
from incidentctl.store.repo import IncidentRepo

SRC = Path(writer.__file__).resolve().parents[1]  # src/incidentctl
WRITER = SRC / "store" / "writer.py"
GIT_RUNNER = SRC / "store" / "git.py"
COMMIT_CALL = re.compile(r"\.commit_paths\(")
# git commit run any other way: the CLI ("commit", ...), GitPython's index or command
GIT_COMMIT = re.compile(r"""["']commit["']\s*,|\b(?:index|cmd)\.commit\(|["']commit-tree["']""")


def _sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_only_the_writer_commits():
    callers = [p for p in _sources() if COMMIT_CALL.search(p.read_text(encoding="utf-8"))]
    assert callers == [WRITER]
    runners = [p for p in _sources() if GIT_COMMIT.search(p.read_text(encoding="utf-8"))]
    assert runners == [GIT_RUNNER]  # inside Git.commit_paths, which only the writer calls


def test_the_guard_sees_a_commit_elsewhere():
    assert COMMIT_CALL.search("    ws.repo.git.commit_paths([rel], message)")
    assert GIT_COMMIT.search('git.run("commit", "-m", message)')
    assert GIT_COMMIT.search("repo.index.commit(message)")


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def _cycles(package: str) -> list[list[str]]:
    """Import cycles among the modules of `package`, counting every import: at the top,
    inside functions and under TYPE_CHECKING."""
    folder = SRC / package
    modules = {f"incidentctl.{package}.{p.stem}": p for p in folder.glob("*.py")}
    graph = {m: {d for d in _imports(p) if d in modules and d != m} for m, p in modules.items()}
    cycles, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        for dep in sorted(graph[module]):
            if dep in path:
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in done:
                visit(dep, [*path, dep])
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    return cycles


@pytest.mark.parametrize("package", ["services", "store"])
def test_no_import_cycles(package):
    assert _cycles(package) == []


def test_the_store_imports_no_service():
    for path in (SRC / "store").glob("*.py"):
        upward = [m for m in _imports(path) if m.startswith("incidentctl.services")]
        assert upward == [], path.name


def _declared(at: datetime) -> ev.Declared:
    uid = "01KHAPZB8W6S5FJ4W0NQ3Q9A1X"
    return ev.Declared(
        id=uid,
        incident=uid,
        at=at,
        recorded_at=at,
        author="@sarah",
        human_id="INC-2026-02-12-001",
        title="API down",
        severity="P1",
    )


def test_an_event_is_serialised_once_and_its_digest_is_of_the_bytes_written(tmp_path, monkeypatch):
    init_repo(tmp_path / "r")
    repo = IncidentRepo(tmp_path / "r")
    calls = []
    real = writer.serialise_event
    monkeypatch.setattr(writer, "serialise_event", lambda e: calls.append(e) or real(e))
    event = _declared(datetime(2026, 2, 12, 14, 0, tzinfo=UTC))
    with writer.writing(repo) as w:
        done = w.event(repo.new_folder(event.id, "API down"), "INC-2026-02-12-001", event, "hi")
    assert calls == [event]
    assert w.written == [done] and w.recovered == []
    data = (repo.root / done.path).read_bytes()
    message = git(repo.root, "log", "-1", "--format=%B").rstrip("\n")
    trailers = dict(commits.parse_message(message)[2])
    assert trailers[commits.EVENT_SHA256] == hashlib.sha256(data).hexdigest()


KILLED_RECORD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path

    from incidentctl.store import commits
    from incidentctl.store.git import Git
    from incidentctl.store.repo import IncidentRepo
    from incidentctl.store.writer import writing

    repo = IncidentRepo(Path(sys.argv[1]))
    Git.commit_paths = lambda self, paths, message: os._exit(9)  # killed before the commit
    with writing(repo) as w:
        w.record(sys.argv[2], b"text\\n", commits.message("a record", "", [("Event", "x")]))
    """
)


def test_a_record_killed_before_its_commit_is_committed_by_the_next_command(cli: Cli):
    inc = cli.declare()
    rel = "oncall/overrides/20260212T140000.000Z-01KH92DJR0RGZJNNATFZ84GA7N.toml"
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_RECORD, str(cli.repo), rel], capture_output=True, text=True
    )
    assert proc.returncode == 9, proc.stderr
    assert f"?? {rel}" in cli.git("status", "--porcelain", "--untracked-files=all")

    result = cli("note", inc, "after the crash")
    assert f"recovered {rel}" in result.err
    recovered = cli.git("log", "-1", "--skip=1", "--name-only", "--format=%B")
    assert recovered.startswith("a record\n\nEvent: x\nRecovered: true\n")
    assert rel in recovered.splitlines()
    assert cli.git("status", "--porcelain", "--untracked-files=all") == ""


def test_a_refused_record_leaves_neither_file_nor_folder(cli: Cli):
    hook = cli.repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'refused by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    repo = IncidentRepo(cli.repo)
    with writer.writing(repo) as w, pytest.raises(GitError, match="refused by policy"):
        w.record("oncall/overrides/x.toml", b"x\n", "refused")
    assert not (cli.repo / "oncall").exists()
    assert not list((repo.git_dir / "incidentctl" / "pending").iterdir())
    assert git(cli.repo, "status", "--porcelain", "--untracked-files=all") == ""
