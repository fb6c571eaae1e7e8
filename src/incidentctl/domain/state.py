"""Folding an incident's events, in (at, recorded_at, id) order, into its current state."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from incidentctl.domain import events as ev
from incidentctl.domain.corrections import corrected_view, is_retracted
from incidentctl.domain.incident import Communication, IncidentState
from incidentctl.domain.review import ActionItem, add_action, update_action


class FoldError(ValueError):
    pass


# what counts as telling people how it goes: the update clock restarts on each
UPDATE_EVENT_TYPES = frozenset(
    {
        "status_changed",
        "severity_changed",
        "impact_changed",
        "mitigated",
        "resolved",
        "reopened",
        "communication_sent",
    }
)


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
        category=d.category,
        customers_affected=d.customers_affected,
        customers_affected_at=d.at if d.customers_affected is not None else None,
        drill=d.drill,
        drill_kind=d.drill_kind,
        scenario=d.scenario,
        drill_speed=d.drill_speed,
        declared_by=d.author,
        timeline=ordered,
        corrections=amended,
    )
    if d.commander:
        state.roles["commander"] = d.commander
    for user in d.responders:
        _add_responder(state, user)
    state.severity_set_at = state.last_update_at = d.at
    for e in ordered:
        if not is_retracted(amended, e.id):
            _apply(state, e)
            if e.type in UPDATE_EVENT_TYPES or (isinstance(e, ev.NoteAdded) and e.kind == "update"):
                state.last_update_at = max(state.last_update_at, e.at)
    return state


def _apply(state: IncidentState, e: ev.EventBase) -> None:
    match e:
        case ev.Acknowledged():
            if state.acknowledged_at is None:
                state.acknowledged_at = e.at
            _add_responder(state, e.author)
        case ev.StatusChanged():
            _set_status(state, e.status, e.at)
        case ev.SeverityChanged():
            state.severity = e.severity
            state.severity_set_at = e.at
        case ev.ImpactChanged():
            state.impact = e.impact
            if e.customers_affected is not None:
                state.customers_affected = e.customers_affected
                state.customers_affected_at = e.at
        case ev.NoteAdded(kind="runbook"):
            state.runbook_updates.append(e.at)
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
            state.resolved_by = e.author
            state.resolved_forced = e.forced
            _set_status(state, "resolved", e.at)
        case ev.Reopened():
            _set_status(state, "investigating", e.at)
        case ev.Renumbered():
            if state.human_id not in state.aliases:
                state.aliases.append(state.human_id)
            state.human_id = e.human_id
        case ev.Escalated():
            state.escalation_level = e.level
            state.escalated_at = e.at
            state.escalated_to = e.to
            _add_responder(state, e.to)
        case ev.Notified():
            state.notified.setdefault(e.who, e.at)
        case ev.PirEntry():
            state.pir.setdefault(e.section, []).append(e.text)
        case ev.PirScheduled():
            state.pir_scheduled_at = e.review_at
            if state.pir_scheduled_when is None:
                state.pir_scheduled_when = e.at
        case ev.PirCompleted():
            state.pir_completed_at = e.at
        case ev.ActionAdded():
            add_action(
                state.actions,
                ActionItem(
                    uid=e.id,
                    number=e.number,
                    title=e.title,
                    owner=e.owner,
                    due=e.due,
                    priority=e.priority,
                    kind=e.kind,
                    added_at=e.at,
                    added_by=e.author,
                ),
                max(x.number for x in state.timeline if isinstance(x, ev.ActionAdded)),
            )
            _apply_early_updates(state, e)
        case ev.ActionUpdated():
            update_action(state.actions, e.action, e.at, e.author, e.status, e.note)
        case ev.RunbookStepAnswered():
            # the latest answer wins: a failed step retried and done reads as done
            state.runbook_steps.setdefault(e.runbook, {})[e.step] = e.outcome
        case ev.CommunicationSent():
            state.communications.append(Communication(e.at, e.template, e.audience, e.to_record()))
            state.last_communication_at = e.at  # events arrive in time order
        case ev.Paged():
            state.pages.append(e.to_record())


def _set_status(state: IncidentState, status: str, at: datetime) -> None:
    if status == "monitoring" and state.status != "monitoring":
        state.monitoring_since = at
    elif status != "monitoring":
        state.monitoring_since = None if status != "resolved" else state.monitoring_since
    state.status = status
    if status == "identified" and state.identified_at is None:
        state.identified_at = at
    if status == "resolved":
        state.resolved_at = at
    else:
        state.resolved_at = None


def _apply_early_updates(state: IncidentState, added: ev.ActionAdded) -> None:
    """Updates that sort before their action_added (a back-dated --at, or two clones'
    clocks) were skipped when folded; apply them now, in order."""
    for e in state.timeline:
        if e is added:
            return
        if (
            isinstance(e, ev.ActionUpdated)
            and e.action == added.id
            and not is_retracted(state.corrections, e.id)
        ):
            update_action(state.actions, e.action, e.at, e.author, e.status, e.note)
