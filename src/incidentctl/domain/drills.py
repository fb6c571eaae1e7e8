"""Drills: a scenario file, the injects it plays, and the scoring of a response. Pure.

A scenario (TOML) holds a title and severity, timed injects ("+3m: customer support
ticket: Can't login"), the runbook the team is expected to follow, and the targets
the response is scored against (MTTA, MTTI, MTTM, MTTR; a target left out falls back
on the severity policy). A drill played at `--speed N` runs N times faster than the
scenario: its timeline is scored in scenario time, each moment moved to
`declared + (moment - declared) * N`, so the same rules and clocks apply as to a real
incident.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from incidentctl.domain.policy import Duration
from incidentctl.domain.timeparse import TimeParseError, parse_duration

_INJECT_RE = re.compile(r"^\s*\+\s*([0-9][0-9hmsdw]*)\s*:\s*(\S.*)$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Inject:
    offset: timedelta  # after the drill starts, in scenario time
    text: str

    @property
    def label(self) -> str:
        from incidentctl.domain.timeparse import compact_duration

        return f"+{compact_duration(self.offset)}" if self.offset else "+0m"


def parse_inject(text: str) -> Inject:
    """'+3m: customer support ticket: Can't login' -> Inject(3m, "customer support ...")."""
    m = _INJECT_RE.match(text)
    if not m:
        raise ValueError(f"not an inject: {text!r} (write it as '+3m: what happens')")
    try:
        offset = parse_duration(m[1])
    except TimeParseError as exc:
        raise ValueError(f"inject {text!r}: {exc}") from None
    return Inject(offset, m[2].strip())


def _injects(values: list[str]) -> list[str]:
    parsed = [parse_inject(v) for v in values]
    offsets = [i.offset for i in parsed]
    if offsets != sorted(offsets):
        raise ValueError("injects must come in time order")
    return values


class Targets(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mtta: Duration | None = None
    mtti: Duration | None = None
    mttm: Duration | None = None
    mttr: Duration | None = None
    update_every: Duration | None = None  # the cadence to keep (default: the severity's)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=NAME_RE.pattern)] = "scenario"
    title: Annotated[str, Field(min_length=1, max_length=1000)]
    severity: str
    kind: str = ""  # simulation, tabletop, major...; "" means [drills] kind
    description: str = ""
    source: str = ""  # where the story comes from
    services: list[str] = []
    impact: str = ""
    customers_affected: Annotated[int, Field(ge=0)] | None = None
    category: str = ""
    runbook: str = ""  # the runbook the team is expected to follow
    injects: Annotated[list[str], AfterValidator(_injects)] = []
    targets: Targets = Targets()

    @property
    def timed(self) -> list[Inject]:
        return [parse_inject(v) for v in self.injects]

    @property
    def length(self) -> timedelta:
        timed = self.timed
        return timed[-1].offset if timed else timedelta(0)


def scenario_time(moment: datetime, start: datetime, speed: float) -> datetime:
    return start + (moment - start) * speed


def rescaled(events: list[Any], start: datetime, speed: float) -> list[Any]:
    """The events with every `at` (and a review's time) moved into scenario time."""
    if speed == 1:
        return list(events)
    out = []
    for e in events:
        update: dict[str, Any] = {"at": scenario_time(e.at, start, speed)}
        if getattr(e, "detected_at", None) is not None:
            update["detected_at"] = scenario_time(e.detected_at, start, speed)
        out.append(e.model_copy(update=update))
    return out


@dataclass(frozen=True)
class MetricScore:
    name: str  # MTTA...
    label: str
    elapsed: timedelta | None  # None: the clock never stopped
    target: timedelta | None
    running: bool = False

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        if self.elapsed is None:
            return False
        return self.elapsed <= self.target and not self.running


@dataclass(frozen=True)
class StepScore:
    phase: str
    step: str
    outcome: str  # done, skipped, failed, decided, or "" (not answered)
    answered_after: timedelta | None
    timebox: timedelta | None

    @property
    def on_time(self) -> bool | None:
        if self.timebox is None:
            return None
        if self.answered_after is None:
            return False
        return self.answered_after <= self.timebox


@dataclass
class CadenceScore:
    every: timedelta | None
    updates: int
    longest_gap: timedelta | None
    late_gaps: int

    @property
    def kept(self) -> bool | None:
        if self.every is None:
            return None
        return self.late_gaps == 0


@dataclass
class DrillScore:
    incident: str
    title: str
    scenario: str
    severity: str
    speed: float
    injects: int
    metrics: list[MetricScore]
    cadence: CadenceScore
    obligations: list[Any]  # RuleCheck, met/missed/pending
    steps: list[StepScore] = field(default_factory=list)
    runbook: str = ""

    @property
    def points(self) -> tuple[int, int]:
        """(met, judged) over every scored item with a verdict."""
        verdicts = [m.met for m in self.metrics]
        verdicts.append(self.cadence.kept)
        verdicts += [o.met for o in self.obligations]
        verdicts += [s.on_time for s in self.steps]
        judged = [v for v in verdicts if v is not None]
        return sum(1 for v in judged if v), len(judged)


def gaps(times: list[datetime], end: datetime) -> list[timedelta]:
    """The gaps between consecutive updates, and from the last to `end`."""
    ordered = sorted(times)
    out = [b - a for a, b in itertools.pairwise(ordered)]
    if ordered and end > ordered[-1]:
        out.append(end - ordered[-1])
    return out
