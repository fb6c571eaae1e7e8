"""Obligations met and missed: each obligation an incident had, judged on its folded
state. Pure. `metrics` shows the met/missed share per obligation kind; `drill report`
lists them for one drill.

An obligation is met when what clears it came by its deadline, missed when it came
late (or can no longer come: the incident was resolved first), and pending while it
may still be met. Pending ones count in neither share.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from incidentctl.domain.incident import IncidentState
from incidentctl.domain.obligations import (
    EMAIL_PREFIX,
    STATUS_PAGE_PREFIX,
    _Deadlines,
    communications,
    stakeholder_key,
)
from incidentctl.domain.policy import Config
from incidentctl.domain.rules import RuleCheck, notify_rules, rule_checks

LABELS = {
    "acknowledge": "Acknowledge",
    "customer_comms": "Customer communication",
    "customer_email": "Customer email",
    "notify": "Notify",
    "resolve": "Resolve",
    "pir": "Post-incident review",
    "monitor": "Monitor for recurrence",
    "stability": "Stable before resolving",
    "final_update": "Final update",
    "resolution_email": "Resolution email",
    "runbook_update": "Runbook update",
    "pir_schedule": "Schedule the review",
    "pir_attendee": "Review attendees",
    "commander_resolves": "Resolved by the IC",
}


# What a share counts of one check: (kind, label, met). A resolved incident's are kept
# as these between runs (services/metrics.py), without its state.
Outcome = tuple[str, str, bool | None]


def _judged(
    kind: str,
    label: str,
    due: datetime,
    done: datetime | None,
    now: datetime,
    closed: bool,
    who: str = "",
) -> RuleCheck:
    """An obligation met when done by its deadline, missed once the deadline (or the
    incident) has passed without it, else pending."""
    if done is not None:
        met: bool | None = done <= due
    else:
        met = False if closed or now > due else None
    return RuleCheck(kind, label, due, met, who=who, met_at=done)


def outcomes(state: IncidentState, config: Config, now: datetime) -> list[RuleCheck]:
    """Every obligation the incident had, met (True), missed (False) or pending (None)."""
    d = _Deadlines(state, config, now)
    p = d.policy
    out: list[RuleCheck] = []
    closed = not state.is_open
    if p.ack_within is not None:
        due = max(d.later(state.declared_at, p.ack_within), d.since)
        out.append(_judged("acknowledge", "Acknowledge", due, state.acknowledged_at, now, closed))
    customer = []
    if "statuspage" in p.customer_comms_via:
        customer += communications(state, STATUS_PAGE_PREFIX)
    if "email" in p.customer_comms_via:
        customer += communications(state, EMAIL_PREFIX)
    owed = (
        p.customer_comms_above is None or (state.customers_affected or 0) > p.customer_comms_above
    )
    if p.customer_comms_within is not None and owed:
        due = d.from_declaration(p.customer_comms_within)
        if p.customer_comms_above is not None and state.customers_affected_at:
            due = max(due, state.customers_affected_at)
        first = min(customer) if customer else None
        out.append(_judged("customer_comms", "Customer communication", due, first, now, closed))
    if p.customer_email and p.customer_email_within is not None:
        due = d.from_declaration(p.customer_email_within)
        emails = communications(state, EMAIL_PREFIX)
        first = min(emails) if emails else None
        out.append(_judged("customer_email", "Customer email", due, first, now, closed))
    told = {stakeholder_key(who): at for who, at in state.notified.items()}
    for rule in notify_rules(state, config):
        due = d.from_declaration(rule.after)
        if closed and state.resolved_at is not None and state.resolved_at < due:
            continue  # resolved before the notification fell due: it never did
        done = told.get(stakeholder_key(rule.who))
        out.append(_judged("notify", f"Notify {rule.who}", due, done, now, closed, who=rule.who))
    if p.resolve_within is not None:
        due = d.from_declaration(p.resolve_within)
        out.append(_judged("resolve", "Resolve", due, state.resolved_at, now, False))
    if p.pir_required and p.pir_within is not None and state.resolved_at is not None:
        due = state.resolved_at + p.pir_within
        out.append(_judged("pir", "Post-incident review", due, state.pir_completed_at, now, False))
    out += rule_checks(state, config, now)
    return out


@dataclass
class KindShare:
    kind: str
    label: str
    met: int = 0
    missed: int = 0
    pending: int = 0
    missed_incidents: list[str] = field(default_factory=list)

    @property
    def share(self) -> float | None:
        judged = self.met + self.missed
        return self.met / judged if judged else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "met": self.met,
            "missed": self.missed,
            "pending": self.pending,
            "met_share": self.share,
            "missed_incidents": list(self.missed_incidents),
        }


def settled_until(checks: Iterable[RuleCheck], now: datetime) -> datetime | None:
    """Until when the outcomes of a resolved incident, computed at `now`, stay what
    they are: the earliest due time, at or after `now`, of its pending checks; None
    if it has none (until an event or the config changes them).

    For a resolved incident `outcomes()` reads the clock in two places only, and each
    settles a check that is pending while `now` has not passed its due time: `_judged`
    misses one once `now` is past its due time (the review, or a resolution that never
    came), and `rule_checks` meets a monitoring watch once `now` reaches it. Every
    other part (which checks there are, their labels and due times, business-hours
    deadlines, a check pending until an event clears it, and every met or missed one)
    is the state's and the config's alone, and a check met or missed by the clock
    stays so as time goes on. So a check pending with its due time already past waits
    for an event, not the clock, and no outcome changes before the first pending due
    time still to come. (An open incident's stability check also waits on the clock,
    the same way; open incidents are computed afresh anyway.)"""
    ahead = [c.due_at for c in checks if c.met is None and c.due_at >= now]
    return min(ahead) if ahead else None


def judged(state: IncidentState, config: Config, now: datetime) -> list[Outcome]:
    """The incident's outcomes as a share counts them."""
    return [(c.kind, c.label, c.met) for c in outcomes(state, config, now)]


def shares(states: list[IncidentState], config: Config, now: datetime) -> list[KindShare]:
    """Per obligation kind, across `states`: how many were met, missed and pending."""
    return tally((state.human_id, judged(state, config, now)) for state in states)


def tally(rows: Iterable[tuple[str, Sequence[Outcome]]]) -> list[KindShare]:
    """Per obligation kind, across the incidents' (human ID, outcomes): how many were
    met, missed and pending, and which incidents missed one, in the order given.

    Thousands of incidents share the same outcomes (the kept ones are one object
    each, services/metrics.py): each distinct sequence is counted once, times the
    incidents that have it."""
    found: dict[str, KindShare] = {}
    missed: dict[str, set[str]] = {}  # kind -> the IDs in missed_incidents (a list scan was O(n²))
    # id(outcomes) -> [the outcomes (kept alive, so the id stays theirs), how many
    # incidents have them, the kinds they miss]
    groups: dict[int, list[Any]] = {}
    for human_id, checks in rows:
        group = groups.get(id(checks))
        if group is None:
            misses = []
            for kind, label, met in checks:
                if kind not in found:
                    found[kind] = KindShare(kind, LABELS.get(kind, label))
                if met is not None and not met and kind not in misses:
                    misses.append(kind)
            group = groups[id(checks)] = [checks, 0, misses]
        group[1] += 1
        for kind in group[2]:
            seen = missed.setdefault(kind, set())
            if human_id not in seen:
                seen.add(human_id)
                found[kind].missed_incidents.append(human_id)
    for checks, times, _misses in groups.values():
        for kind, _label, met in checks:
            row = found[kind]
            if met is None:
                row.pending += times
            elif met:
                row.met += times
            else:
                row.missed += times
    order = list(LABELS)
    return sorted(found.values(), key=lambda r: order.index(r.kind) if r.kind in order else 99)
