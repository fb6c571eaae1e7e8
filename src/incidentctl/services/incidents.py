"""The event commands of an incident's first minutes: declare, ack, update, assign, note,
mitigate, resolve, reopen. Each validates everything before it writes anything."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from incidentctl.domain.policy import STATUSES
from incidentctl.errors import IncidentctlError, UsageError, choices_hint
from incidentctl.services.lookup import find_incident, make_current
from incidentctl.services.record import (
    RecordResult,
    actor,
    clean_name,
    clean_text,
    new_event_id,
    one_line,
    record_event,
    refuse_damaged,
    when,
)
from incidentctl.services.workspace import Workspace

if TYPE_CHECKING:
    from incidentctl.domain.events import EventBase
    from incidentctl.store.repo import LoadedIncident


def _status(text: str) -> str:
    value = text.strip().lower()
    if value not in STATUSES:
        raise UsageError(f"unknown status {text!r}", hint=choices_hint("statuses", STATUSES))
    return value


def _role(ws: Workspace, text: str) -> str:
    name = ws.config.role_name(text)
    if name is None:
        raise UsageError(
            f"unknown role {text!r}", hint=choices_hint("roles", list(ws.config.roles))
        )
    return name


def _user(text: str, what: str) -> str:
    return clean_name(text, what)


@dataclass
class Declaration:
    title: str
    severity: str
    services: list[str]
    impact: str = ""
    commander: str | None = None
    responders: list[str] | None = None
    detected_at: str | None = None
    at: str | None = None
    by: str | None = None
    runbook: str = ""
    category: str = ""
    customers_affected: int | None = None
    drill: bool = False
    drill_kind: str = ""
    scenario: str = ""
    drill_speed: float | None = None


def _customers(value: int | None) -> int | None:
    if value is not None and value < 0:
        raise UsageError(
            f"--customers-affected {value}: must be 0 or more", hint="give a count, e.g. 12"
        )
    return value


def declare(ws: Workspace, d: Declaration) -> RecordResult:
    from incidentctl.domain import events as ev
    from incidentctl.domain import ids
    from incidentctl.domain.state import fold
    from incidentctl.domain.ulid import new_ulid
    from incidentctl.store.writer import writing

    title = clean_text(d.title, "the title", required=True).strip()
    severity = ws.severity(d.severity)
    services = [clean_name(s, "--service") for s in d.services]
    impact = clean_text(d.impact, "--impact")
    category = clean_text(d.category, "--category").strip()
    customers = _customers(d.customers_affected)
    drill_kind = ""
    if d.drill:
        drill_kind = clean_text(d.drill_kind, "--drill-kind").strip() or ws.config.drills.kind
    commander = _user(d.commander, "--commander") if d.commander is not None else ""
    responders = [_user(r, "--responder") for r in d.responders or []]
    at = when(ws, d.at)
    detected = when(ws, d.detected_at, "--detected-at") if d.detected_at is not None else None
    if detected is not None and detected > at:
        raise UsageError(
            "--detected-at is after the declaration time",
            hint="the alert fires before the incident is declared; check --detected-at and --at",
        )
    runbook, runbook_note = "", ""
    if d.runbook:
        from incidentctl.services.runbooks import attachable_runbook

        runbook, runbook_note = attachable_runbook(ws, d.runbook, severity)
    settings = ws.config.incident
    with writing(ws.repo) as w:
        author = actor(ws, d.by)
        uid = new_ulid(at)
        day = at.date()  # at is UTC
        taken: list[str] = []
        for folder in ws.repo.folders_declared_on(day):
            try:
                current, former = ws.repo.human_ids(folder)
            except IncidentctlError:
                continue
            taken += [current, *former]
        human_id = ids.next_id(settings.id_format, day, taken, settings.id_seq_width)
        event = ev.Declared(
            id=uid,
            incident=uid,
            at=at,
            recorded_at=ws.now(),
            author=author,
            human_id=human_id,
            title=title,
            severity=severity,
            services=services,
            impact=impact,
            commander=commander,
            responders=responders,
            detected_at=detected,
            runbook=runbook,
            category=category,
            customers_affected=customers,
            drill=d.drill,
            drill_kind=drill_kind,
            scenario=d.scenario if d.drill else "",
            drill_speed=d.drill_speed if d.drill else None,
        )
        folder = ws.repo.new_folder(uid, title)
        recorded = record_event(
            w,
            folder,
            human_id,
            event,
            f"declared {'DRILL ' if d.drill else ''}{severity}: {title}",
            body=impact,
        )
    result = RecordResult(fold([event]), [recorded], w.recovered)
    kept = make_current(ws, uid)  # `-` is now this incident, in this clone
    if kept:
        result.notes.append(kept)
    if runbook_note:
        result.notes.append(runbook_note)
    return result


# -- events on an existing incident -------------------------------------------------

Builder = Callable[["LoadedIncident", dict[str, Any]], list[tuple["EventBase", str, str]]]


def _record(
    ws: Workspace,
    ref: str,
    at_text: str | None,
    by: str | None,
    build: Builder,
) -> RecordResult:
    """Find the incident, then under the lock build each event, fold the incident with
    them in their `at` places, refuse them if that makes the lifecycle impossible
    (`domain.lifecycle`), and commit each in turn. The result's state is that fold."""
    from incidentctl.domain.state import fold
    from incidentctl.store.writer import writing

    at = when(ws, at_text)
    with writing(ws.repo) as w:
        found = find_incident(ws, ref)
        loaded = found.incident
        refuse_damaged(loaded)  # a file of this incident cannot be read: docs/storage.md
        base = {
            "incident": loaded.state.uid,
            "at": at,
            "recorded_at": ws.now(),
            "author": actor(ws, by),
        }
        events = list(loaded.state.timeline)
        planned = []
        for event, subject, body in build(loaded, base):
            event = _after_ties(event, events + [p[0] for p in planned])
            planned.append((event, subject, body))
        _check_lifecycle(loaded, events, [p[0] for p in planned], at_text)
        result = RecordResult(loaded.state, recovered=w.recovered)
        if found.note:
            result.notes.append(found.note)
        result.notes.extend(str(problem) for problem in loaded.problems)  # warnings only
        for event, subject, body in planned:
            result.recorded.append(
                record_event(w, loaded.folder, loaded.state.human_id, event, subject, body)
            )
            events.append(event)
        result.state = fold(events)
    return result


def _after_ties(event: EventBase, timeline: list[EventBase]) -> EventBase:
    """`event` with an ID that sorts it after every event of the same `at` and
    `recorded_at` (a pinned clock, or two events of one command): the fold then takes
    events recorded in one instant in the order they were recorded."""
    from incidentctl.domain.ulid import new_ulid

    tied = [e.id for e in timeline if (e.at, e.recorded_at) == (event.at, event.recorded_at)]
    if not tied or max(tied) < event.id:
        return event
    import secrets

    from incidentctl.domain.ulid import ALPHABET

    highest = 0
    for c in max(tied)[10:]:
        highest = highest * 32 + ALPHABET.index(c)
    randomness = highest + 1 + secrets.randbits(40)  # two clones never pick the same one
    if randomness >= 1 << 80:
        return event
    return event.model_copy(update={"id": new_ulid(event.at, randomness.to_bytes(10, "big"))})


def _check_lifecycle(
    loaded: LoadedIncident,
    timeline: list[EventBase],
    planned: list[EventBase],
    at_text: str | None,
) -> None:
    """Refuse `planned` if the incident folded with them breaks the lifecycle."""
    from incidentctl.domain import events as ev
    from incidentctl.domain.lifecycle import check, name

    new = frozenset(e.id for e in planned)
    breach = check(timeline, timeline + planned, new)
    if breach is None:
        return
    amended = {e.target for e in planned if isinstance(e, ev.Corrected | ev.Retracted)}
    other = breach.then if breach.first.id in new | amended else breach.first
    fix = f"correct {name(other)}: incidentctl correct {other.id[:12]} --at TIME"
    kinds = {e.type for e in planned}
    if "corrected" in kinds:
        first = "give the correction another --at, or "
    elif "retracted" in kinds:
        first = "keep the event, or "
    elif at_text is not None:
        first = "drop --at to record it now, or "
    else:
        first = ""
    raise UsageError(f"{loaded.state.human_id}: {breach.message(new)}", hint=first + fix)


def _fields(base: dict[str, Any], at: datetime | None = None) -> dict[str, Any]:
    fields = dict(base, id=new_event_id(at or base["at"]))
    return fields


def _require_open(loaded: LoadedIncident, action: str) -> None:
    if not loaded.state.is_open:
        raise UsageError(
            f"{loaded.state.human_id} is resolved; cannot {action}",
            hint=f"reopen it first: incidentctl reopen {loaded.state.human_id} -m REASON",
        )


def acknowledge(
    ws: Workspace, ref: str, *, by: str | None, at: str | None, message: str = ""
) -> RecordResult:
    from incidentctl.domain import events as ev

    message = clean_text(message, "-m")

    def build(loaded: LoadedIncident, base: dict[str, Any]):
        _require_open(loaded, "acknowledge")
        event = ev.Acknowledged(**_fields(base), message=message)
        return [(event, f"acknowledged by {event.author}", message)]

    return _record(ws, ref, at, by, build)


@dataclass
class Update:
    status: str | None = None
    severity: str | None = None
    impact: str | None = None
    message: str | None = None
    kind: str = "update"
    customers_affected: int | None = None


def update(ws: Workspace, ref: str, u: Update, *, by: str | None, at: str | None) -> RecordResult:
    from incidentctl.domain import events as ev

    nothing = (u.status, u.severity, u.impact, u.message, u.customers_affected)
    if all(value is None for value in nothing):
        raise UsageError(
            "nothing to update",
            hint="give --status, --severity, --impact, --customers-affected or -m/--message",
        )
    customers = _customers(u.customers_affected)
    status = _status(u.status) if u.status is not None else None
    if status == "resolved":
        raise UsageError(
            "update cannot resolve an incident: resolving records its root cause and resolution",
            hint=f"resolve it instead: incidentctl resolve {ref} --root-cause TEXT --resolution TEXT",
        )
    severity = ws.severity(u.severity) if u.severity is not None else None
    impact = clean_text(u.impact, "--impact") if u.impact is not None else None
    message = clean_text(u.message, "-m", required=True) if u.message is not None else ""

    def build(loaded: LoadedIncident, base: dict[str, Any]):
        state = loaded.state
        planned: list[tuple[EventBase, str, str]] = []
        if status is not None and status != state.status:
            if not state.is_open:
                _require_open(loaded, "change its status")
            planned.append(
                (
                    ev.StatusChanged(
                        **_fields(base), status=status, previous=state.status, message=message
                    ),
                    f"status {state.status} -> {status}",
                    message,
                )
            )
        if severity is not None and severity != state.severity:
            planned.append(
                (
                    ev.SeverityChanged(
                        **_fields(base), severity=severity, previous=state.severity, reason=message
                    ),
                    f"severity {state.severity} -> {severity}",
                    message,
                )
            )
        new_impact = impact is not None and impact != state.impact
        new_count = customers is not None and customers != state.customers_affected
        if new_impact or new_count:
            text = impact if impact is not None else state.impact
            planned.append(
                (
                    ev.ImpactChanged(
                        **_fields(base),
                        impact=text,
                        message=message,
                        customers_affected=customers if new_count else None,
                    ),
                    "impact updated" + (f" ({customers} customers affected)" if new_count else ""),
                    text,
                )
            )
        if not planned:
            if u.message is None:
                raise UsageError(
                    f"nothing changed: {state.human_id} already has those values",
                    hint="add -m/--message to record a note instead",
                )
            planned.append(
                (
                    ev.NoteAdded(**_fields(base), text=message, kind=u.kind),
                    f"{u.kind}: {one_line(message)}",
                    message,
                )
            )
        return planned

    return _record(ws, ref, at, by, build)


def note(
    ws: Workspace, ref: str, text: str, kind: str = "note", *, by: str | None, at: str | None
) -> RecordResult:
    """A note on the timeline. Only kind `update` counts as an update to stakeholders."""
    from incidentctl.domain import events as ev
    from incidentctl.domain.events import NOTE_KINDS

    text = clean_text(text, "the note", required=True)
    kind = kind.strip().lower()
    if kind not in NOTE_KINDS:
        raise UsageError(f"unknown note kind {kind!r}", hint=choices_hint("kinds", NOTE_KINDS))

    def build(loaded: LoadedIncident, base: dict[str, Any]):
        event = ev.NoteAdded(**_fields(base), text=text, kind=kind)
        return [(event, f"{kind}: {one_line(text)}", text)]

    return _record(ws, ref, at, by, build)


def assign(
    ws: Workspace, ref: str, role: str, user: str, *, by: str | None, at: str | None
) -> RecordResult:
    from incidentctl.domain import events as ev

    role = _role(ws, role)
    user = _user(user, "the user")

    def build(loaded: LoadedIncident, base: dict[str, Any]):
        previous = loaded.state.roles.get(role, "")
        if previous == user:
            raise UsageError(f"{user} is already {role} of {loaded.state.human_id}")
        event = ev.RoleAssigned(**_fields(base), role=role, user=user, previous=previous)
        return [(event, f"{role} -> {user}", "")]

    return _record(ws, ref, at, by, build)


def mitigate(
    ws: Workspace, ref: str, message: str, keep_status: bool, *, by: str | None, at: str | None
) -> RecordResult:
    from incidentctl.domain import events as ev

    message = clean_text(message, "-m", required=True)

    def build(loaded: LoadedIncident, base: dict[str, Any]):
        _require_open(loaded, "mitigate")
        new_status = "" if keep_status or loaded.state.status == "monitoring" else "monitoring"
        event = ev.Mitigated(**_fields(base), message=message, status=new_status)
        subject = "mitigated" + (
            f", status {loaded.state.status} -> monitoring" if new_status else ""
        )
        return [(event, subject, message)]

    return _record(ws, ref, at, by, build)


def resolve(
    ws: Workspace,
    ref: str,
    root_cause: str,
    resolution: str,
    category: str,
    impact: str,
    *,
    by: str | None,
    at: str | None,
    force: bool = False,
) -> RecordResult:
    """Resolve. Against `stable_for` (monitoring not long enough yet) it is refused
    unless `force`, and the event then records why (`forced`); a resolution by
    anyone but the Incident Commander (`[obligations] commander_resolves`) warns."""
    from incidentctl.domain import events as ev
    from incidentctl.domain.rules import early_resolution, key

    root_cause = clean_text(root_cause, "--root-cause", required=True)
    resolution = clean_text(resolution, "--resolution", required=True)
    category = clean_text(category, "--category").strip()
    impact = clean_text(impact, "--impact")

    def build(loaded: LoadedIncident, base: dict[str, Any]):
        if not loaded.state.is_open:
            raise UsageError(
                f"{loaded.state.human_id} is already resolved",
                hint=f"to reopen it: incidentctl reopen {loaded.state.human_id} -m REASON",
            )
        state = loaded.state
        early = early_resolution(state, ws.config, base["at"])
        if early and not force:
            raise UsageError(
                f"{state.human_id}: too early to resolve: {early}",
                hint="wait, or resolve anyway with --force (the event records it)",
            )
        if early:
            warnings.append(f"resolved with --force: {early}; the event records it")
        commander = state.commander
        by_other = commander and key(base["author"]) != key(commander)
        if ws.config.obligations.commander_resolves and by_other:
            warnings.append(
                f"resolved by {base['author'] or 'someone'}, not the Incident Commander "
                f"{commander}: the IC declares resolution"
            )
        event = ev.Resolved(
            **_fields(base),
            root_cause=root_cause,
            resolution=resolution,
            category=category,
            impact=impact,
            forced=early if force else "",
        )
        body = f"Root cause: {root_cause}\n\nResolution: {resolution}"
        if event.forced:
            body += f"\n\nForced: {event.forced}"
        return [(event, f"resolved ({loaded.state.status} -> resolved)", body)]

    warnings: list[str] = []
    result = _record(ws, ref, at, by, build)
    result.notes.extend(warnings)
    return result


def reopen(
    ws: Workspace, ref: str, message: str, *, by: str | None, at: str | None
) -> RecordResult:
    from incidentctl.domain import events as ev

    message = clean_text(message, "-m", required=True)

    def build(loaded: LoadedIncident, base: dict[str, Any]):
        if loaded.state.is_open:
            raise UsageError(f"{loaded.state.human_id} is not resolved; nothing to reopen")
        event = ev.Reopened(**_fields(base), message=message)
        return [(event, "reopened (resolved -> investigating)", message)]

    return _record(ws, ref, at, by, build)
