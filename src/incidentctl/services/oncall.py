"""The on-call rotation: who is on call, the schedule ahead, overrides, and the handover
brief. Overrides are committed records under oncall/overrides/, one file per record,
one commit each, written under the repo lock like events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from incidentctl.errors import BadFileError, ConfigError, UsageError, choices_hint
from incidentctl.services.outcome import Outcome
from incidentctl.services.record import actor, clean_name, clean_text, new_event_id, one_line, when
from incidentctl.services.workspace import Workspace

if TYPE_CHECKING:
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from incidentctl.domain.incident import IncidentState
    from incidentctl.domain.oncall import OnCall, OncallOverride, Rotation, RotationWeek
    from incidentctl.services.clocks import IncidentClocks
    from incidentctl.store.repo import FileProblem
    from incidentctl.store.writer import Writer, Written

OVERRIDES_DIR = "oncall/overrides"
MAX_WEEKS = 520


def _rotation(ws: Workspace) -> Rotation:
    from incidentctl.domain.oncall import Rotation, RotationError

    try:
        return Rotation(ws.config.oncall, ws.config.oncall_zone())
    except RotationError as exc:
        raise ConfigError(
            f"{exc}",
            hint=f'add people to [oncall] in {ws.repo.config_path}, e.g. people = ["@alice", "@bob"]',
        ) from None


def _parse_time(ws: Workspace, text: str, what: str) -> datetime:
    from incidentctl.services.record import time_option

    return time_option(ws, text, what, ws.config.oncall_zone())


def _read_override(ws: Workspace, path: Path) -> OncallOverride:
    from pydantic import ValidationError

    from incidentctl.domain.events import describe_validation_error
    from incidentctl.domain.oncall import OncallOverride

    record = ws.repo.read_record(path)
    try:
        return OncallOverride.model_validate(record)
    except ValidationError as exc:
        raise BadFileError(ws.repo.rel(path), describe_validation_error(exc)) from None


def load_overrides(ws: Workspace) -> tuple[list[OncallOverride], list[FileProblem]]:
    """Every override record; unreadable ones are skipped and reported."""
    from incidentctl.store.repo import FileProblem

    found, problems = [], []
    for path in ws.repo.record_files(OVERRIDES_DIR):
        try:
            found.append(_read_override(ws, path))
        except BadFileError as exc:
            problems.append(FileProblem(exc.path, exc.problem))
    return found, problems


@dataclass
class OncallView(Outcome):
    """Who is on call at one moment, and the rotation around it."""

    zone: ZoneInfo
    oncall: OnCall
    handover_at: datetime
    problems: list[FileProblem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from incidentctl.domain.timeparse import iso

        o = self.oncall
        return {
            "at": iso(o.at),
            "timezone": str(self.zone),
            "primary": o.primary,
            "secondary": o.secondary,
            "scheduled_primary": o.week.primary,
            "scheduled_secondary": o.week.secondary,
            "primary_override": o.primary_override.to_record() if o.primary_override else None,
            "secondary_override": (
                o.secondary_override.to_record() if o.secondary_override else None
            ),
            "week": week_dict(o.week),
            "handover_at": iso(self.handover_at),
        }


def week_dict(week: RotationWeek) -> dict[str, Any]:
    from incidentctl.domain.timeparse import iso

    return {
        "index": week.index,
        "start": iso(week.start),
        "end": iso(week.end),
        "primary": week.primary,
        "secondary": week.secondary,
    }


def oncall_at(ws: Workspace, at_text: str | None) -> OncallView:
    rotation = _rotation(ws)
    at = _parse_time(ws, at_text, "--at") if at_text is not None else ws.now()
    overrides, problems = load_overrides(ws)
    oncall = rotation.on_call(at, overrides)
    return OncallView(rotation.zone, oncall, rotation.handover_at(oncall.week), problems)


@dataclass
class ScheduledWeek:
    week: RotationWeek
    handover_at: datetime  # the briefing that ends this week
    overrides: list[OncallOverride]

    def to_dict(self) -> dict[str, Any]:
        from incidentctl.domain.timeparse import iso

        data = week_dict(self.week)
        data["handover_at"] = iso(self.handover_at)
        data["overrides"] = [o.to_record() for o in self.overrides]
        return data


@dataclass
class Schedule(Outcome):
    zone: ZoneInfo
    weeks: list[ScheduledWeek]
    problems: list[FileProblem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"timezone": str(self.zone), "weeks": [w.to_dict() for w in self.weeks]}


def schedule(ws: Workspace, weeks: int, *, skip: int = 0) -> Schedule:
    """`weeks` rotation weeks, starting `skip` weeks after the current one."""
    from incidentctl.domain.oncall import overrides_within

    if not 1 <= weeks <= MAX_WEEKS:
        raise UsageError(f"--weeks {weeks}: give 1 to {MAX_WEEKS}")
    rotation = _rotation(ws)
    overrides, problems = load_overrides(ws)
    first = rotation.week_index(ws.now()) + skip
    out = []
    for index in range(first, first + weeks):
        week = rotation.week(index)
        out.append(
            ScheduledWeek(
                week,
                rotation.handover_at(week),
                overrides_within(overrides, week.start, week.end),
            )
        )
    return Schedule(rotation.zone, out, problems)


@dataclass
class NextRotation(Outcome):
    zone: ZoneInfo
    week: RotationWeek
    briefing_at: datetime  # the handover briefing before it starts
    overrides: list[OncallOverride]
    problems: list[FileProblem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from incidentctl.domain.timeparse import iso

        return {
            "timezone": str(self.zone),
            "week": week_dict(self.week),
            "briefing_at": iso(self.briefing_at),
            "overrides": [o.to_record() for o in self.overrides],
        }


def next_rotation(ws: Workspace) -> NextRotation:
    ahead = schedule(ws, 2)
    current, upcoming = ahead.weeks
    return NextRotation(
        ahead.zone, upcoming.week, current.handover_at, upcoming.overrides, ahead.problems
    )


# -- override -----------------------------------------------------------------------


@dataclass
class OverrideResult:
    override: OncallOverride
    path: str
    commit: str
    recovered: list[str] = field(default_factory=list)  # leftover records committed first

    def to_dict(self) -> dict[str, Any]:
        return {"override": self.override.to_record(), "path": self.path, "commit": self.commit}


def add_override(
    ws: Workspace,
    user: str,
    start_text: str,
    end_text: str,
    *,
    role: str,
    reason: str,
    by: str | None,
    at: str | None,
) -> OverrideResult:
    from incidentctl.domain.oncall import ROLES, OncallOverride
    from incidentctl.domain.timeparse import iso
    from incidentctl.store.writer import writing

    user = clean_name(user, "the user")
    reason = clean_text(reason, "-m")
    role = role.strip().lower()
    if role not in ROLES:
        raise UsageError(f"unknown on-call role {role!r}", hint=choices_hint("roles", ROLES))
    start = _parse_time(ws, start_text, "--from")
    end = _parse_time(ws, end_text, "--to")
    if end <= start:
        raise UsageError(
            f"--to ({iso(end)}) is not after --from ({iso(start)})",
            hint="an override covers the time from --from up to --to",
        )
    agreed = when(ws, at)
    with writing(ws.repo) as w:
        recovered = [r.path for r in w.recovered] + _commit_leftovers(ws, w)
        override = OncallOverride(
            id=new_event_id(agreed),
            at=agreed,
            recorded_at=ws.now(),
            author=actor(ws, by),
            user=user,
            role=role,
            start=start,
            end=end,
            reason=reason,
        )
        written = _write_override(w, override)
    return OverrideResult(override, written.path, written.commit, recovered)


def _override_message(override: OncallOverride) -> str:
    from incidentctl.domain.timeparse import iso
    from incidentctl.store import commits

    who = one_line(override.user)
    subject = f"oncall: {who} {override.role} from {iso(override.start)} to {iso(override.end)}"
    trailers = [(commits.EVENT, override.id), (commits.EVENT_TYPE, override.type)]
    return commits.message(subject, override.reason, trailers)


def _write_override(w: Writer, override: OncallOverride) -> Written:
    import tomli_w

    from incidentctl.store.repo import event_file_name

    rel = f"{OVERRIDES_DIR}/{event_file_name(override)}"  # <UTC ts>-<ULID>.toml, like events
    data = tomli_w.dumps(override.to_record()).encode("utf-8")
    return w.record(rel, data, _override_message(override), key=override.id)


def _commit_leftovers(ws: Workspace, w: Writer) -> list[str]:
    """Commit override files left uncommitted that no write journal names (a killed
    command of a version before the journal wrote them): the journal's own are done."""
    done = []
    for path in ws.repo.uncommitted_records(OVERRIDES_DIR):
        try:
            override = _read_override(ws, path)
        except BadFileError:
            continue  # not ours to fix: the user sees it as a problem when reading
        done.append(w.adopt(ws.repo.rel(path), _override_message(override)).path)
    return done


# -- handover -----------------------------------------------------------------------


@dataclass
class ActionItem:
    incident: str
    text: str
    owner: str
    due: date | datetime | None
    overdue: bool


@dataclass
class HandoverBrief(Outcome):
    now: datetime
    zone: ZoneInfo
    week: RotationWeek  # the week that is ending
    next_week: RotationWeek
    handover_at: datetime
    outgoing: str
    incoming: str
    active: list[IncidentClocks]
    this_week: list[IncidentState]
    actions: list[ActionItem] | None  # None: incidents carry no action items
    outgoing_checklist: list[str]
    incoming_checklist: list[str]
    overrides: list[OncallOverride]  # in force during the next week
    problems: list[FileProblem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from incidentctl.domain.timeparse import iso

        return {
            "timezone": str(self.zone),
            "week": week_dict(self.week),
            "next_week": week_dict(self.next_week),
            "handover_at": iso(self.handover_at),
            "outgoing": self.outgoing,
            "incoming": self.incoming,
            "active": [item.to_dict(self.now) for item in self.active],
            "this_week": [s.summary_dict() for s in self.this_week],
            "actions": None
            if self.actions is None
            else [
                {
                    "incident": a.incident,
                    "text": a.text,
                    "owner": a.owner,
                    "due": a.due.isoformat() if a.due else None,
                    "overdue": a.overdue,
                }
                for a in self.actions
            ],
            "outgoing_checklist": list(self.outgoing_checklist),
            "incoming_checklist": list(self.incoming_checklist),
            "overrides": [o.to_record() for o in self.overrides],
        }


def handover_brief(ws: Workspace) -> HandoverBrief:
    from incidentctl.domain.oncall import overrides_within
    from incidentctl.services.clocks import clocks_of

    rotation = _rotation(ws)
    now = ws.now()
    overrides, problems = load_overrides(ws)
    week = rotation.week_at(now)
    next_week = rotation.week(week.index + 1)
    loaded, incident_problems = ws.repo.load_all()
    states = sorted((item.state for item in loaded), key=lambda s: (s.declared_at, s.uid))
    active = [clocks_of(s, ws.config, now) for s in states if s.is_open]
    this_week = [
        s
        for s in states
        if week.start <= s.declared_at < week.end
        or (s.resolved_at is not None and week.start <= s.resolved_at < week.end)
    ]
    settings = ws.config.oncall
    return HandoverBrief(
        now=now,
        zone=rotation.zone,
        week=week,
        next_week=next_week,
        handover_at=rotation.handover_at(week),
        outgoing=week.primary,
        incoming=next_week.primary,
        active=active,
        this_week=this_week,
        actions=_open_actions(states, now),
        outgoing_checklist=list(settings.outgoing_checklist),
        incoming_checklist=list(settings.incoming_checklist),
        overrides=overrides_within(overrides, next_week.start, next_week.end),
        problems=problems + incident_problems,
    )


def _open_actions(states: list[IncidentState], now: datetime) -> list[ActionItem] | None:
    """Open action items across incidents, overdue first; None when there are none,
    so the brief leaves the section out."""
    today = now.date()
    items = [
        ActionItem(
            incident=action.label(s.human_id),
            text=action.title,
            owner=action.owner,
            due=action.due,
            overdue=action.is_overdue(today),
        )
        for s in states
        for action in s.actions
        if action.is_open
    ]
    items.sort(key=lambda a: (not a.overdue, a.incident))
    return items or None
