"""Corrections and retractions: the corrected view of a timeline. Pure.

Event files are never edited. A `corrected` event says "event X really happened at T"
or "event X's text should read Y"; a `retracted` event says "event X no longer counts".
The fold applies them before it folds: a corrected event is replaced by its corrected
copy (and re-sorted by its corrected time), a retracted one stays in the timeline,
marked, but no longer changes the state.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from incidentctl.domain import events as ev
from incidentctl.domain.incident import Amendment

# The text fields a correction may replace, the main one first. Event types not listed
# (added later) fall back to the first of COMMON_TEXT_FIELDS they have.
TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "declared": ("title", "impact"),
    "acknowledged": ("message",),
    "status_changed": ("message",),
    "severity_changed": ("reason",),
    "impact_changed": ("impact", "message"),
    "note_added": ("text",),
    "role_assigned": (),
    "mitigated": ("message",),
    "resolved": ("root_cause", "resolution", "impact"),
    "reopened": ("message",),
}
COMMON_TEXT_FIELDS = ("text", "message", "summary", "description", "reason")

# Types a correction or retraction may never target: the identity of the incident
# (declared, renumbered; a declared event can be corrected, not retracted) and the
# corrections themselves (correct the original again; retract a correction to undo it).
NOT_CORRECTABLE = frozenset({"renumbered", "corrected", "retracted"})
NOT_RETRACTABLE = frozenset({"declared", "renumbered", "retracted"})


def text_fields(event: ev.EventBase) -> tuple[str, ...]:
    if event.type in TEXT_FIELDS:
        return TEXT_FIELDS[event.type]
    if event.type in NOT_CORRECTABLE:
        return ()
    fields = type(event).model_fields
    return tuple(
        name
        for name in COMMON_TEXT_FIELDS
        if name in fields and isinstance(getattr(event, name, None), str)
    )[:1]


def corrected_view(
    ordered: Iterable[ev.EventBase],
) -> tuple[list[ev.EventBase], dict[str, Amendment]]:
    """The events with corrections applied, re-sorted, and what was amended, by event ID.

    A retracted correction no longer applies. Later corrections of the same field win.
    A correction or retraction of an event that is not in this incident, or of a type
    it may not target, is ignored (the commands refuse to record such events).
    """
    events = list(ordered)
    by_id = {e.id: e for e in events}
    amended: dict[str, Amendment] = {}

    for e in events:
        if not isinstance(e, ev.Retracted) or e.target == e.id:
            continue
        target = by_id.get(e.target)
        if target is None or target.type in NOT_RETRACTABLE:
            continue
        item = amended.setdefault(e.target, Amendment())
        if not item.retracted_by:  # the first retraction is the one that counts
            item.retracted_by = e.id
            item.retraction_reason = e.reason

    def retracted(event_id: str) -> bool:
        item = amended.get(event_id)
        return item is not None and bool(item.retracted_by)

    replaced: dict[str, ev.EventBase] = {}
    for e in events:
        if not isinstance(e, ev.Corrected) or retracted(e.id):
            continue
        target = by_id.get(e.target)
        if target is None or target.type in NOT_CORRECTABLE:
            continue
        current = replaced.get(e.target, target)
        update: dict[str, Any] = {}
        if e.corrected_at is not None:
            update["at"] = e.corrected_at
        if e.text is not None and e.field in text_fields(target):
            update[e.field] = e.text
        if not update:
            continue
        item = amended.setdefault(e.target, Amendment())
        for name in update:
            item.original.setdefault(name, getattr(target, name))
        item.corrected_by.append(e.id)
        replaced[e.target] = current.model_copy(update=update)

    view = [replaced.get(e.id, e) for e in events]
    view.sort(key=lambda e: e.sort_key())
    return view, amended


def is_retracted(amended: dict[str, Amendment], event_id: str) -> bool:
    item = amended.get(event_id)
    return item is not None and bool(item.retracted_by)
