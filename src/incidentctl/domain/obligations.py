"""What an incident owes, and by when: the deadlines of its severity policy against its
timeline. Pure: (state, config, now) in, pending obligations out.

Rules (each only while its condition holds; each is cleared by the event named):

- page: open, the severity has a `page` list and [pagerduty] is configured; due at
  declaration (or the upgrade to this severity). Cleared, target by target, by a
  `paged` event of a delivered trigger (a failed or in-doubt page does not count).
- acknowledge: open, not acknowledged; due `ack_within` after declaration.
  Cleared by `acknowledged`.
- update: open; due `update_every` after the last update. The last update is the
  latest declared, status_changed, severity_changed, impact_changed, note_added of
  kind "update" (`update -m`, `note --kind update`), mitigated, reopened or
  communication_sent event (and the state's `last_communication_at`, when it has
  one). A note of any other kind (`note` by default) is not an update.
- customer_comms: open; due `customer_comms_within` after declaration. Cleared by a
  `communication_sent` event that reached customers (see `reached_customers`) and
  whose template starts with `statuspage/` or `email/` (those `customer_comms_via`
  names). With `customer_comms_above`, owed only once the incident's
  customers_affected figure is above it, and never due before that figure came.
- status_page: open, `status_page`, after the first status-page communication to
  customers; due `status_page_every` after the last one.
- customer_email: open, `customer_email`; due `customer_email_within` after
  declaration. Cleared by a `communication_sent` event to customers with an
  `email/` template.
- notify: open; for each `notify` rule of the severity and of [obligations] notify
  whose `when` condition holds (domain/rules.py), due `after` after declaration.
  Cleared by a `notified` event naming the same stakeholder (letter case, '-' and '_'
  ignored).
- escalate: open, not mitigated (status is not monitoring), and a higher technical
  level is configured; due the current level's threshold after reaching it (level 1
  uses the severity's `escalate_after`, higher levels their own `escalate_after`).
  Cleared by `escalated` to a higher level, or by mitigation.
- resolve: open; due `resolve_within` after declaration. Cleared by `resolved`.
- monitor, stability, final_update, resolution_email, runbook_update, pir_schedule,
  pir_attendee: the rules of domain/rules.py, while pending.
- pir: resolved, `pir_required`; due `pir_within` after resolution. Cleared by an
  `pir_completed` event (`pir complete`).

Deadlines that run from the declaration never fall before the moment the incident
took its current severity: an incident raised from P2 to P0 after two hours owes
its P0 customer communication from the upgrade, not two hours ago.

For a `business_hours_only` severity the acknowledgement and update clocks start
at the first business moment, and a deadline outside business hours moves to the
next opening (see domain/business_hours.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from incidentctl.domain.business_hours import business_deadline
from incidentctl.domain.incident import Communication, IncidentState
from incidentctl.domain.policy import Config, SeverityPolicy
from incidentctl.domain.timeparse import compact_duration, iso
from incidentctl.domain.wording import flat

STATUS_PAGE_PREFIX = "statuspage/"
EMAIL_PREFIX = "email/"

KINDS = (
    "page",
    "acknowledge",
    "update",
    "customer_comms",
    "status_page",
    "customer_email",
    "notify",
    "escalate",
    "resolve",
    "monitor",
    "stability",
    "final_update",
    "resolution_email",
    "runbook_update",
    "pir_schedule",
    "pir_attendee",
    "pir",
)


@dataclass(frozen=True)
class Obligation:
    kind: str  # one of KINDS
    label: str  # "Customer communication", "Notify CTO", "Escalate to L2 Engineering Lead"
    due_at: datetime
    left: timedelta  # due_at - now: negative once overdue
    detail: str = ""  # why: "P0 unresolved for 1h", "every 15m"
    who: str = ""  # the stakeholder (notify) or level name (escalate)

    @property
    def overdue(self) -> bool:
        return self.left < timedelta(0)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "label": self.label,
            "detail": self.detail,
            "who": self.who,
            "due_at": iso(self.due_at),
            "seconds_left": int(self.left.total_seconds()),
            "overdue": self.overdue,
        }


def stakeholder_key(name: str) -> str:
    """'Engineering-Manager', 'engineering_manager ' -> 'engineering manager'."""
    return flat(name.lower().replace("-", " ").replace("_", " "))


# These read folded fields, never the timeline: `status` at ten thousand incidents
# must not read ten thousand folders.


def last_update_at(state: IncidentState) -> datetime:
    return state.last_update_at or state.declared_at


def reached_customers(communication: Communication) -> bool:
    """Whether a communication reached customers: its recorded audience says so, and it
    did not go to the Slack webhook (events written before the audience followed the
    destination said `customers` for a status-page text posted to Slack). An event
    without an audience (older still) counts by its template."""
    if communication.record.get("via") == "slack-webhook":
        return False
    if communication.audience:
        return communication.audience == "customers"
    return communication.template.startswith((STATUS_PAGE_PREFIX, EMAIL_PREFIX))


def communications(state: IncidentState, prefix: str) -> list[datetime]:
    """When customer communications rendered from templates under `prefix` were sent."""
    return [
        c.at for c in state.communications if c.template.startswith(prefix) and reached_customers(c)
    ]


def severity_since(state: IncidentState) -> datetime:
    """When the incident took its current severity."""
    return state.severity_set_at or state.declared_at


def pir_done(state: IncidentState) -> bool:
    return state.pir_completed_at is not None


class _Deadlines:
    """Builds the obligations of one incident at one moment."""

    def __init__(self, state: IncidentState, config: Config, now: datetime) -> None:
        self.state = state
        self.config = config
        self.now = now
        self.policy = config.severity.get(state.severity) or SeverityPolicy()
        self.since = severity_since(state)
        self.found: list[Obligation] = []

    def add(self, kind: str, label: str, due: datetime, detail: str = "", who: str = "") -> None:
        self.found.append(Obligation(kind, label, due, due - self.now, detail, who))

    def from_declaration(self, within: timedelta) -> datetime:
        return max(self.state.declared_at + within, self.since)

    def later(self, start: datetime, amount: timedelta) -> datetime:
        """`amount` after `start`; for a business-hours-only severity the clock runs
        from the first business moment and a deadline out of hours moves to the next opening."""
        if self.policy.business_hours_only:
            hours = self.config.business_hours
            return business_deadline(start, amount, hours, self.config.business_zone())
        return start + amount


def pending_obligations(state: IncidentState, config: Config, now: datetime) -> list[Obligation]:
    """Every obligation the incident has not met yet, soonest (or most overdue) first."""
    d = _Deadlines(state, config, now)
    if state.is_open:
        _page(d)
        _acknowledge(d)
        _update(d)
        _customer(d)
        _notify(d)
        _escalate(d)
        _resolve(d)
    else:
        _pir(d)
    _rules(d)
    return sorted(d.found, key=lambda o: (o.due_at, KINDS.index(o.kind), o.label))


def paged(state: IncidentState) -> set[str]:
    """The targets a delivered trigger reached."""
    return {
        str(p.get("target"))
        for p in state.pages
        if p.get("action") == "trigger" and p.get("outcome") == "delivered"
    }


def _page(d: _Deadlines) -> None:
    if not d.policy.page or d.config.pagerduty is None:
        return
    reached = paged(d.state)
    owed = [t for t in d.policy.page if t not in reached]
    if owed:
        d.add("page", "Page: " + " + ".join(owed), d.since, "at declaration", ", ".join(owed))


def _acknowledge(d: _Deadlines) -> None:
    within = d.policy.ack_within
    if within is None or d.state.acknowledged_at is not None:
        return
    due = max(d.later(d.state.declared_at, within), d.since)
    hours = " (business hours)" if d.policy.business_hours_only else ""
    d.add("acknowledge", "Acknowledge", due, f"within {compact_duration(within)}{hours}")


def _update(d: _Deadlines) -> None:
    every = d.policy.update_every
    if every is None:
        return
    hours = " (business hours)" if d.policy.business_hours_only else ""
    due = d.later(last_update_at(d.state), every)
    d.add("update", "Next update", due, f"every {compact_duration(every)}{hours}")


def _customer(d: _Deadlines) -> None:
    p = d.policy
    sent_page = communications(d.state, STATUS_PAGE_PREFIX)
    sent_email = communications(d.state, EMAIL_PREFIX)
    counted = (sent_page if "statuspage" in p.customer_comms_via else []) + (
        sent_email if "email" in p.customer_comms_via else []
    )
    owed = p.customer_comms_above is None or (
        (d.state.customers_affected or 0) > p.customer_comms_above
    )
    if p.customer_comms_within is not None and not counted and owed:
        via = " or ".join(
            {"statuspage": "status page", "email": "email"}[v] for v in p.customer_comms_via
        )
        due = d.from_declaration(p.customer_comms_within)
        detail = f"{via} within {compact_duration(p.customer_comms_within)}"
        if p.customer_comms_above is not None:
            due = max(due, d.state.customers_affected_at or due)
            detail += f" (affecting >{p.customer_comms_above} customers)"
        d.add("customer_comms", "Customer communication", due, detail)
    if p.status_page and p.status_page_every is not None and sent_page:
        d.add(
            "status_page",
            "Status page update",
            max(sent_page) + p.status_page_every,
            f"every {compact_duration(p.status_page_every)}",
        )
    if p.customer_email and p.customer_email_within is not None and not sent_email:
        d.add(
            "customer_email",
            "Customer email",
            d.from_declaration(p.customer_email_within),
            f"within {compact_duration(p.customer_email_within)}",
        )


def _notify(d: _Deadlines) -> None:
    from incidentctl.domain.rules import notify_rules

    told = {stakeholder_key(who) for who in d.state.notified}
    for rule in notify_rules(d.state, d.config):
        if stakeholder_key(rule.who) in told:
            continue
        if rule.when == "security":
            detail = "any security incident"
        elif rule.after:
            detail = f"{d.state.severity} unresolved for {compact_duration(rule.after)}"
        else:
            detail = f"every {d.state.severity} incident"
        d.add("notify", f"Notify {rule.who}", d.from_declaration(rule.after), detail, rule.who)


def _escalate(d: _Deadlines) -> None:
    if d.state.status == "monitoring" or not d.config.escalation:
        return
    levels = sorted(d.config.escalation, key=lambda lv: lv.level)
    current = d.state.escalation_level
    here = next((lv for lv in levels if lv.level == current), None)
    higher = next((lv for lv in levels if lv.level > current), None)
    if here is None or higher is None:
        return
    threshold = d.policy.escalate_after if here is levels[0] else here.escalate_after
    if threshold is None:
        return
    reached = d.state.escalated_at or d.state.declared_at
    due = max(reached + threshold, d.since)
    d.add(
        "escalate",
        f"Escalate to L{higher.level} {higher.name}",
        due,
        f"if still stuck after {compact_duration(threshold)} at L{current}",
        higher.name,
    )


def _resolve(d: _Deadlines) -> None:
    within = d.policy.resolve_within
    if within is None:
        return
    target = d.policy.resolve_within_note or compact_duration(within)
    d.add("resolve", "Resolve", d.from_declaration(within), f"target {target}")


def _pir(d: _Deadlines) -> None:
    p = d.policy
    if not p.pir_required or p.pir_within is None or d.state.resolved_at is None:
        return
    if pir_done(d.state):
        return
    d.add(
        "pir",
        "Post-incident review",
        d.state.resolved_at + p.pir_within,
        f"within {compact_duration(p.pir_within)} of resolution",
    )


def _rules(d: _Deadlines) -> None:
    """The pending checks of domain/rules.py."""
    from incidentctl.domain.rules import rule_checks

    for check in rule_checks(d.state, d.config, d.now):
        if check.met is None:
            d.add(check.kind, check.label, check.due_at, check.detail, check.who)
