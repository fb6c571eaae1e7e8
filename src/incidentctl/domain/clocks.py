"""The response clocks of one incident so far, against its severity's targets. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from incidentctl.domain.incident import IncidentState
from incidentctl.domain.policy import SeverityPolicy


@dataclass(frozen=True)
class Clock:
    name: str  # the metric it feeds: MTTD, MTTA, MTTI, MTTM, MTTR
    label: str
    start: datetime
    end: datetime | None  # None: still running
    elapsed: timedelta  # never negative
    target: timedelta | None
    # why the clock cannot be measured (its end is before its start: a timeline an
    # earlier version let through); it then has no elapsed time and no verdict
    left_out: str = ""

    @property
    def running(self) -> bool:
        return self.end is None

    @property
    def breached(self) -> bool:
        return not self.left_out and self.target is not None and self.elapsed > self.target


def elapsed_since(start: datetime, now: datetime) -> timedelta:
    """Time from `start` to `now`, never negative: a start a little ahead of this
    clock (within `[incident] clock_skew`) has just begun."""
    return max(now - start, timedelta(0))


def _clock(name, label, start, end, now, target) -> Clock:
    if end is not None and end < start:
        return Clock(name, label, start, end, timedelta(0), target, "ends before it starts")
    return Clock(name, label, start, end, elapsed_since(start, end or now), target)


def incident_clocks(state: IncidentState, policy: SeverityPolicy, now: datetime) -> list[Clock]:
    """MTTD..MTTR for this incident. A clock whose start is unknown is not shown; one
    whose end comes before its start is shown as left out, without a duration."""
    out: list[Clock] = []
    open_ = state.is_open
    if state.detected_at is not None:
        out.append(_clock("MTTD", "detect", state.detected_at, state.declared_at, now, None))
    if state.acknowledged_at is not None or open_:
        out.append(
            _clock(
                "MTTA",
                "acknowledge",
                state.declared_at,
                state.acknowledged_at,
                now,
                policy.ack_within,
            )
        )
    if state.identified_at is not None or open_:
        out.append(_clock("MTTI", "identify", state.declared_at, state.identified_at, now, None))
    if state.identified_at is not None and (state.mitigated_at is not None or open_):
        out.append(_clock("MTTM", "mitigate", state.identified_at, state.mitigated_at, now, None))
    out.append(
        _clock("MTTR", "resolve", state.declared_at, state.resolved_at, now, policy.resolve_within)
    )
    return out
