"""Three clones of one bare origin, random interleavings of declare, note, update, sync and
offline periods (hypothesis). After a final sync everywhere: identical event sets, no
event lost, unique human IDs, and every ID ever handed out still resolves.

The commands run in this process through the console script's code
(`incidentctl.cli.app.run`) rather than as subprocesses: the same code path, minus the
interpreter start-up, so hypothesis can afford more interleavings. The process boundary
(concurrency, SIGKILL) is tested with real subprocesses in test_reliability.py.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from incidentctl.cli.app import run
from teamrepos import bare_origin, edit_config, event_files

START = datetime(2026, 2, 12, 9, 0, tzinfo=UTC)
NAMES = ("a", "b", "c")  # c syncs automatically after every event (a local config edit)
TITLES = ("API returning 503", 'Search "down" <!channel>', "DB {{ 7*7 }} 🔥", "Disk; rm -rf /")


class Team(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="team-"))
        self.origin = bare_origin(self.root)
        self.clock = 0
        self.repos = [self.root / name for name in NAMES]
        self.online = [True] * len(NAMES)
        self.recorded: set[str] = set()  # every event ID a command reported as committed
        self.handed_out: list[tuple[str, str]] = []  # (human ID printed by declare, ULID)
        self.run("init", str(self.repos[0]), "--remote", str(self.origin))
        for repo in self.repos[1:]:
            self.run("clone", str(self.origin), str(repo))
        edit_config(self.repos[2], 'mode = "manual"', 'mode = "auto"', commit=False)

    # -- running the CLI ---------------------------------------------------------------
    def run(self, *argv: str, expect: int | None = 0) -> tuple[int, str, str]:
        self.clock += 1
        now = START + timedelta(minutes=self.clock)
        os.environ["INCIDENTCTL_NOW"] = now.isoformat()
        out, err = io.StringIO(), io.StringIO()
        try:
            with redirect_stdout(out), redirect_stderr(err):
                code = run(list(argv))
        finally:
            del os.environ["INCIDENTCTL_NOW"]
        assert "Traceback" not in err.getvalue()
        if expect is not None:
            assert code == expect, (argv, code, err.getvalue())
        return code, out.getvalue(), err.getvalue()

    def on(self, clone: int, *argv: str, expect: int | None = 0) -> tuple[int, str, str]:
        return self.run("--repo", str(self.repos[clone]), *argv, expect=expect)

    def record(self, clone: int, *argv: str) -> dict:
        _code, out, err = self.on(clone, *argv, "--json")
        data = json.loads(out)
        self.recorded.update(e["id"] for e in data["events"])
        if clone == 2 and self.online[2]:
            assert "warning: not synced" not in err, err
        return data

    def incidents_in(self, clone: int) -> list[str]:
        return sorted(p.name[:26] for p in self.repos[clone].glob("incidents/*/*") if p.is_dir())

    # -- rules -------------------------------------------------------------------------
    @rule(clone=st.integers(0, 2), title=st.sampled_from(TITLES))
    def declare(self, clone: int, title: str) -> None:
        data = self.record(clone, "declare", title, "-s", "P2")
        self.handed_out.append((data["id"], data["uid"]))

    @initialize()
    def everyone_declares(self) -> None:
        # each clone starts with an incident of its own, numbered -001 by all three
        for clone in range(len(NAMES)):
            self.declare(clone, TITLES[clone])

    @precondition(lambda self: self.recorded)
    @rule(clone=st.integers(0, 2), data=st.data())
    def note(self, clone: int, data: st.DataObject) -> None:
        incidents = self.incidents_in(clone)
        if incidents:
            uid = data.draw(st.sampled_from(incidents))
            self.record(clone, "note", uid[:12], f'note at {self.clock}: "x" {{{{ y }}}}')

    @precondition(lambda self: self.recorded)
    @rule(
        clone=st.integers(0, 2),
        data=st.data(),
        status=st.sampled_from(["investigating", "identified", "monitoring"]),
        severity=st.sampled_from(["P1", "P2", "P3"]),
    )
    def update(self, clone: int, data: st.DataObject, status: str, severity: str) -> None:
        incidents = self.incidents_in(clone)
        if incidents:
            uid = data.draw(st.sampled_from(incidents))
            self.record(clone, "update", uid, "--status", status, "--severity", severity, "-m", "u")

    @rule(clone=st.integers(0, 2))
    def sync(self, clone: int) -> None:
        code, _out, err = self.on(clone, "sync", expect=None)
        if self.online[clone]:
            assert code == 0, err
        else:
            assert code == 1 and err.startswith("error: offline:") and err.count("\n") == 1

    @rule(clone=st.integers(0, 2))
    def toggle_network(self, clone: int) -> None:
        self.online[clone] = not self.online[clone]
        url = str(self.origin) if self.online[clone] else str(self.root / "unreachable.git")
        subprocess.run(
            ["git", "-C", str(self.repos[clone]), "remote", "set-url", "origin", url], check=True
        )

    # -- the guarantees, after a final sync everywhere ------------------------------------
    def teardown(self) -> None:
        try:
            for clone in range(len(NAMES)):
                if not self.online[clone]:
                    self.toggle_network(clone)
            for clone in (0, 1, 2, 0, 1):
                self.on(clone, "sync")
            self.check_converged()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def check_converged(self) -> None:
        from incidentctl.services.lookup import find_incident
        from incidentctl.services.verify import verify_history
        from incidentctl.services.workspace import open_workspace

        sets = [event_files(repo) for repo in self.repos]
        assert sets[0] == sets[1] == sets[2]
        ids = {Path(p).stem.rsplit("-", 1)[-1] for p in sets[0]}
        assert self.recorded <= ids  # nothing lost
        for path in sets[0]:  # anything else is a renumbering made by sync
            if Path(path).stem.rsplit("-", 1)[-1] not in self.recorded:
                assert 'type = "renumbered"' in (self.repos[0] / path).read_text()
        for repo in self.repos:
            ws = open_workspace(str(repo))
            loaded, problems = ws.repo.load_all()
            assert not problems
            current = [item.state.human_id for item in loaded]
            assert len(current) == len(set(current)), current  # human IDs are unique
            states = {item.state.uid: item.state for item in loaded}
            for human_id, uid in self.handed_out:
                found = find_incident(ws, human_id).incident.state
                # the ID still resolves: to its incident, or to the one that kept the
                # number when its own incident was renumbered away from it
                assert found.uid == uid or (
                    human_id in states[uid].aliases and found.human_id == human_id
                )
                if found.uid != uid:
                    assert find_incident(ws, states[uid].human_id).incident.state.uid == uid
            assert verify_history(repo, [], signatures=False).ok


def test_clones_converge_without_losing_events(isolated_env):
    run_state_machine_as_test(
        Team,
        settings=settings(
            max_examples=10,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
