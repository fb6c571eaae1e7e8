"""The timing rules of the procedures that are more than a deadline from the
declaration: each is a policy key (domain/policy.py), and each is checked here as a
`RuleCheck`: when it falls due, and whether it was met, missed, or is still pending.
Pure. `pending_obligations` shows the pending ones (status, watch); `metrics` counts
the met and missed ones (domain/compliance.py).

Rules (severity keys unless said otherwise):

- monitor_for: after mitigation, watch for recurrence this long. Due `monitor_for`
  after the status became monitoring; met when that time passes with the incident
  still open (a reopening meanwhile is a recurrence the watch caught: met); missed
  if it was resolved before the watch was over.
- stable_for: monitoring confirms stability this long before the resolution. Due
  `stable_for` after the status became monitoring; `resolve` earlier is refused
  unless `--force`, which the `resolved` event records (`forced`). Met by a
  resolution after that time; missed by a forced one.
- final_update_within: a communication (`communication_sent`, any template) at or
  after the resolution, within this.
- resolution_email_within: with `customer_email`, an email/ message to customers
  at or after the resolution, within this.
- runbook_update_within: a `note --kind runbook` (a runbook updated) during the
  incident or within this after the resolution.
- pir_schedule_within: `pir schedule` (or the review held) within this after the
  resolution.
- pir_attendees: with `pir_required`, each attendee rule whose condition holds owes an
  attendee entry (`pir add INC --section attendee TEXT`) naming `who`, or naming the
  person in the incident's `role`; due at the scheduled review (else the review's
  deadline).
- [obligations] commander_resolves: the resolution is by the Incident Commander (a
  resolution by anyone else warns and names the IC). Checked once, at resolution.

Conditions (`when` on a notify or attendee rule): "security" is an incident whose
category is one of [obligations] security_categories or whose runbook is one of
security_runbooks; "user_facing" is one with a customers_affected figure above 0, or
a communication that reached customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from incidentctl.domain.incident import IncidentState
from incidentctl.domain.policy import Config, NotifyRule, SeverityPolicy
from incidentctl.domain.timeparse import compact_duration
from incidentctl.domain.wording import flat

RULE_KINDS = (
    "monitor",
    "stability",
    "final_update",
    "resolution_email",
    "runbook_update",
    "pir_schedule",
    "pir_attendee",
    "commander_resolves",
)


@dataclass(frozen=True)
class RuleCheck:
    kind: str  # one of RULE_KINDS (or an obligation kind, from domain/compliance.py)
    label: str
    due_at: datetime
    met: bool | None  # None: pending
    detail: str = ""
    who: str = ""
    met_at: datetime | None = None
    # a "not before" rule (monitor, stability): pending until due, then met by itself;
    # it is never overdue, so `status --check` does not fail on it
    wait: bool = False


def key(text: str) -> str:
    """'Engineering-Manager', '@sarah (Incident Commander)' -> lower case, '-'/'_' as spaces."""
    return flat(text.lower().replace("-", " ").replace("_", " "))


def is_security(state: IncidentState, config: Config) -> bool:
    o = config.obligations
    return key(state.category) in {key(c) for c in o.security_categories if c} or (
        bool(state.runbook) and state.runbook in o.security_runbooks
    )


def reached_customers_any(state: IncidentState) -> bool:
    return any(c.audience == "customers" for c in state.communications)


def is_user_facing(state: IncidentState) -> bool:
    return (state.customers_affected or 0) > 0 or reached_customers_any(state)


def holds(when: str, state: IncidentState, config: Config) -> bool:
    if when == "security":
        return is_security(state, config)
    if when == "user_facing":
        return is_user_facing(state)
    return True


def notify_rules(state: IncidentState, config: Config) -> list[NotifyRule]:
    """The notify rules that apply: the severity's and [obligations] notify, each whose
    condition holds; one per stakeholder (the earliest)."""
    policy = config.severity.get(state.severity) or SeverityPolicy()
    chosen: dict[str, NotifyRule] = {}
    for rule in [*policy.notify, *config.obligations.notify]:
        if not holds(rule.when, state, config):
            continue
        k = key(rule.who)
        if k not in chosen or rule.after < chosen[k].after:
            chosen[k] = rule
    return list(chosen.values())


def _first_at_or_after(times: list[datetime], start: datetime) -> datetime | None:
    later = [t for t in times if t >= start]
    return min(later) if later else None


def _by_deadline(
    kind: str, label: str, due: datetime, done: datetime | None, detail: str
) -> RuleCheck:
    """A rule met when it was done by its deadline (pending while not done)."""
    met = None if done is None else done <= due
    return RuleCheck(kind, label, due, met, detail, met_at=done)


def rule_checks(state: IncidentState, config: Config, now: datetime) -> list[RuleCheck]:
    """Every rule of this file that applies to the incident, met, missed or pending."""
    p = config.severity.get(state.severity) or SeverityPolicy()
    out: list[RuleCheck] = []
    resolved = state.resolved_at
    since = state.monitoring_since
    if p.monitor_for is not None and since is not None:
        due = since + p.monitor_for
        if resolved is not None and resolved < due:
            met: bool | None = False
        else:
            met = True if now >= due else None
        out.append(
            RuleCheck(
                "monitor",
                "Monitor for recurrence",
                due,
                met,
                f"watch for {compact_duration(p.monitor_for)} after mitigation",
                wait=True,
            )
        )
    if p.stable_for is not None and ((state.is_open and state.status == "monitoring") or resolved):
        due = (since or state.declared_at) + p.stable_for
        if resolved is not None:
            met = since is not None and resolved >= due and not state.resolved_forced
        else:
            met = True if now >= due else None
        out.append(
            RuleCheck(
                "stability",
                "Stable before resolving",
                due,
                met,
                f"monitoring confirms stability for {compact_duration(p.stable_for)}",
                wait=True,
            )
        )
    if resolved is not None:
        out += _after_resolution(state, config, p, resolved)
    return out


def _after_resolution(
    state: IncidentState, config: Config, p: SeverityPolicy, resolved: datetime
) -> list[RuleCheck]:
    out: list[RuleCheck] = []
    if p.final_update_within is not None:
        due = resolved + p.final_update_within
        done = _first_at_or_after([c.at for c in state.communications], resolved)
        out.append(
            _by_deadline(
                "final_update",
                "Final update",
                due,
                done,
                f"within {compact_duration(p.final_update_within)} of resolution",
            )
        )
    if p.customer_email and p.resolution_email_within is not None:
        due = resolved + p.resolution_email_within
        emails = [
            c.at
            for c in state.communications
            if c.template.startswith("email/") and c.audience in ("customers", "")
        ]
        done = _first_at_or_after(emails, resolved)
        out.append(
            _by_deadline(
                "resolution_email",
                "Resolution email",
                due,
                done,
                f"to critical customers within {compact_duration(p.resolution_email_within)}",
            )
        )
    if p.runbook_update_within is not None:
        due = resolved + p.runbook_update_within
        done = _first_at_or_after(state.runbook_updates, state.declared_at)
        out.append(
            _by_deadline(
                "runbook_update",
                "Runbook update",
                due,
                done,
                f"within {compact_duration(p.runbook_update_within)} (note --kind runbook)",
            )
        )
    if p.pir_schedule_within is not None:
        due = resolved + p.pir_schedule_within
        candidates = [t for t in (state.pir_scheduled_when, state.pir_completed_at) if t]
        done = min(candidates) if candidates else None
        out.append(
            _by_deadline(
                "pir_schedule",
                "Schedule the review",
                due,
                done,
                f"within {compact_duration(p.pir_schedule_within)} of resolution",
            )
        )
    if p.pir_required and p.pir_attendees:
        window = p.pir_schedule_within or p.pir_within or timedelta(0)
        due = state.pir_scheduled_at or resolved + window
        entries = [key(text) for text in state.pir.get("attendee", [])]
        for rule in p.pir_attendees:
            if not holds(rule.when, state, config):
                continue
            names = [key(rule.who)]
            holder = state.roles.get(rule.role, "") if rule.role else ""
            if holder:
                names.append(key(holder))
            present = any(n and n in e for n in names for e in entries)
            met = True if present else (False if state.pir_completed_at else None)
            why = {"user_facing": " (user-facing)", "security": " (security)"}.get(rule.when, "")
            out.append(
                RuleCheck(
                    "pir_attendee",
                    f"Review attendee: {rule.who}",
                    due,
                    met,
                    f"required at the {state.severity} review{why}",
                    rule.who,
                )
            )
    if config.obligations.commander_resolves and state.commander:
        ok = key(state.resolved_by) == key(state.commander)
        out.append(
            RuleCheck(
                "commander_resolves",
                "Resolved by the Incident Commander",
                resolved,
                ok,
                f"the IC is {state.commander}",
                state.commander,
                met_at=resolved if ok else None,
            )
        )
    return out


def early_resolution(state: IncidentState, config: Config, now: datetime) -> str:
    """Why resolving now breaks `stable_for` ("" if it does not)."""
    p = config.severity.get(state.severity) or SeverityPolicy()
    if p.stable_for is None:
        return ""
    need = compact_duration(p.stable_for)
    since = state.monitoring_since if state.status == "monitoring" else None
    if since is None:
        return f"not monitoring yet: monitoring must confirm stability for {need} first"
    if now - since >= p.stable_for:
        return ""
    watched = compact_duration(max(now - since, timedelta(0)))
    return f"monitoring for {watched} of the {need} that must confirm stability"
