"""The folded state of one incident, and the records it holds. Light to import.

`list`, `status` and `metrics` read cached states without a single event model: this
module must not import `incidentctl.domain.events` (its pydantic models take longer to
build than a warm `list` takes to run). The fold that builds these is in `state.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from incidentctl.domain.review import ActionItem
from incidentctl.domain.timeparse import iso

if TYPE_CHECKING:
    from incidentctl.domain.events import EventBase


@dataclass(frozen=True)
class Communication:
    """A `communication_sent` event as the state keeps it: what the clocks and the
    review ask of it, and the event's record for `--json`."""

    at: datetime
    template: str
    audience: str
    record: dict[str, Any]

    def to_record(self) -> dict[str, Any]:
        return dict(self.record)


@dataclass
class Amendment:
    """What happened to one event: the corrections that apply to it, or its retraction."""

    corrected_by: list[str] = field(default_factory=list)
    retracted_by: str = ""
    retraction_reason: str = ""
    original: dict[str, Any] = field(default_factory=dict)  # field -> value as recorded

    @property
    def status(self) -> str:
        return "retracted" if self.retracted_by else "corrected"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "corrected_by": list(self.corrected_by),
            "retracted_by": self.retracted_by,
            "retraction_reason": self.retraction_reason,
            "original": {k: iso(v) if k == "at" else v for k, v in self.original.items()},
        }


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
    identified_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    root_cause: str = ""
    resolution: str = ""
    category: str = ""
    runbook: str = ""
    declared_by: str = ""
    timeline: list[EventBase] = field(default_factory=list)
    escalation_level: int = 1  # technical escalation: 1 is the on-call engineer
    escalated_at: datetime | None = None
    escalated_to: str = ""
    notified: dict[str, datetime] = field(default_factory=dict)  # who -> first notified at
    pir: dict[str, list[str]] = field(default_factory=dict)  # review section -> entries in order
    pir_scheduled_at: datetime | None = None  # the review meeting
    pir_completed_at: datetime | None = None
    pir_scheduled_when: datetime | None = None  # when the review was first scheduled
    actions: list[ActionItem] = field(default_factory=list)
    # runbook name -> step id -> latest outcome (done, skipped, failed, decided)
    runbook_steps: dict[str, dict[str, str]] = field(default_factory=dict)
    last_communication_at: datetime | None = None
    communications: list[Communication] = field(default_factory=list)
    # each `paged` event's record, in order (target, action, dedup_key, outcome)
    pages: list[dict[str, Any]] = field(default_factory=list)
    # event ID -> how a later `corrected`/`retracted` event amended it (the timeline
    # holds the corrected copies; retracted events stay in it but were not applied)
    corrections: dict[str, Amendment] = field(default_factory=dict)
    # folded here so the clocks never need the timeline (a cached state has it on disk)
    severity_set_at: datetime | None = None  # when the current severity was set
    last_update_at: datetime | None = None  # the latest update, change or communication
    # folded for the timing rules (domain/rules.py)
    customers_affected: int | None = None
    customers_affected_at: datetime | None = None  # when the current figure was recorded
    monitoring_since: datetime | None = None  # when the status last became monitoring
    resolved_by: str = ""
    resolved_forced: str = ""
    runbook_updates: list[datetime] = field(default_factory=list)  # notes of kind runbook
    drill: bool = False
    drill_kind: str = ""
    scenario: str = ""
    drill_speed: float | None = None

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"

    @property
    def commander(self) -> str:
        return self.roles.get("commander", "")

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
            "drill": self.drill,
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
            "escalation_level": self.escalation_level,
            "escalated_at": iso(self.escalated_at),
            "escalated_to": self.escalated_to,
            "notified": {who: iso(at) for who, at in self.notified.items()},
            "pir": {section: list(texts) for section, texts in self.pir.items()},
            "pir_scheduled_at": iso(self.pir_scheduled_at),
            "pir_completed_at": iso(self.pir_completed_at),
            "actions": [a.to_dict(self.human_id) for a in self.actions],
            "runbook_steps": {name: dict(steps) for name, steps in self.runbook_steps.items()},
            "last_communication_at": iso(self.last_communication_at),
            "communications": [e.to_record() for e in self.communications],
            "pages": [dict(p) for p in self.pages],
            "corrections": {k: v.to_dict() for k, v in self.corrections.items()},
            "customers_affected": self.customers_affected,
            "drill": self.drill,
            "drill_kind": self.drill_kind,
            "scenario": self.scenario,
        }

    def age(self, now: datetime) -> timedelta:
        """How long it has been open: to its resolution, or to `now`. Never negative
        (a declaration a little ahead of this clock is just declared)."""
        return max((self.resolved_at or now) - self.declared_at, timedelta(0))
