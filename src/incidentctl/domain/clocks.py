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
    elapsed: timedelta
    target: timedelta | None

    @property
    def running(self) -> bool:
        return self.end is None

    @property
    def breached(self) -> bool:
        return self.target is not None and self.elapsed > self.target


def _clock(name, label, start, end, now, target) -> Clock:
    return Clock(name, label, start, end, (end or now) - start, target)


def incident_clocks(state: IncidentState, policy: SeverityPolicy, now: datetime) -> list[Clock]:
    """MTTD..MTTR for this incident. A clock whose start is unknown is left out."""
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
