"""Where an incident stands in its runbooks: the answered steps, the next one, and the
phases whose time box has run out. Pure: derived from the folded events and a given `now`.

Answers come from `runbook_step` events, so a step answered on another clone and synced
in counts the same as one answered here. The latest answer to a step wins.

A step with no answer may be satisfied by the timeline: its `satisfiers` (say
`declared`, or `sent:statuspage/investigating`) each match an event of the incident
(not a retracted one). Such a step counts as done, with the events that did it, and
the walk does not ask it. An answer, when there is one, wins over the timeline.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from incidentctl.domain import events as ev
from incidentctl.domain.incident import IncidentState
from incidentctl.domain.runbook import Phase, Runbook, Step

if TYPE_CHECKING:
    from incidentctl.domain.events import EventBase


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


@dataclass(frozen=True)
class Satisfaction:
    """The events that did a step, one per satisfier of the step, in its order."""

    step: str
    matches: tuple[tuple[str, EventBase], ...]  # (satisfier, the event that matched it)

    @property
    def event(self) -> EventBase:
        """The event that completed it: the latest of the matches."""
        return max((e for _, e in self.matches), key=lambda e: e.sort_key())

    @property
    def at(self) -> datetime:
        return self.event.at

    def summary(self) -> str:
        """What did it, e.g. "declared", "statuspage/investigating sent", "cto notified"."""
        events = {e.id: e for _, e in self.matches}  # one event may match two satisfiers
        return ", ".join(_what(e) for e in events.values())


def _what(event: EventBase) -> str:
    match event:
        case ev.CommunicationSent():
            return f"{event.template} sent"
        case ev.Notified():
            return f"{event.who} notified"
        case ev.RoleAssigned():
            return f"{event.role} assigned to {event.user}"
        case ev.Declared():
            return "declared"
    return event.type.replace("_", " ")


def _norm(value: str) -> str:
    return "-".join(value.strip().lower().lstrip("@").replace("_", "-").split())


def _matches(satisfier: str, event: EventBase) -> bool:
    kind, _, value = satisfier.partition(":")
    match event:
        case ev.Declared():
            return kind == "declared" or (
                kind == "assigned" and _norm(value) == "commander" and bool(event.commander)
            )
        case ev.Acknowledged():
            return kind == "acknowledged"
        case ev.Mitigated():
            return kind == "mitigated"
        case ev.Resolved():
            return kind == "resolved"
        case ev.Escalated():
            return kind == "escalated"
        case ev.RoleAssigned():
            return kind == "assigned" and (not value or _norm(value) == _norm(event.role))
        case ev.Notified():
            return kind == "notified" and (not value or _norm(value) == _norm(event.who))
        case ev.CommunicationSent():
            wanted = value.strip("/")
            return kind == "sent" and (
                not wanted or event.template == wanted or event.template.startswith(wanted + "/")
            )
    return False


def satisfaction(step: Step, state: IncidentState) -> Satisfaction | None:
    """The events of the timeline that satisfy `step`, if every one of its satisfiers
    has one (the first such event each); None if it has none or one is missing."""
    wanted = step.satisfiers
    if not wanted:
        return None
    retracted = {
        uid for uid, amendment in state.corrections.items() if amendment.status == "retracted"
    }
    events = [e for e in state.timeline if e.id not in retracted]
    found: list[tuple[str, EventBase]] = []
    for satisfier in wanted:
        event = next((e for e in events if _matches(satisfier, e)), None)
        if event is None:
            return None
        found.append((satisfier, event))
    return Satisfaction(step.id, tuple(found))


def satisfied_steps(
    runbook: Runbook, state: IncidentState, answered: Container[str] = ()
) -> dict[str, Satisfaction]:
    """The steps (not in `answered`) that the timeline satisfies, in runbook order."""
    out: dict[str, Satisfaction] = {}
    for _, step in runbook.iter_steps():
        if step.id in answered:
            continue
        found = satisfaction(step, state)
        if found is not None:
            out[step.id] = found
    return out


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
    answered: int  # answered or satisfied by the timeline
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
    satisfied: dict[str, Satisfaction] = field(default_factory=dict)  # steps done by events

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
    satisfied = satisfied_steps(runbook, state, answers)
    phases = []
    for phase in runbook.phases:
        done = [
            answers[s.id].at if s.id in answers else satisfied[s.id].at
            for s in phase.steps
            if s.id in answers or s.id in satisfied
        ]
        finished_at = max(done) if len(done) == len(phase.steps) else None
        clock = phase_clock(phase, state.declared_at, finished_at or now)
        phases.append(PhaseProgress(phase, len(done), len(phase.steps), clock, finished_at))
    known = {s.id for _, s in runbook.iter_steps()}
    unknown = [step for step in answers if step not in known]
    resume = first_unanswered(runbook, {*answers, *satisfied})
    return RunbookProgress(runbook, answers, phases, resume, unknown, satisfied)
