"""Clocks and escalation: what every incident owes and when (status, watch), and the
commands that meet those obligations (escalate, notify)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from incidentctl.errors import ExitCode, IncidentctlError, UsageError
from incidentctl.services.incidents import _fields, _record, _require_open, _user
from incidentctl.services.lookup import find_incident
from incidentctl.services.outcome import Outcome, Problem
from incidentctl.services.record import RecordResult, clean_name, clean_text, one_line
from incidentctl.services.workspace import Workspace

if TYPE_CHECKING:
    from incidentctl.domain.events import EventBase
    from incidentctl.domain.incident import IncidentState
    from incidentctl.domain.obligations import Obligation
    from incidentctl.domain.policy import Config
    from incidentctl.store.repo import FileProblem, LoadedIncident

RECENT_EVENTS = 12  # how many timeline events `watch` shows


class IncidentClocks:
    """An incident and what it owes. Built from a cached resolved incident's obligations,
    its state is unpickled only if it is looked at (`status` lists tens of thousands), and
    its obligations are made only if they are looked at: a cached one holds them as
    plain (kind, label, due, detail, who) tuples, counted from `now`."""

    def __init__(
        self,
        state: IncidentState | None,
        obligations: list[Obligation] | None,
        loaded: LoadedIncident | None = None,
        *,
        owed: tuple[tuple, ...] = (),
        now: datetime | None = None,
    ) -> None:
        self._state = state
        self._loaded = loaded
        self._obligations = obligations
        self._owed = owed  # a cached incident's obligations, in order, made on demand
        self.now = now

    @property
    def obligations(self) -> list[Obligation]:
        if self._obligations is None:
            from incidentctl.domain.obligations import Obligation

            now = self.now
            assert now is not None
            self._obligations = [
                Obligation(kind, label, due, due - now, detail, who)
                for kind, label, due, detail, who in self._owed
            ]
        return self._obligations

    def count_from(self, now: datetime) -> None:
        """The time left of a cached incident's obligations, counted from `now`."""
        if self._owed:
            self.now = now
            self._obligations = None

    @property
    def owes(self) -> bool:
        return bool(self._owed) if self._obligations is None else bool(self._obligations)

    @property
    def first_due(self) -> datetime | None:
        if self._obligations is None:
            return self._owed[0][2] if self._owed else None
        return self._obligations[0].due_at if self._obligations else None

    @property
    def state(self) -> IncidentState:
        if self._state is None:
            assert self._loaded is not None
            self._state = self._loaded.state
        return self._state

    @property
    def is_open(self) -> bool:
        return self.state.is_open if self._state is not None else self._loaded.brief.is_open  # type: ignore[union-attr]

    @property
    def declared_at(self) -> datetime:
        if self._state is not None:
            return self._state.declared_at
        return self._loaded.brief.declared_at  # type: ignore[union-attr]

    @property
    def next(self) -> Obligation | None:
        return self.obligations[0] if self.owes else None

    @property
    def is_overdue(self) -> bool:
        if self._obligations is None:
            now = self.now
            return any(due < now for _k, _l, due, _d, _w in self._owed)  # type: ignore[operator]
        return any(o.overdue for o in self._obligations)

    @property
    def overdue(self) -> list[Obligation]:
        return [o for o in self.obligations if o.overdue]

    def to_dict(self, now: datetime) -> dict[str, Any]:
        data = self.state.summary_dict()
        data["age_seconds"] = int(self.state.age(now).total_seconds())
        data["escalation_level"] = self.state.escalation_level
        data["next"] = self.next.to_dict() if self.next else None
        data["overdue"] = bool(self.overdue)
        data["obligations"] = [o.to_dict() for o in self.obligations]
        return data


@dataclass
class StatusReport(Outcome):
    now: datetime
    incidents: list[IncidentClocks]
    problems: list[FileProblem | Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    check: bool = False  # status --check: anything overdue is exit 3, for cron and alerting

    @property
    def exit_status(self) -> ExitCode:
        overdue = ExitCode.CHECK if self.check and self.overdue else ExitCode.OK
        return max(overdue, super().exit_status)

    @property
    def overdue(self) -> bool:
        return any(item.is_overdue for item in self.incidents)

    def recent_events(self, limit: int = RECENT_EVENTS) -> list[tuple[IncidentState, EventBase]]:
        """The latest timeline events across the open incidents shown, oldest first.
        (Resolved incidents that only owe a review would make `watch` read thousands
        of timelines every second in a large repo.)"""
        pairs = [
            (item.state, e)
            for item in self.incidents
            if item.is_open or len(self.incidents) == 1
            for e in item.state.timeline
        ]
        pairs.sort(key=lambda pair: pair[1].sort_key())
        return pairs[-limit:]

    def shown(self, resolved_limit: int) -> tuple[StatusReport, int]:
        """The report with at most `resolved_limit` resolved incidents (the most urgent;
        they sort after the open ones), and how many were left out. For the terminal
        view: a repo with years of unreviewed incidents must not bury the open ones."""
        open_items = [item for item in self.incidents if item.is_open]
        resolved = [item for item in self.incidents if not item.is_open]
        kept = open_items + resolved[:resolved_limit]
        left = len(resolved) - len(resolved[:resolved_limit])
        return StatusReport(self.now, kept, self.problems, self.notes), left

    def to_dict(self) -> dict[str, Any]:
        from incidentctl.domain.timeparse import iso

        return {
            "now": iso(self.now),
            "overdue": self.overdue,
            "incidents": [item.to_dict(self.now) for item in self.incidents],
        }


def clocks_of(state: IncidentState, config: Config, now: datetime) -> IncidentClocks:
    from incidentctl.domain.obligations import pending_obligations

    return IncidentClocks(state, pending_obligations(state, config, now))


class _Settled:
    """What the resolved incidents owed when a report last looked, so that the next one
    need not unpickle their states: uid -> (folder tree id, when looked, valid until,
    the obligations as (kind, label, due, detail, who)), for one configuration (a
    digest of it), kept beside the state cache.

    A resolved incident owes a review, a final update, an email... until an event
    records it, which changes its folder's tree id; what it owes does not change with
    time, except a monitoring or stability check, which is met once its due time has
    passed (an entry holding one is valid until the earliest such due time). A clock
    set back before the look (INCIDENTCTL_NOW) looks again."""

    PART = "settled"

    def __init__(self, ws: Workspace, now: datetime) -> None:
        import hashlib

        from incidentctl.store.cache import StateCache

        self.now = now
        self.cache = StateCache(ws.repo.root)
        self.key = hashlib.blake2b(repr(ws.config).encode(), digest_size=16).hexdigest()
        got = self.cache.read_part(self.PART)
        ok = isinstance(got, tuple) and len(got) == 2 and got[0] == self.key
        self.known: dict[str, tuple] = got[1] if ok else {}
        self.looked: dict[str, str] = {}  # uid -> tree of the resolved ones read now

    def clocks(self, item: LoadedIncident) -> IncidentClocks | None:
        """The cached clocks of a resolved incident (its state still pickled), or None."""
        brief = item.brief
        # an event written but not committed (a crash) leaves HEAD's tree id: not cached
        if brief.is_open or item.tree is None or item.uncommitted:
            return None
        hit = self.known.get(brief.uid)
        if (
            hit is not None
            and hit[0] == item.tree
            and hit[1] <= self.now
            and (hit[2] is None or self.now < hit[2])
        ):
            return IncidentClocks(None, None, item, owed=hit[3], now=self.now)
        self.looked[brief.uid] = item.tree
        return None

    def learn(self, items: list[IncidentClocks]) -> None:
        if not self.looked:
            return
        for item in items:
            tree = self.looked.get(item.state.uid) if item._state is not None else None
            if tree is None or item.state.is_open:
                continue
            waits = [o.due_at for o in item.obligations if o.kind in ("monitor", "stability")]
            self.known[item.state.uid] = (
                tree,
                self.now,
                min(waits) if waits else None,
                tuple((o.kind, o.label, o.due_at, o.detail, o.who) for o in item.obligations),
            )
        self.looked = {}
        self.cache.write_part(self.PART, (self.key, self.known))


@dataclass
class _Loaded:
    """The incidents a status report is about, as read from disk."""

    states: list[IncidentState]
    problems: list[FileProblem]
    notes: list[str]
    single: bool  # one incident named by the user: shown whatever it owes
    settled: list[IncidentClocks] = field(default_factory=list)  # from the cache
    learn: _Settled | None = None


def _load(ws: Workspace, ref: str | None) -> _Loaded:
    if ref is not None:
        found = find_incident(ws, ref)
        notes = [found.note] if found.note else []
        return _Loaded([found.incident.state], list(found.incident.problems), notes, True)
    loaded, problems = ws.repo.load_all()
    settled = _Settled(ws, ws.now())
    states, known = [], []
    for item in loaded:
        clocks = settled.clocks(item)
        if clocks is None:
            states.append(item.state)
        else:
            known.append(clocks)
    return _Loaded(states, problems, [], False, known, settled)


def _report(loaded: _Loaded, config: Config, now: datetime) -> StatusReport:
    items = [clocks_of(state, config, now) for state in loaded.states]
    if loaded.learn is not None:
        loaded.learn.learn(items)
    if loaded.settled:  # the cached ones, their obligations' time left counted from now
        for item in loaded.settled:
            item.count_from(now)
        items += loaded.settled
    if not loaded.single:
        items = [item for item in items if item.is_open or item.owes]
        items.sort(key=_urgency)
    return StatusReport(now, items, loaded.problems, loaded.notes)


def status_report(ws: Workspace, ref: str | None = None, *, check: bool = False) -> StatusReport:
    """Open incidents (and resolved ones that still owe something, such as a PIR), most
    urgent first; or the one incident `ref` names. With `check`, an overdue obligation
    fails the report (exit 3)."""
    report = _report(_load(ws, ref), ws.config, ws.now())
    report.check = check
    for item in report.incidents:
        undefined = ws.undefined_severity(item.state) if item.is_open else None
        if undefined:
            report.problems.append(Problem(undefined, exit_code=ExitCode.OK, warning=True))
    return report


def _urgency(item: IncidentClocks) -> tuple:
    first = item.first_due
    return (
        not item.is_open,
        first is None,
        first if first is not None else item.declared_at,
        item.declared_at,
    )


class Watcher:
    """Keeps a status report current for `watch`: reads the incidents again when their
    files change on disk (a commit by another process, or a sync), and recomputes the
    clocks on every tick."""

    def __init__(self, ws: Workspace, ref: str | None) -> None:
        self.ws = ws
        self.ref = ref
        self._signature = ws.repo.incidents_signature()
        self._loaded = _load(ws, ref)
        self.report = _report(self._loaded, ws.config, ws.now())

    def refresh(self) -> StatusReport:
        signature = self.ws.repo.incidents_signature()
        if signature != self._signature:
            self._signature = signature
            self._loaded = _load(self.ws, self.ref)
        self.report = _report(self._loaded, self.ws.config, self.ws.now())
        return self.report


# -- escalate -----------------------------------------------------------------------


@dataclass
class EscalationResult(Outcome):
    """The escalation recorded, and its `slack/escalation` message ("" if the template
    failed: that is a problem, and the escalation stays recorded)."""

    record: RecordResult
    event: Any
    text: str = ""
    problems: list[Problem] = field(default_factory=list)


def escalate(
    ws: Workspace,
    ref: str,
    *,
    level: int | None,
    to: str | None,
    reason: str,
    by: str | None,
    at: str | None,
) -> EscalationResult:
    from incidentctl.domain import events as ev

    reason = clean_text(reason, "-m", required=True)
    target_user = _user(to, "--to") if to is not None else ""
    levels = {lv.level: lv.name for lv in ws.config.escalation}
    if level is not None:
        if level < 1:
            raise UsageError(
                f"--level {level}: levels start at 1",
                hint=_levels_hint(levels) if levels else "give --level 2 or higher",
            )
        if levels and level not in levels:
            raise UsageError(f"unknown escalation level {level}", hint=_levels_hint(levels))

    def build(loaded: LoadedIncident, base: dict[str, Any]):
        _require_open(loaded, "escalate")
        current = loaded.state.escalation_level
        target = level if level is not None else current + 1
        if levels and target not in levels:
            raise UsageError(
                f"{loaded.state.human_id} is at level {current}, the top of the escalation path",
                hint=_levels_hint(levels),
            )
        if target <= current:
            raise UsageError(
                f"{loaded.state.human_id} is already at level {current}",
                hint=f"escalate to a higher level: --level {current + 1}",
            )
        name = levels.get(target, "")
        event = ev.Escalated(
            **_fields(base),
            level=target,
            previous=current,
            name=name,
            to=target_user,
            reason=reason,
        )
        whom = " ".join(part for part in (f"L{target}", name, target_user) if part)
        return [(event, f"escalated to {whom}", reason)]

    record = _record(ws, ref, at, by, build)
    result = EscalationResult(record, record.recorded[-1].event)
    state = record.state
    try:
        result.text = escalation_message(ws, state, result.event)
    except IncidentctlError as exc:
        result.problems.append(
            Problem(
                exc.message,
                f"{state.human_id}: the escalation was recorded; fix the template, "
                f"then: incidentctl render slack/escalation {state.human_id}",
                exc.exit_code,
            )
        )
    return result


def _levels_hint(levels: dict[int, str]) -> str:
    return "levels: " + ", ".join(f"{n} {name}" for n, name in sorted(levels.items()))


def escalation_message(ws: Workspace, state: IncidentState, event: Any) -> str:
    """The `slack/escalation` message for a recorded escalation."""
    from incidentctl.services.comms import render_message

    overrides = {"level": str(event.level), "to": event.to, "reason": event.reason}
    return render_message(
        ws, "slack/escalation", state.human_id, fmt="slack", overrides=overrides
    ).paste_text


# -- notify -------------------------------------------------------------------------


@dataclass
class NotifyResult:
    record: RecordResult
    who: str  # as recorded: the policy's spelling when a rule matched
    cleared: list[str]  # labels of the obligations this notification met
    rule_matched: bool


def notify(
    ws: Workspace, ref: str, who: str, message: str, *, by: str | None, at: str | None
) -> NotifyResult:
    from incidentctl.domain import events as ev
    from incidentctl.domain.obligations import stakeholder_key
    from incidentctl.domain.wording import flat

    who = clean_name(who, "ROLE")
    message = clean_text(message, "-m")
    canonical = _policy_stakeholder(ws.config, stakeholder_key(who))
    recorded_who = canonical or flat(who)
    before: list[str] = []

    def build(loaded: LoadedIncident, base: dict[str, Any]):
        before.extend(o.label for o in clocks_of(loaded.state, ws.config, ws.now()).obligations)
        event = ev.Notified(**_fields(base), who=recorded_who, message=message)
        return [(event, f"notified {one_line(recorded_who)}", message)]

    record = _record(ws, ref, at, by, build)
    after = {o.label for o in clocks_of(record.state, ws.config, ws.now()).obligations}
    cleared = [label for label in before if label not in after]
    return NotifyResult(record, recorded_who, cleared, canonical is not None)


def _policy_stakeholder(config: Config, key: str) -> str | None:
    """The stakeholder's name as some notify rule spells it, if any rule names them."""
    from incidentctl.domain.obligations import stakeholder_key

    for policy in config.severity.values():
        for rule in policy.notify:
            if stakeholder_key(rule.who) == key:
                return rule.who
    return None
