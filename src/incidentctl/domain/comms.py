"""The pure parts of incident communications: the next-update time, the findings an
update reports. (Slack Block Kit payloads are built in templating/blockkit.py.) No I/O:
`now` is always passed in. The words for times, durations and names are
domain/wording.py's.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from incidentctl.domain import events as ev
from incidentctl.domain.incident import IncidentState
from incidentctl.domain.wording import flat

# The banner emoji of the source procedures (garbled in the seeds, restored here).
ICONS: dict[str, str] = {
    "declared": "🚨",
    "update": "🔄",
    "resolved": "✅",
    "escalation": "🚨",
    "exec": "🚨",
}
CUSTOMER_FAMILIES = ("statuspage", "email", "social")

# The only fields a social-media template receives (`public_context`): a public post
# says that something is wrong and where to read more, never what: no title, summary,
# impact, services, root cause, resolution, commands or people. White Room: "Major
# outages only, redirect to status page, no technical details".
PUBLIC_FIELDS: frozenset[str] = frozenset(
    {
        "org",
        "status_page_url",
        "support_email",
        "stage",
        "stage_title",
        "status",
        "status_title",
        "resolved",
        "now",
        "now_time",
        "today",
        "zone",
        "started_time",
        "started_date",
        "resolved_hm",
        "emoji",
        "icon",
    }
)
PUBLIC_FAMILIES = ("social",)


def is_public(template: str) -> bool:
    """A template whose text is posted in public: it gets only PUBLIC_FIELDS."""
    return template.split("/", 1)[0] in PUBLIC_FAMILIES


def public_context(template: str, ctx: dict) -> dict:
    """The context a template may read: all of it, or PUBLIC_FIELDS for a public one."""
    if not is_public(template):
        return ctx
    return {k: v for k, v in ctx.items() if k in PUBLIC_FIELDS}


def set_member(name: str, template_set: str) -> str:
    """`slack/declared` in the `white-room` set is `slack/white-room/declared`: the set's
    template sits inside the family, before the member's name. '' for a name without a
    family or no set."""
    family, sep, member = name.rpartition("/")
    if not template_set or not sep or not family:
        return ""
    return f"{family}/{template_set}/{member}"


def is_slack_update(template: str) -> bool:
    """slack/update or slack/declared, in any template set (slack/white-room/update)."""
    parts = template.split("/")
    return parts[0] == "slack" and parts[-1] in ("update", "declared")


def next_update_at(now: datetime, cadence: timedelta | None, align: timedelta) -> datetime | None:
    """When the next update is due: within `cadence` of now, rounded down to an `align`
    mark (14:23 + 30m -> 14:45 with 15m marks, as the WAOOAW declaration does), but
    never sooner than one mark from now."""
    if cadence is None or cadence <= timedelta(0):
        return None
    due = now + cadence
    step = int(align.total_seconds())
    if step <= 0:
        return due
    epoch = datetime(1970, 1, 1, tzinfo=now.tzinfo)
    seconds = int((due - epoch).total_seconds())
    rounded = epoch + timedelta(seconds=seconds - seconds % step)
    if rounded - now < min(align, cadence):
        return due
    return rounded


def audience_of(template: str) -> str:
    family = template.split("/", 1)[0]
    return "customers" if family in CUSTOMER_FAMILIES else "internal"


def findings(state: IncidentState, limit: int) -> list[str]:
    """What an update reports: the notes and change messages recorded since the last
    Slack update or declaration was sent (all of them if none was recorded), newest
    `limit` of them, oldest first."""
    since = None
    for c in state.communications:
        if is_slack_update(c.template):
            since = c.at
    items: list[str] = []
    for e in state.timeline:
        if since is not None and e.at <= since:
            continue
        text = _finding_text(e)
        if text:
            items.append(flat(text))
    return items[-limit:] if limit > 0 else []


def _finding_text(e: ev.EventBase) -> str:
    match e:
        case ev.NoteAdded():
            return e.text
        case ev.StatusChanged() | ev.Acknowledged() | ev.Mitigated() | ev.Reopened():
            return e.message
        case ev.ImpactChanged():
            return e.message
        case ev.SeverityChanged():
            return f"Severity {e.previous or '?'} -> {e.severity}" + (
                f": {e.reason}" if e.reason else ""
            )
    return ""


def _after_mitigation(state: IncidentState) -> list[str]:
    seen = False
    out: list[str] = []
    for e in state.timeline:
        if isinstance(e, ev.Resolved):
            break
        if seen:
            text = _finding_text(e)
            if text:
                out.append(flat(text))
        elif isinstance(e, ev.Mitigated) or (
            isinstance(e, ev.StatusChanged) and e.status == "monitoring"
        ):
            seen = True
    return out


def verification(state: IncidentState) -> list[str]:
    """How recovery was verified (White Room's "Verification"): the notes recorded after
    the incident was mitigated (or moved to monitoring), up to its resolution."""
    return _after_mitigation(state)


def short_elapsed(delta: timedelta) -> str:
    """'15 min' under an hour (White Room's "(15 min elapsed)"), else '1 hour 5 minutes'."""
    from incidentctl.domain.wording import long_duration

    minutes = int(delta.total_seconds()) // 60
    if minutes < 60:
        return f"{max(minutes, 0)} min"
    return long_duration(delta)


def runbook_link(pattern: str, runbook: str) -> str:
    """`[comms] runbook_url` with `{runbook}` filled; without a runbook, the pattern's
    base (`https://runbooks.example/{runbook}` -> `https://runbooks.example`)."""
    if not pattern:
        return ""
    if runbook:
        return pattern.replace("{runbook}", runbook)
    return pattern.replace("/{runbook}", "").replace("{runbook}", "").rstrip("/")


def identified_cause(state: IncidentState) -> str:
    """The cause as known so far: the root cause once resolved, else what was said when
    the status moved to identified."""
    if state.root_cause:
        return state.root_cause
    for e in reversed(state.timeline):
        if isinstance(e, ev.StatusChanged) and e.status == "identified" and e.message:
            return e.message
    return ""


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def bullet_lines(text: str) -> list[str]:
    """A multi-line statement as list items: one per non-empty line, any '-'/'*' dropped."""
    out = []
    # line breaks as Markdown and Slack see them: not str.splitlines, which also splits
    # at \x1c-\x1e, \x85 and \u2028 (one line of text would become two items)
    for line in _LINE_BREAK.split(text):
        line = line.strip()
        if line.startswith(("- ", "* ", "• ")):
            line = line[2:].strip()
        if line:
            out.append(line)
    return out


def sentence_tail(text: str) -> str:
    """'Rolled back the deploy.' -> 'rolled back the deploy', to follow 'and ...'.
    Only a sentence-case text loses its capital ('A memory leak' too): 'API down', 'iOS
    crash', 'I' and the title-case 'Service Down' stay as written."""
    text = text.strip().rstrip(".").strip()
    words = text.split()
    if not words:
        return text
    first = words[0]
    sentence_case = first == "A" or (len(first) > 1 and first[0].isupper() and first[1:].islower())
    if not sentence_case:
        return text
    if any(w[:1].isupper() and w[1:].islower() for w in words[1:] if len(w) > 1):
        return text  # title case: a heading, not a sentence
    return text[0].lower() + text[1:]


_ETA_DURATION = re.compile(r"^(?:\d|an? |one |half )", re.IGNORECASE)
_ETA_WITHIN = re.compile(r"^(?:within|in|by|about|around|under|before|after)\b", re.IGNORECASE)


def eta_phrase(eta: str) -> str:
    """The status page's ETA line from `--set eta=`: a bare time ('1 hour', '2h') reads
    'Resolution expected within 1 hour', 'by 15:00 UTC' reads 'Resolution expected by
    15:00 UTC', and a whole phrase ('Resolution expected within 1 hour', 'Unknown') is
    kept as written."""
    text = eta.strip()
    if not text:
        return ""
    if _ETA_DURATION.match(text):
        return f"Resolution expected within {text}"
    if _ETA_WITHIN.match(text):
        return f"Resolution expected {text[0].lower()}{text[1:]}"
    return text


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")


def markdown_line_breaks(text: str) -> str:
    """Messages are written line by line; Markdown would run consecutive lines together
    into one paragraph. End each such line with a hard break (a trailing backslash)."""
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        ends_in_break = (len(line) - len(line.rstrip("\\"))) % 2 == 1  # a value's own
        if line.strip() and nxt.strip() and not _LIST_ITEM.match(nxt) and not ends_in_break:
            line += "\\"
        out.append(line)
    return "\n".join(out)
