"""Read-only use cases: show, list and log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from incidentctl.services.lookup import find_incident
from incidentctl.services.outcome import Outcome
from incidentctl.services.workspace import Workspace

if TYPE_CHECKING:
    from incidentctl.domain.clocks import Clock
    from incidentctl.domain.incident import IncidentState
    from incidentctl.domain.policy import SeverityPolicy
    from incidentctl.store.git import LogEntry
    from incidentctl.store.repo import FileProblem


@dataclass
class IncidentView(Outcome):
    state: IncidentState
    policy: SeverityPolicy
    clocks: list[Clock]
    now: datetime
    path: str
    problems: list[FileProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        data = self.state.to_dict()
        data["path"] = self.path
        return data


def show(ws: Workspace, ref: str) -> IncidentView:
    from incidentctl.domain.clocks import incident_clocks
    from incidentctl.domain.policy import SeverityPolicy

    found = find_incident(ws, ref)
    state = found.incident.state
    policy = ws.config.severity.get(state.severity) or SeverityPolicy()
    current = ws.now()
    return IncidentView(
        state=state,
        policy=policy,
        clocks=incident_clocks(state, policy, current),
        now=current,
        path=ws.repo.rel(found.incident.folder),
        problems=found.incident.problems,
        notes=[n for n in (found.note, ws.undefined_severity(state)) if n],
    )


@dataclass
class Listing(Outcome):
    incidents: list[IncidentState]
    problems: list[FileProblem]


def list_incidents(
    ws: Workspace, *, include_resolved: bool, severities: list[str], since: str | None
) -> Listing:
    from incidentctl.services.record import time_option

    wanted = {ws.severity(text) for text in severities}
    since_at = time_option(ws, since, "--since") if since is not None else None
    loaded, problems = ws.repo.load_all()
    # decided on each incident's brief: only the states listed are unpickled
    states = [
        item.state
        for item, brief in ((item, item.brief) for item in loaded)
        if (include_resolved or brief.is_open)
        and (not wanted or brief.severity in wanted)
        and (since_at is None or brief.declared_at >= since_at)
    ]
    states.sort(key=lambda s: (s.declared_at, s.uid), reverse=True)
    return Listing(states, problems)


@dataclass
class History(Outcome):
    state: IncidentState
    entries: list[LogEntry]
    problems: list[FileProblem] = field(default_factory=list)


def history(ws: Workspace, ref: str) -> History:
    found = find_incident(ws, ref)
    entries = ws.repo.git.log(ws.repo.rel(found.incident.folder))
    return History(found.incident.state, entries, found.incident.problems)
