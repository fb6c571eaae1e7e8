"""Where an incident stands in its runbooks: the answered steps, the next one, and the
phases whose time box has run out. Pure: derived from the folded events and a given `now`.

Answers come from `runbook_step` events, so a step answered on another clone and synced
in counts the same as one answered here. The latest answer to a step wins.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime, timedelta

from incidentctl.domain import events as ev
from incidentctl.domain.incident import IncidentState
from incidentctl.domain.runbook import Phase, Runbook, Step


@dataclass(frozen=True)
class StepAnswer:
    """The latest answer to one step."""

    step: str
    outcome: str
    option: str
    note: str
    at: datetime
    author: str
    evidence: str
    event_id: str


def step_answers(state: IncidentState, runbook_name: str) -> dict[str, StepAnswer]:
    answers: dict[str, StepAnswer] = {}
    for e in state.timeline:  # already in (at, recorded_at, id) order
        if isinstance(e, ev.RunbookStepAnswered) and e.runbook == runbook_name:
            answers[e.step] = StepAnswer(
                e.step, e.outcome, e.option, e.note, e.at, e.author, e.evidence, e.id
            )
    return answers


def first_unanswered(runbook: Runbook, answered: Container[str]) -> tuple[Phase, Step] | None:
    """Where a walk resumes: the first step, in runbook order, with no answer yet."""
    return next(((p, s) for p, s in runbook.iter_steps() if s.id not in answered), None)


@dataclass(frozen=True)
class PhaseClock:
    """A phase's time box against the time since the declaration."""

    elapsed: timedelta
    timebox: timedelta | None
    deadline: datetime | None

    @property
    def overrun(self) -> timedelta | None:
        if self.timebox is None or self.elapsed <= self.timebox:
            return None
        return self.elapsed - self.timebox


def phase_clock(phase: Phase, declared_at: datetime, at: datetime) -> PhaseClock:
    timebox = phase.timebox_delta
    deadline = declared_at + timebox if timebox is not None else None
    return PhaseClock(max(at - declared_at, timedelta(0)), timebox, deadline)  # never negative


@dataclass(frozen=True)
class PhaseProgress:
    phase: Phase
    answered: int
    total: int
    clock: PhaseClock  # at the phase's last answer if it is finished, else at `now`
    finished_at: datetime | None

    @property
    def status(self) -> str:
        if self.answered == self.total:
            return "done"
        return "in progress" if self.answered else "not started"

    @property
    def overrun(self) -> timedelta | None:
        """How far past its time box: still unfinished at `now`, or finished late."""
        return self.clock.overrun


@dataclass(frozen=True)
class RunbookProgress:
    runbook: Runbook
    answers: dict[str, StepAnswer]
    phases: list[PhaseProgress]
    next: tuple[Phase, Step] | None
    unknown_steps: list[str]  # answered steps the runbook no longer has

    @property
    def total(self) -> int:
        return sum(p.total for p in self.phases)

    @property
    def answered(self) -> int:
        return sum(p.answered for p in self.phases)

    @property
    def complete(self) -> bool:
        return self.next is None

    @property
    def overrun_phases(self) -> list[PhaseProgress]:
        return [p for p in self.phases if p.overrun is not None]


def runbook_progress(runbook: Runbook, state: IncidentState, now: datetime) -> RunbookProgress:
    answers = step_answers(state, runbook.name)
    phases = []
    for phase in runbook.phases:
        done = [answers[s.id] for s in phase.steps if s.id in answers]
        finished_at = max(a.at for a in done) if len(done) == len(phase.steps) else None
        clock = phase_clock(phase, state.declared_at, finished_at or now)
        phases.append(PhaseProgress(phase, len(done), len(phase.steps), clock, finished_at))
    known = {s.id for _, s in runbook.iter_steps()}
    unknown = [step for step in answers if step not in known]
    return RunbookProgress(runbook, answers, phases, first_unanswered(runbook, answers), unknown)
