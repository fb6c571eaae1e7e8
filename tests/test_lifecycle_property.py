"""A property of every lifecycle command (docs/lifecycle.md): for any sequence, with any
`--at` (before or after the declaration, out of order, a little or far in the future),
each command either refuses with exit 2 and writes nothing, or records events after
which the lifecycle holds, no duration is negative, and the message it announces says
what the folded state says."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from incidentctl.domain.lifecycle import breaches
from incidentctl.domain.metrics import incident_metrics
from incidentctl.domain.policy import STATUSES
from incidentctl.errors import ExitCode, IncidentctlError
from incidentctl.services import incidents
from incidentctl.services.announce import publish
from incidentctl.services.queries import show
from incidentctl.services.workspace import NOW_ENV, open_workspace

T0 = datetime(2026, 2, 12, 10, 0, tzinfo=UTC)  # the declaration, give or take its --at
START = T0 + timedelta(hours=2)  # "now" when the first command runs; each next is 1s on
NEGATIVE = re.compile(r"-\d+ ?(?:s|m|h|d|seconds?|minutes?|hours?|days?)\b")
TEMPLATES = {
    "declare": "slack/declared",
    "update": "slack/update",
    "mitigate": "slack/update",
    "resolve": "slack/resolved",
}

# an --at: none (now), minutes around the declaration, or seconds around now
offsets = st.one_of(
    st.none(),
    st.none(),
    st.integers(min_value=-60, max_value=150).map(lambda m: ("decl", m)),
    st.sampled_from([-5, 0, 10, 29, 31, 300]).map(lambda s: ("now", s)),
)
commands = st.tuples(
    st.sampled_from(["ack", "update", "mitigate", "resolve", "resolve", "reopen", "note"]),
    st.sampled_from(STATUSES),
    st.booleans(),
    offsets,
)


def _at(offset, now: datetime) -> str | None:
    if offset is None:
        return None
    base, amount = offset
    if base == "decl":
        return (T0 + timedelta(minutes=amount)).isoformat()
    return (now + timedelta(seconds=amount)).isoformat()


@contextmanager
def _repo():
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r"
        from incidentctl.store.initialise import init_repo

        init_repo(path)
        saved = os.environ.get(NOW_ENV)
        try:
            yield path
        finally:
            if saved is None:
                os.environ.pop(NOW_ENV, None)
            else:
                os.environ[NOW_ENV] = saved


def _git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=path, check=True, capture_output=True, text=True
    ).stdout


def _run(ws, inc: str, name: str, status: str, flag: bool, at: str | None):
    by = "@prop"
    if name == "ack":
        return incidents.acknowledge(ws, inc, by=by, at=at)
    if name == "update":
        return incidents.update(ws, inc, incidents.Update(status=status, message="m"), by=by, at=at)
    if name == "mitigate":
        return incidents.mitigate(ws, inc, "rolled back", flag, by=by, at=at)
    if name == "resolve":
        return incidents.resolve(ws, inc, "cause", "fix", "", "", by=by, at=at)
    if name == "reopen":
        return incidents.reopen(ws, inc, "back", by=by, at=at)
    return incidents.note(ws, inc, "context", "finding", by=by, at=at)


def _check_state(ws, inc: str, now: datetime, name: str, result) -> None:
    view = show(ws, inc)
    state = view.state
    assert state.status in STATUSES
    assert breaches(state.timeline) == []
    assert state.is_open == (state.resolved_at is None)
    for moment in (state.acknowledged_at, state.identified_at, state.mitigated_at):
        assert moment is None or moment >= state.declared_at
    if state.resolved_at is not None:
        assert state.resolved_at >= state.declared_at
        assert state.mitigated_at is None or state.mitigated_at <= state.resolved_at
    # every duration shown: show's clocks, list's and status's age, the review's metrics
    for clock in view.clocks:
        assert clock.elapsed >= timedelta(0), clock
        # left out only when its end is before its start (mitigated, then identified)
        assert not clock.left_out or (clock.end is not None and clock.end < clock.start)
        assert not (clock.left_out and clock.breached)
    assert state.age(now) >= timedelta(0)
    for metric in incident_metrics(state, ws.config.severity.get(state.severity)):
        assert metric.value is None or metric.value >= timedelta(0)
    # the command's result is the fold after its events, and so is what it announces
    assert result.state.status == state.status
    template = TEMPLATES.get(name)
    if template is not None:
        published = publish(ws, result, template=template)
        assert not published.problems, published.problems
        text = published.rendered.text
        assert ("RESOLVED" in text) == (state.status == "resolved"), (name, state.status, text)
        if template == "slack/update":
            assert f"Status: {state.status.title()}" in text, text
        assert not NEGATIVE.search(text), text


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    declared_at=st.integers(min_value=-30, max_value=30),
    steps=st.lists(commands, min_size=1, max_size=8),
)
def test_every_lifecycle_command_refuses_cleanly_or_leaves_a_possible_lifecycle(declared_at, steps):
    with _repo() as path:
        os.environ[NOW_ENV] = START.isoformat()
        ws = open_workspace(str(path))
        declaration = incidents.Declaration(
            "API down", "P1", [], at=(T0 + timedelta(minutes=declared_at)).isoformat()
        )
        result = incidents.declare(ws, declaration)
        inc = result.state.human_id
        _check_state(ws, inc, START, "declare", result)
        for i, (name, status, flag, offset) in enumerate(steps, start=1):
            now = START + timedelta(seconds=i)
            os.environ[NOW_ENV] = now.isoformat()
            commits = _git(path, "rev-list", "--count", "HEAD")
            at = _at(offset, now)
            try:
                result = _run(ws, inc, name, status, flag, at)
            except IncidentctlError as exc:
                assert exc.exit_code == ExitCode.USAGE, (name, at, exc.message)
                event(f"{name} refused")
                assert _git(path, "rev-list", "--count", "HEAD") == commits
                assert _git(path, "status", "--porcelain") == ""
                continue
            assert result.recorded, (name, at)
            event(f"{name} recorded")
            _check_state(ws, inc, now, name, result)
