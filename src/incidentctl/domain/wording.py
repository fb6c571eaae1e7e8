"""The review's words: what each timeline event says, and durations the way the seeds
write them. Pure text, used by the PIR context and the views alike."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from incidentctl.domain.events import EventBase

# the review's own bookkeeping, shown in their sections rather than in the timeline
REVIEW_EVENT_TYPES = (
    "pir_entry",
    "pir_scheduled",
    "pir_completed",
    "action_added",
    "action_updated",
)
COMMUNICATION_EVENT_TYPES = ("communication_sent",)


def flat(text: str) -> str:
    """One line: for table cells and list items, where a newline would break the Markdown."""
    return re.sub(r"\s+", " ", text).strip()


def long_duration(delta: timedelta) -> str:
    """'2 hours 37 minutes', '1 hour', '45 minutes', '3 days 4 hours', '30 seconds'."""
    total = int(delta.total_seconds())
    days, rem = divmod(total, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)

    def unit(n: int, word: str) -> str:
        return f"{n} {word}" + ("" if n == 1 else "s")

    if days:
        parts = [unit(days, "day")] + ([unit(hours, "hour")] if hours else [])
    elif hours:
        parts = [unit(hours, "hour")] + ([unit(minutes, "minute")] if minutes else [])
    elif minutes:
        parts = [unit(minutes, "minute")]
    else:
        parts = [unit(secs, "second")]
    return " ".join(parts)


def _with(text: str, extra: str, sep: str = ": ") -> str:
    return f"{text}{sep}{extra}" if extra else text


def _generic(record: dict[str, Any], kind: str) -> str:
    """Events this module does not know (from features added later): their type and text."""
    words = kind.replace("_", " ").capitalize()
    for key in ("summary", "message", "text", "title", "template", "step", "note"):
        value = record.get(key)
        if isinstance(value, str) and value.strip():
            return f"{words}: {value}"
    return words


def communication_text(record: dict[str, Any]) -> str:
    parts = [
        str(record[key])
        for key in ("template", "channel", "audience", "summary")
        if isinstance(record.get(key), str) and record[key].strip()
    ]
    return " · ".join(parts) if parts else "message sent"


def review_line(event: EventBase) -> str:
    """What one event says in the review's timeline table."""
    d: dict[str, Any] = event.to_record()
    kind = event.type
    match kind:
        case "declared":
            text = f"Incident declared, {d['severity']}: {d['title']}"
            return text + (f" (IC: {d['commander']})" if d.get("commander") else "")
        case "acknowledged":
            return _with(
                f"Acknowledged by {d.get('author') or 'a responder'}", d.get("message", "")
            )
        case "status_changed":
            return _with(f"Status {d.get('previous') or '?'} → {d['status']}", d.get("message", ""))
        case "severity_changed":
            return _with(
                f"Severity {d.get('previous') or '?'} → {d['severity']}", d.get("reason", "")
            )
        case "impact_changed":
            return f"Impact: {d['impact']}"
        case "note_added":
            return f"{d['kind'].capitalize()}: {d['text']}"
        case "role_assigned":
            return f"{d['user']} is {d['role']}"
        case "mitigated":
            return f"Mitigated: {d['message']}"
        case "resolved":
            return "Incident resolved"
        case "reopened":
            return f"Reopened: {d['message']}"
        case "renumbered":
            return f"Renumbered {d['previous']} → {d['human_id']}"
        case "communication_sent":
            return f"Communication sent: {communication_text(d)}"
    return _generic(d, kind)
