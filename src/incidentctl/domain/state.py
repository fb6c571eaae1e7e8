"""Folding an incident's events, in (at, recorded_at, id) order, into its current state."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incidentctl.domain import events as ev
from incidentctl.domain.corrections import Amendment, corrected_view, is_retracted
from incidentctl.domain.timeparse import iso


class FoldError(ValueError):
    pass


@dataclass
class IncidentState:
    uid: str
    human_id: str
    title: str
    severity: str
    status: str
    declared_at: datetime
    aliases: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    impact: str = ""
    roles: dict[str, str] = field(default_factory=dict)
    responders: list[str] = field(default_factory=list)
    detected_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str = ""
    identified_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    root_cause: str = ""
    resolution: str = ""
    category: str = ""
    runbook: str = ""
    declared_by: str = ""
    timeline: list[ev.EventBase] = field(default_factory=list)
    # event ID -> how a later `corrected`/`retracted` event amended it (the timeline
    # holds the corrected copies; retracted events stay in it but were not applied)
    corrections: dict[str, Amendment] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"

    @property
    def commander(self) -> str:
        return self.roles.get("commander", "")

    @property
    def last_event_at(self) -> datetime:
        return self.timeline[-1].at if self.timeline else self.declared_at

    def summary_dict(self) -> dict[str, Any]:
        """The `list --json` shape."""
        return {
            "id": self.human_id,
            "uid": self.uid,
            "title": self.title,
            "severity": self.severity,
            "status": self.status,
            "services": list(self.services),
            "commander": self.commander,
            "declared_at": iso(self.declared_at),
            "resolved_at": iso(self.resolved_at),
        }

    def to_dict(self) -> dict[str, Any]:
        """The `show --json` shape (docs/json.md is the contract)."""
        return {
            "id": self.human_id,
            "uid": self.uid,
            "aliases": list(self.aliases),
            "title": self.title,
            "severity": self.severity,
            "status": self.status,
            "services": list(self.services),
            "impact": self.impact,
            "roles": dict(self.roles),
            "responders": list(self.responders),
            "declared_at": iso(self.declared_at),
            "detected_at": iso(self.detected_at),
            "acknowledged_at": iso(self.acknowledged_at),
            "identified_at": iso(self.identified_at),
            "mitigated_at": iso(self.mitigated_at),
            "resolved_at": iso(self.resolved_at),
            "root_cause": self.root_cause,
            "resolution": self.resolution,
            "category": self.category,
            "runbook": self.runbook,
            "timeline": [e.to_record() for e in self.timeline],
            "corrections": {k: v.to_dict() for k, v in self.corrections.items()},
        }


def sort_events(events: Iterable[ev.EventBase]) -> list[ev.EventBase]:
    return sorted(events, key=lambda e: e.sort_key())


def _add_responder(state: IncidentState, user: str) -> None:
    if user and user not in state.responders:
        state.responders.append(user)


def fold(events: Iterable[ev.EventBase]) -> IncidentState:
    """Derive the incident's state. Exactly one `declared` event is required."""
    ordered, amended = corrected_view(sort_events(events))
    declared = [e for e in ordered if isinstance(e, ev.Declared)]
    if not declared:
        raise FoldError("no 'declared' event")
    if len(declared) > 1:
        raise FoldError(f"{len(declared)} 'declared' events (expected one)")
    d = declared[0]
    state = IncidentState(
        uid=d.incident,
        human_id=d.human_id,
        title=d.title,
        severity=d.severity,
        status=d.status,
        declared_at=d.at,
        services=list(d.services),
        impact=d.impact,
        detected_at=d.detected_at,
        runbook=d.runbook,
        declared_by=d.author,
        timeline=ordered,
        corrections=amended,
    )
    if d.commander:
        state.roles["commander"] = d.commander
    for user in d.responders:
        _add_responder(state, user)
    for e in ordered:
        if not is_retracted(amended, e.id):
            _apply(state, e)
    return state


def _apply(state: IncidentState, e: ev.EventBase) -> None:
    match e:
        case ev.Acknowledged():
            if state.acknowledged_at is None:
                state.acknowledged_at = e.at
                state.acknowledged_by = e.author
            _add_responder(state, e.author)
        case ev.StatusChanged():
            _set_status(state, e.status, e.at)
        case ev.SeverityChanged():
            state.severity = e.severity
        case ev.ImpactChanged():
            state.impact = e.impact
        case ev.RoleAssigned():
            state.roles[e.role] = e.user
            _add_responder(state, e.user)
        case ev.Mitigated():
            if state.mitigated_at is None:
                state.mitigated_at = e.at
            if e.status:
                _set_status(state, e.status, e.at)
        case ev.Resolved():
            state.root_cause = e.root_cause
            state.resolution = e.resolution
            state.category = e.category or state.category
            if e.impact:
                state.impact = e.impact
            _set_status(state, "resolved", e.at)
        case ev.Reopened():
            _set_status(state, "investigating", e.at)
        case ev.Renumbered():
            if state.human_id not in state.aliases:
                state.aliases.append(state.human_id)
            state.human_id = e.human_id


def _set_status(state: IncidentState, status: str, at: datetime) -> None:
    state.status = status
    if status == "identified" and state.identified_at is None:
        state.identified_at = at
    if status == "resolved":
        state.resolved_at = at
    else:
        state.resolved_at = None
