"""The words incidentctl writes, each in one place: durations the way the seeds write
them, time stamps, slugs, war-room names, one-line text; and what each timeline event
says in the review. Pure text, used by messages, the PIR and the views alike."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from incidentctl.domain.events import EventBase
    from incidentctl.domain.incident import IncidentState

# the review's own bookkeeping, shown in their sections rather than in the timeline
REVIEW_EVENT_TYPES = (
    "pir_entry",
    "pir_scheduled",
    "pir_completed",
    "action_added",
    "action_updated",
)
COMMUNICATION_EVENT_TYPES = ("communication_sent",)


# -- text ----------------------------------------------------------------------------


def flat(text: str) -> str:
    """One line: whitespace runs (newlines included) as one space, the ends trimmed. For
    table cells, list items and messages, where a newline would break the line."""
    return " ".join(text.split())


def excerpt(text: str, limit: int = 200) -> str:
    """`flat(text)`, cut to `limit` characters with an ellipsis when longer."""
    line = flat(text)
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def slugify(text: str, limit: int = 40) -> str:
    """'Plant Scheduler' -> 'plant-scheduler': ASCII letters and digits, '-' between,
    at most `limit` characters. For folder names and war-room channels."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-")


# -- durations and times ---------------------------------------------------------------


def long_duration(delta: timedelta) -> str:
    """The seeds' words: '2 hours 37 minutes', '1 hour', '22 minutes', '3 days 4 hours',
    '2 weeks' (whole weeks only), 'less than a minute'."""
    minutes = int(delta.total_seconds()) // 60
    if minutes <= 0:
        return "less than a minute"
    days, rem = divmod(minutes, 1440)
    hours, mins = divmod(rem, 60)
    if days and days % 7 == 0 and not rem:
        return _plural(days // 7, "week")
    parts = []
    if days:
        parts.append(_plural(days, "day"))
    if hours:
        parts.append(_plural(hours, "hour"))
    if mins and not days:
        parts.append(_plural(mins, "minute"))
    return " ".join(parts)


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def zone_label(dt: datetime, zone: tzinfo) -> str:
    return dt.astimezone(zone).tzname() or "UTC"


def clock_time(dt: datetime, zone: tzinfo = UTC) -> str:
    """'14:23 UTC'."""
    return f"{dt.astimezone(zone):%H:%M} {zone_label(dt, zone)}"


def stamp(dt: datetime, zone: tzinfo = UTC) -> str:
    """'2026-02-12 14:23 UTC': a moment, to the minute, in `zone` with its abbreviation."""
    return f"{dt.astimezone(zone):%Y-%m-%d %H:%M} {zone_label(dt, zone)}"


def day(dt: datetime, zone: tzinfo = UTC) -> str:
    """'2026-02-12': the day of a moment in `zone`."""
    return f"{dt.astimezone(zone):%Y-%m-%d}"


# -- names -------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def war_room(pattern: str, state: IncidentState, id_format: str, seq_width: int) -> str:
    """The war-room channel from `[incident] war_room` (and the link from `doc_url`).

    Placeholders: {id} (the incident ID, lower case), {seq} (its number), {date} (its
    UTC day of declaration), {yyyy}, {mm} and {dd} (that day's parts) and {slug} (the
    first service, or else the title). Anything else is left as written."""
    from incidentctl.domain import ids

    if "{" not in pattern:
        return pattern
    parsed = ids.parse_id(id_format, state.human_id)
    declared = state.declared_at.astimezone(UTC).date()
    values = {
        "id": state.human_id.lower(),
        "seq": f"{parsed[1]:0{seq_width}d}" if parsed else "",
        "date": declared.isoformat(),
        "yyyy": f"{declared.year:04d}",
        "mm": f"{declared.month:02d}",
        "dd": f"{declared.day:02d}",
        "slug": slugify(state.services[0] if state.services else state.title),
    }
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), pattern)


# -- the review's timeline -----------------------------------------------------------------


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
