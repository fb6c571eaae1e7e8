"""The post-incident review: its facts (events), its meeting, and the generated document.

The document is rendered from the folded state and timeline only, so the same
events always give the same bytes: nothing reads the clock. The review date is
the `--date` option, else the day the review was held, else the day it is
scheduled for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incidentctl.domain.wording import stamp
from incidentctl.errors import IncidentctlError, NotFoundError, UsageError, choices_hint
from incidentctl.services.incidents import _fields, _record
from incidentctl.services.lookup import find_incident
from incidentctl.services.outcome import Outcome
from incidentctl.services.record import RecordResult, clean_text, one_line, time_option
from incidentctl.services.workspace import Workspace

if TYPE_CHECKING:
    from incidentctl.domain.incident import IncidentState
    from incidentctl.domain.policy import Config, SeverityPolicy
    from incidentctl.store.repo import FileProblem, LoadedIncident

PIR_FILE = "pir.md"


def _section(text: str) -> str:
    from incidentctl.domain.review import PIR_SECTIONS

    value = text.strip().lower().replace("_", "-").replace(" ", "-")
    value = {"whys": "why", "5-whys": "why", "factors": "factor", "lessons": "lesson"}.get(
        value, value
    )
    if value not in PIR_SECTIONS:
        raise UsageError(f"unknown section {text!r}", hint=choices_hint("sections", PIR_SECTIONS))
    return value


def add_entry(
    ws: Workspace, ref: str, section: str, text: str, *, by: str | None, at: str | None
) -> RecordResult:
    from incidentctl.domain import events as ev

    section = _section(section)
    text = clean_text(text, "the text", required=True)

    def build(loaded: LoadedIncident, base: dict[str, Any]):
        event = ev.PirEntry(**_fields(base), section=section, text=text)
        return [(event, f"review {section}: {one_line(text)}", text)]

    return _record(ws, ref, at, by, build)


def _policy(config: Config, state: IncidentState) -> SeverityPolicy:
    from incidentctl.domain.policy import SeverityPolicy

    return config.severity.get(state.severity) or SeverityPolicy()


def schedule(ws: Workspace, ref: str, review_at: str, *, by: str | None) -> RecordResult:
    """Set the review meeting. `review_at` may be in the future; the event is recorded now."""
    from incidentctl.domain import events as ev
    from incidentctl.domain.review_state import review_deadline

    meeting = time_option(ws, clean_text(review_at, "--at", required=True), "--at")
    warnings: list[str] = []

    def build(loaded: LoadedIncident, base: dict[str, Any]):
        state = loaded.state
        policy = _policy(ws.config, state)
        # a review follows its incident: never before the declaration, nor before the
        # resolution of a resolved incident (`pir complete` holds it to the same)
        for what, since in (("declared", state.declared_at), ("resolved", state.resolved_at)):
            if since is not None and meeting < since:
                raise UsageError(
                    f"the review on {stamp(meeting)} would be before {state.human_id} "
                    f"was {what} ({stamp(since)})",
                    hint="check --at: the meeting's date and time, e.g. --at 2026-02-16T14:00Z",
                )
        if state.is_open:
            warnings.append(
                f"{state.human_id} is still {state.status}: a review follows resolution, "
                "and its deadline counts from then"
            )
        deadline = review_deadline(state, policy)
        if deadline is not None and meeting > deadline:
            warnings.append(
                f"the review on {stamp(meeting)} is after the {state.severity} deadline "
                f"{stamp(deadline)} (within {_span(policy.pir_within)} of resolution)"
            )
        if not policy.pir_required and policy.pir_note:
            warnings.append(f"a {state.severity} review is {policy.pir_note.lower()}")
        event = ev.PirScheduled(**_fields(base), review_at=meeting)
        return [(event, f"review scheduled for {stamp(meeting)}", "")]

    result = _record(ws, ref, None, by, build)
    result.notes.extend(warnings)
    return result


def _span(delta: Any) -> str:
    from incidentctl.domain.timeparse import format_duration

    return format_duration(delta) if delta is not None else "-"


def complete(
    ws: Workspace, ref: str, message: str, *, by: str | None, at: str | None
) -> RecordResult:
    """Mark the review as held (at `--at`, default now). Only a resolved incident has one."""
    from incidentctl.domain import events as ev
    from incidentctl.domain.review_state import review_deadline

    message = clean_text(message, "-m")
    warnings: list[str] = []

    def build(loaded: LoadedIncident, base: dict[str, Any]):
        state = loaded.state
        if state.is_open:
            raise UsageError(
                f"{state.human_id} is still {state.status}; its review is held after resolution",
                hint=f"resolve it first: incidentctl resolve {state.human_id} --root-cause TEXT "
                "--resolution TEXT",
            )
        if base["at"] < state.resolved_at:
            raise UsageError(
                f"the review cannot be held before {state.human_id} was resolved "
                f"({stamp(state.resolved_at)})",
                hint="check --at",
            )
        if state.pir_completed_at is not None:
            warnings.append(
                f"the review was already marked held on {stamp(state.pir_completed_at)}; "
                "this records it again"
            )
        deadline = review_deadline(state, _policy(ws.config, state))
        if deadline is not None and base["at"] > deadline:
            warnings.append(f"held after the {state.severity} deadline {stamp(deadline)}")
        event = ev.PirCompleted(**_fields(base), message=message)
        return [(event, "review held", message)]

    result = _record(ws, ref, at, by, build)
    result.notes.extend(warnings)
    return result


# -- the document -----------------------------------------------------------------


@dataclass
class Review(Outcome):
    text: str
    state: IncidentState
    folder: Path
    template: str  # the template's name, e.g. pir/waooaw
    warnings: list[str] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)  # event files left out


def template_name(ws: Workspace, choice: str | None) -> str:
    """`waooaw` -> `pir/waooaw`; any other template name is taken as it is."""
    from incidentctl.templating.sandbox import available_templates

    wanted = (choice or ws.config.pir.template).strip()
    templates = available_templates(ws.repo.root)
    if f"pir/{wanted}" in templates:
        return f"pir/{wanted}"
    if wanted in templates:
        return wanted
    reviews = sorted(n.removeprefix("pir/") for n in templates if n.startswith("pir/"))
    raise NotFoundError(
        f"no review template {wanted!r}",
        hint=f"built-in and repo review templates: {', '.join(reviews)}; "
        "or give any template name under templates/",
    )


def review_day(ws: Workspace, text: str) -> date:
    from incidentctl.domain.timeparse import TimeParseError, parse_date, parse_time

    s = text.strip()
    try:
        return parse_date(s) or parse_time(s, ws.now(), ws.config.zone).date()
    except TimeParseError:
        raise UsageError(
            f"--date: not a date: {text!r}", hint="use a date like 2026-02-14"
        ) from None


def generate(
    ws: Workspace, ref: str, *, template: str | None = None, review_date: str | None = None
) -> Review:
    from incidentctl.templating.sandbox import find_template, render_source

    chosen_day = review_day(ws, review_date) if review_date is not None else None
    found = find_incident(ws, ref)
    loaded = found.incident
    state = loaded.state
    warnings = [found.note] if found.note else []
    if state.is_open:
        warnings.append(
            f"{state.human_id} is still {state.status}: this review is a draft, with "
            "placeholders for what resolution will tell"
        )
    name = template_name(ws, template)
    source = find_template(name, ws.repo.root)
    commits = ws.repo.git.log(ws.repo.rel(loaded.folder / "events"))
    context = review_context(ws.config, state, commits, chosen_day)
    text = render_source(source, context)
    return Review(text, state, loaded.folder, name, warnings, loaded.problems)


def review_context(
    config: Config, state: IncidentState, commits: list[Any], chosen_day: date | None = None
) -> dict[str, Any]:
    """Everything a review template may use. Text is raw: the template machinery escapes it."""
    from incidentctl.domain.metrics import incident_metrics
    from incidentctl.domain.review import STATUS_LABELS
    from incidentctl.domain.review_state import section_list, section_value
    from incidentctl.domain.timeparse import format_duration
    from incidentctl.domain.wording import (
        COMMUNICATION_EVENT_TYPES,
        REVIEW_EVENT_TYPES,
        communication_text,
        flat,
        long_duration,
        review_line,
        war_room,
    )

    policy = _policy(config, state)
    if chosen_day is not None:
        day, day_source = chosen_day, "option"
    elif state.pir_completed_at is not None:
        day, day_source = state.pir_completed_at.date(), "held"
    elif state.pir_scheduled_at is not None:
        day, day_source = state.pir_scheduled_at.date(), "scheduled"
    else:
        day, day_source = None, ""

    rows: list[tuple[datetime, str]] = []
    if state.detected_at is not None:
        rows.append((state.detected_at, "Alert fired (detected)"))
    communications = []
    for event in state.timeline:
        if event.type in REVIEW_EVENT_TYPES:
            continue
        rows.append((event.at, review_line(event)))
        if event.type in COMMUNICATION_EVENT_TYPES:
            communications.append(
                {"time": stamp(event.at), "text": flat(communication_text(event.to_record()))}
            )
    rows.sort(key=lambda r: r[0])  # stable: the detected row stays before an equal-time event
    one_day = all(at.date() == state.declared_at.date() for at, _ in rows)
    timeline = [
        {"time": at.strftime("%H:%M" if one_day else "%Y-%m-%d %H:%M"), "text": flat(text)}
        for at, text in rows
    ]

    attendees = [flat(a) for a in section_list(state, "attendee")]
    attendees_recorded = bool(attendees)
    if not attendees:
        titles = {role: role_title(config.roles.get(role, ""), role) for role in state.roles}
        ordered_roles = [r for r in config.roles if r in state.roles] + [
            r for r in state.roles if r not in config.roles
        ]
        attendees = [f"{state.roles[r]} ({titles[r]})" for r in ordered_roles]
        named = set(state.roles.values())
        attendees += [f"{u} (responder)" for u in state.responders if u not in named]

    metrics = []
    for m in incident_metrics(state, policy):
        metrics.append(
            {
                "name": m.metric.name,
                "meaning": m.metric.meaning,
                "from": m.metric.start,
                "to": m.metric.end,
                "value": format_duration(m.value) if m.value is not None else "",
                "target": format_duration(m.target) if m.target is not None else "",
                "result": "" if m.passed is None else ("met" if m.passed else "missed"),
            }
        )

    duration = long_duration(state.age(state.resolved_at)) if state.resolved_at else ""
    incident = config.incident
    first = commits[-1].commit if commits else ""
    last = commits[0].commit if commits else ""
    return {
        "org": config.incident.org,
        "id": state.human_id,
        "uid": state.uid,
        "title": flat(state.title),
        "severity": state.severity,
        "severity_label": policy.label,
        "status": state.status,
        "is_open": state.is_open,
        "review_date": day.isoformat() if day else "",
        "review_date_source": day_source,
        "review_scheduled_at": stamp(state.pir_scheduled_at) if state.pir_scheduled_at else "",
        "review_held_at": stamp(state.pir_completed_at) if state.pir_completed_at else "",
        "incident_date": state.declared_at.date().isoformat(),
        "declared_at": stamp(state.declared_at),
        "detected_at": stamp(state.detected_at) if state.detected_at else "",
        "resolved_at": stamp(state.resolved_at) if state.resolved_at else "",
        "duration": duration,
        "attendees": attendees,
        "attendees_recorded": attendees_recorded,
        "services": [flat(s) for s in state.services],
        "impact": flat(state.impact),
        "summary": section_value(state, "summary"),
        "customers_affected": flat(section_value(state, "customers-affected")),
        "revenue_impact": flat(section_value(state, "revenue-impact")),
        "root_cause": state.root_cause,
        "resolution": state.resolution,
        "category": flat(state.category),
        "whys": [flat(w) for w in section_list(state, "why")],
        "factors": [flat(f) for f in section_list(state, "factor")],
        "went_well": [flat(w) for w in section_list(state, "went-well")],
        "went_wrong": [flat(w) for w in section_list(state, "went-wrong")],
        "lessons": [flat(x) for x in section_list(state, "lesson")],
        "lesson_pairs": [lesson_pair(flat(x)) for x in section_list(state, "lesson")],
        "timeline": timeline,
        # a Mermaid gantt of the phases (domain/chart.py), for a ```mermaid block
        "phase_chart": phase_chart(state),
        "actions": [
            {
                "id": a.label(state.human_id),
                "title": flat(a.title),
                "owner": flat(a.owner),
                "due": a.due.isoformat(),
                "priority": a.priority,
                "type": a.kind,
                "status": a.status,
                "status_label": STATUS_LABELS.get(a.status, a.status),
                "done": a.status == "done",
                "closed": not a.is_open,
            }
            for a in sorted(state.actions, key=lambda a: a.number)
        ],
        "metrics": metrics,
        "war_room": war_room(incident.war_room, state, incident.id_format, incident.id_seq_width),
        "doc_url": war_room(incident.doc_url, state, incident.id_format, incident.id_seq_width),
        "commits": {
            "first": first[:12],
            "last": last[:12],
            "count": len(commits),
        },
        "communications": communications,
    }


def phase_chart(state: IncidentState) -> str:
    """The Mermaid gantt chart of the incident's phases; "" with fewer than two marks."""
    from incidentctl.domain.chart import phases
    from incidentctl.templating.mermaid import gantt

    spans = phases(state)
    return gantt(f"{state.human_id}: {state.title}", spans) if spans else ""


_ACTION_ARROW = re.compile(r"\s*(?:→|->)\s*Action:\s*", re.IGNORECASE)


def lesson_pair(text: str) -> dict[str, str]:
    """'Rollback was slow → Action: Automate' -> lesson and action (WAOOAW's `**Lesson N**:
    … → Action: …`); a lesson written without an action has an empty one."""
    parts = _ACTION_ARROW.split(text, maxsplit=1)
    return {"lesson": parts[0].strip(), "action": parts[1].strip() if len(parts) == 2 else ""}


def role_title(description: str, key: str) -> str:
    """'Incident Commander (IC): on-call SRE Lead' -> 'Incident Commander'."""
    title = re.split(r"\s*[(:]", description, maxsplit=1)[0].strip()
    return title or key


# -- writing it out ------------------------------------------------------------------


@dataclass
class Written:
    path: str
    commit: str | None  # None: the committed pir.md already had this text


def write_file(path_text: str, text: str) -> Path:
    from incidentctl.store.atomic import write_atomic

    path = Path(path_text).expanduser()
    try:
        write_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        raise IncidentctlError(
            f"cannot write {path}: {exc.strerror or exc}", hint="check the -o path"
        ) from None
    return path


def commit_review(ws: Workspace, review: Review) -> Written:
    """Write pir.md into the incident folder and commit it alone. Not an event, but
    under incidents/, so append-only like everything there: committed once."""
    from incidentctl.store import commits
    from incidentctl.store.writer import writing

    path = review.folder / PIR_FILE
    rel = ws.repo.rel(path)
    state = review.state
    message = commits.message(
        f"{state.human_id}: post-incident review ({PIR_FILE})",
        f"Generated by `incidentctl pir generate --commit` with {review.template}.",
        [
            (commits.INCIDENT, state.human_id),
            (commits.INCIDENT_UID, state.uid),
            (commits.REVIEW_FILE, PIR_FILE),
        ],
    )
    # not prepared: an unchanged review commits nothing
    with writing(ws.repo, prepare=False) as w:
        before = path.read_bytes() if path.is_file() else None
        tracked = before is not None and not ws.repo.git.status(rel)
        if tracked and before == review.text.encode("utf-8"):
            return Written(rel, None)
        if before is not None:
            raise UsageError(
                f"{rel} is already committed, and nothing under incidents/ is ever changed",
                hint="write the updated review elsewhere with -o FILE",
            )
        commit = w.record(rel, review.text.encode("utf-8"), message).commit
    return Written(rel, commit)
