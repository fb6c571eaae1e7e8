"""How `show` presents corrections and retractions in a timeline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from incidentctl.domain.events import EventBase
    from incidentctl.domain.incident import IncidentState


def _when(value: str) -> str:
    return value[:16].replace("T", " ") + " UTC"


def describe_amendment(data: dict[str, Any]) -> str:
    """One line for a `corrected` or `retracted` event (its file's fields)."""
    target = f"{data['target_type']} {data['target'][:12]}"
    if data["type"] == "retracted":
        return f"retracted {target}: {data['reason']}"
    changes = []
    if data.get("corrected_at"):
        changes.append(f"at -> {_when(data['corrected_at'])}")
    if data.get("text") is not None:
        changes.append(f"{data['field']} -> {data['text']}")
    text = f"corrected {target}: " + "; ".join(changes)
    return text + (f" ({data['reason']})" if data.get("reason") else "")


def amendment_mark(state: IncidentState, event: EventBase) -> tuple[str, str]:
    """(suffix, style) for a timeline row: corrected entries show their corrected view."""
    item = state.corrections.get(event.id)
    if item is None:
        return "", ""
    if item.retracted_by:
        return "  [retracted]", "strike"
    return "  [corrected]", ""
