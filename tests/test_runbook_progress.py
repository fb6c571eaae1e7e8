"""Runbook progress, resumption and suggestions: pure domain code on a fixed clock."""

from __future__ import annotations

import random
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from incidentctl.domain import events as ev
from incidentctl.domain.runbook import Runbook, parse_runbook, suggest_runbooks
from incidentctl.domain.runbook_progress import first_unanswered, runbook_progress, step_answers
from incidentctl.domain.state import fold
from incidentctl.domain.ulid import new_ulid

RUNBOOKS = Path(__file__).resolve().parents[1] / "src" / "incidentctl" / "runbooks"
T0 = datetime(2026, 2, 12, 14, 23, tzinfo=UTC)
UID = new_ulid(T0, b"\x00" * 10)


def builtin(name: str) -> Runbook:
    with (RUNBOOKS / f"{name}.toml").open("rb") as fh:
        return parse_runbook(tomllib.load(fh), f"{name}.toml")


def declared(runbook: str = "") -> ev.Declared:
    return ev.Declared(
        id=UID,
        incident=UID,
        at=T0,
        recorded_at=T0,
        author="@sarah",
        human_id="INC-2026-02-12-001",
        title="API returning 503",
        severity="P0",
        runbook=runbook,
    )


def answer(
    step: str, outcome: str = "done", minutes: float = 1, option: str = "", runbook="api-outage"
) -> ev.RunbookStepAnswered:
    at = T0 + timedelta(minutes=minutes)
    return ev.RunbookStepAnswered(
        id=new_ulid(at),
        incident=UID,
        at=at,
        recorded_at=at,
        author="@mike",
        runbook=runbook,
        step=step,
        outcome=outcome,
        option=option,
    )


def test_fold_keeps_the_latest_answer_per_runbook_and_step() -> None:
    state = fold(
        [
            declared("api-outage"),
            answer("declare", "failed", 1),
            answer("declare", "done", 2),
            answer("mitigate", "decided", 3, option="B"),
            answer("alert-received", "skipped", 4, runbook="standard-response"),
        ]
    )
    assert state.runbook_steps == {
        "api-outage": {"declare": "done", "mitigate": "decided"},
        "standard-response": {"alert-received": "skipped"},
    }
    assert state.to_dict()["runbook_steps"] == state.runbook_steps
    assert step_answers(state, "api-outage")["mitigate"].option == "B"


def test_resume_is_the_first_unanswered_step_in_runbook_order() -> None:
    runbook = builtin("api-outage")
    assert first_unanswered(runbook, set())[1].id == "declare"
    # answered out of order (e.g. a later step recorded on another clone)
    phase, step = first_unanswered(runbook, {"declare", "page", "review-logs"})
    assert (phase.id, step.id) == ("immediate", "check-infrastructure")
    every = {s.id for _, s in runbook.iter_steps()}
    assert first_unanswered(runbook, every) is None


def test_progress_reports_overrun_and_late_phases() -> None:
    runbook = builtin("api-outage")
    events = [declared("api-outage")]
    # the immediate phase (time box 5m) finished at minute 7: two minutes late
    events += [answer(s, minutes=m) for s, m in [("declare", 1), ("page", 2)]]
    events += [answer("check-infrastructure", minutes=3), answer("check-deployments", minutes=7)]
    state = fold(events)
    progress = runbook_progress(runbook, state, T0 + timedelta(minutes=20))
    by_id = {p.phase.id: p for p in progress.phases}

    immediate = by_id["immediate"]
    assert immediate.status == "done"
    assert immediate.finished_at == T0 + timedelta(minutes=7)
    assert immediate.overrun == timedelta(minutes=2)
    assert immediate.clock.deadline == T0 + timedelta(minutes=5)

    comms = by_id["customer-communication"]  # 15m box, untouched at minute 20
    assert comms.status == "not started"
    assert comms.overrun == timedelta(minutes=5)

    assert by_id["investigation"].overrun is None  # no time box, never overrun
    assert [p.phase.id for p in progress.overrun_phases] == ["immediate", "customer-communication"]
    assert (progress.answered, progress.total) == (4, 12)
    assert progress.next[1].id == "review-logs"
    assert not progress.complete


def test_progress_within_time_box_is_not_overrun() -> None:
    runbook = builtin("api-outage")
    state = fold([declared(), answer("declare", minutes=1)])
    progress = runbook_progress(runbook, state, T0 + timedelta(minutes=4))
    assert progress.overrun_phases == []
    assert progress.phases[0].status == "in progress"


def test_answers_to_steps_a_runbook_no_longer_has_are_reported() -> None:
    state = fold([declared(), answer("gone-step"), answer("declare")])
    progress = runbook_progress(builtin("api-outage"), state, T0)
    assert progress.unknown_steps == ["gone-step"]
    assert progress.answered == 1


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_resumption_does_not_depend_on_event_order(data) -> None:
    """Clones append answers in any order; the fold and the resume point agree."""
    runbook = builtin("standard-response")
    ids = [s.id for _, s in runbook.iter_steps()]
    chosen = data.draw(st.lists(st.sampled_from(ids), unique=True, max_size=len(ids)))
    events = [declared(), *(answer(s, minutes=i + 1) for i, s in enumerate(chosen))]
    shuffled = list(events)
    random.Random(data.draw(st.integers())).shuffle(shuffled)
    state = fold(shuffled)
    assert state.runbook_steps.get("api-outage", {}) == dict.fromkeys(chosen, "done")
    expected = next((s for s in ids if s not in chosen), None)
    found = first_unanswered(runbook, state.runbook_steps.get("api-outage", {}))
    assert (found[1].id if found else None) == expected


def test_suggestions_by_service_and_symptom() -> None:
    runbooks = [builtin(n) for n in ("api-outage", "scheduler-failure", "standard-response")]
    by_service = suggest_runbooks(runbooks, ["api"], "Something is off")
    assert [s.name for s in by_service] == ["api-outage", "standard-response"]
    assert by_service[0].reasons == ("service api",)

    by_symptom = suggest_runbooks(
        runbooks, [], "Scheduler health check failed, goals not executing"
    )
    assert by_symptom[0].name == "scheduler-failure"
    assert by_symptom[0].score > by_symptom[1].score

    nothing = suggest_runbooks(runbooks, ["billing"], "Invoices look odd")
    assert [(s.name, s.score) for s in nothing] == [("standard-response", 0)]
