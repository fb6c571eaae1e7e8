"""Obligations on a frozen clock: every rule, every severity, under both example policies.

The expected deadlines are the seeds' own numbers, written out here, so a wrong
example config or a wrong rule both fail.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import pytest

from incidentctl.domain import events as ev
from incidentctl.domain.obligations import last_update_at, pending_obligations
from incidentctl.domain.policy import Config, build_config, merge_with_defaults
from incidentctl.domain.state import IncidentState, fold
from incidentctl.domain.ulid import new_ulid

T0 = datetime(2026, 2, 12, 10, 0, tzinfo=UTC)  # a Thursday, inside business hours
M, H, D, W = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1), timedelta(weeks=1)


def example_config(name: str) -> Config:
    root = resources.files("incidentctl")
    defaults = tomllib.loads(root.joinpath("defaults/incidentctl.toml").read_text("utf-8"))
    team = tomllib.loads(root.joinpath(f"examples/{name}/incidentctl.toml").read_text("utf-8"))
    return build_config(merge_with_defaults(defaults, team))


CONFIGS = {name: example_config(name) for name in ("white-room", "waooaw")}

# (example, severity) -> kind/label -> due offset from the declaration, as the seeds say
EXPECTED: dict[tuple[str, str], dict[str, timedelta]] = {
    ("white-room", "P0"): {
        "Acknowledge": 5 * M,
        "Next update": 15 * M,
        "Customer communication": 15 * M,
        "Customer email": 30 * M,
        "Notify Engineering Manager": 0 * M,
        "Notify Product Manager": 0 * M,
        "Notify CTO": 1 * H,
        "Escalate to L2 Engineering Lead": 30 * M,
        "Resolve": 1 * H,
    },
    ("white-room", "P1"): {
        "Acknowledge": 30 * M,
        "Next update": 30 * M,
        "Customer communication": 15 * M,
        "Notify Engineering Manager": 1 * H,
        "Escalate to L2 Engineering Lead": 2 * H,
        "Resolve": 4 * H,
    },
    ("white-room", "P2"): {"Acknowledge": 2 * H, "Resolve": 1 * D},
    ("white-room", "P3"): {"Acknowledge": 1 * D, "Resolve": 1 * W},
    ("waooaw", "P0"): {
        "Acknowledge": 5 * M,
        "Next update": 15 * M,
        "Customer communication": 15 * M,
        "Notify CTO": 0 * M,
        "Notify CEO": 0 * M,
        "Resolve": 4 * H,
    },
    ("waooaw", "P1"): {
        "Acknowledge": 15 * M,
        "Next update": 30 * M,
        "Customer communication": 1 * H,
        "Notify CTO": 0 * M,
        "Notify Engineering Manager": 0 * M,
        "Resolve": 24 * H,
    },
    # business hours only; T0 is a Thursday 10:00, so these fall on the same day / next day
    ("waooaw", "P2"): {"Acknowledge": 30 * M, "Next update": 2 * H, "Resolve": 3 * D},
    ("waooaw", "P3"): {"Acknowledge": 1 * D, "Resolve": 2 * W},
}
PIR_WITHIN = {
    ("white-room", "P0"): 1 * W,
    ("white-room", "P1"): 1 * W,
    ("waooaw", "P0"): 48 * H,
    ("waooaw", "P1"): 1 * W,
}
STATUS_PAGE_EVERY = {("white-room", "P0"): 30 * M, ("white-room", "P1"): 30 * M}
CASES = sorted(EXPECTED)
_WR_AFTER = {"Final update": 1 * H, "Runbook update": 1 * W}
_WR_REVIEW = {
    "Schedule the review": 1 * W,
    "Review attendee: Incident Commander": 1 * W,
    "Review attendee: Engineering Lead": 1 * W,
}
# (example, severity) -> label -> due after the resolution (domain/rules.py)
AFTER_RESOLUTION: dict[tuple[str, str], dict[str, timedelta]] = {
    ("white-room", "P0"): {**_WR_AFTER, **_WR_REVIEW, "Resolution email": 1 * H},
    ("white-room", "P1"): {**_WR_AFTER, **_WR_REVIEW},
    ("white-room", "P2"): _WR_AFTER,
    ("white-room", "P3"): _WR_AFTER,
    ("waooaw", "P0"): {
        "Review attendee: Incident Commander": 48 * H,
        "Review attendee: Engineering Manager": 48 * H,
        "Review attendee: CTO": 48 * H,
    },
    ("waooaw", "P1"): {
        "Review attendee: Incident Commander": 1 * W,
        "Review attendee: Engineering Manager": 1 * W,
    },
}


class Timeline:
    """Builds an incident's events on a fixed clock."""

    def __init__(self, severity: str, at: datetime = T0) -> None:
        self.uid = new_ulid(at)
        self.events: list[Any] = [
            ev.Declared(
                id=self.uid,
                incident=self.uid,
                at=at,
                recorded_at=at,
                human_id="INC-2026-02-12-001",
                title="API returning 503",
                severity=severity,
            )
        ]

    def add(self, cls: type, at: datetime, **fields: Any) -> Timeline:
        self.events.append(cls(id=new_ulid(at), incident=self.uid, at=at, recorded_at=at, **fields))
        return self

    def communication(self, template: str, at: datetime) -> Timeline:
        return self.add(ev.CommunicationSent, at, template=template)

    def state(self) -> IncidentState:
        return fold(self.events)


def due(state: IncidentState, config: Config, now: datetime) -> dict[str, timedelta]:
    return {o.label: o.due_at - state.declared_at for o in pending_obligations(state, config, now)}


@pytest.mark.parametrize(("example", "severity"), CASES)
def test_each_severity_owes_exactly_what_its_seed_says(example, severity):
    state = Timeline(severity).state()
    assert due(state, CONFIGS[example], T0 + M) == EXPECTED[(example, severity)]


@pytest.mark.parametrize(("example", "severity"), CASES)
def test_obligations_turn_overdue_only_after_their_deadline(example, severity):
    config = CONFIGS[example]
    state = Timeline(severity).state()
    for o in pending_obligations(state, config, T0):
        before = {x.label: x for x in pending_obligations(state, config, o.due_at)}
        after = {
            x.label: x for x in pending_obligations(state, config, o.due_at + timedelta(seconds=1))
        }
        assert not before[o.label].overdue
        assert after[o.label].overdue
        assert after[o.label].left == timedelta(seconds=-1)


@pytest.mark.parametrize(("example", "severity"), CASES)
def test_acknowledging_clears_the_acknowledgement(example, severity):
    state = Timeline(severity).add(ev.Acknowledged, T0 + 2 * M).state()
    assert "Acknowledge" not in due(state, CONFIGS[example], T0 + 3 * M)


@pytest.mark.parametrize(("example", "severity"), CASES)
def test_the_next_update_runs_from_the_last_update(example, severity):
    config = CONFIGS[example]
    every = config.severity[severity].update_every
    line = Timeline(severity)
    line.add(ev.NoteAdded, T0 + 10 * M, text="Checking the deploy", kind="finding")
    assert due(line.state(), config, T0 + 11 * M).get("Next update") == every
    kinds = [
        (ev.NoteAdded, {"text": "Still investigating", "kind": "update"}),
        (ev.StatusChanged, {"status": "identified", "previous": "investigating"}),
        (ev.ImpactChanged, {"impact": "EU only"}),
        (ev.SeverityChanged, {"severity": severity, "previous": severity}),
        (ev.Mitigated, {"message": "Rolled back"}),
    ]
    for n, (cls, fields) in enumerate(kinds, start=1):
        at = T0 + (10 + n) * M
        state = line.add(cls, at, **fields).state()
        got = due(state, config, at).get("Next update")
        # inside business hours (10:11 to 12:15 on a Thursday) the clock runs straight
        assert got == (None if every is None else (at - T0) + every), cls.__name__


def test_a_business_hours_update_due_after_closing_moves_to_the_next_opening():
    # waooaw P2: every 2h, business hours only (09:00-17:00 UTC, Monday to Friday); an
    # update at 16:30 on Thursday would be due at 18:30, after closing: Friday 09:00
    config = CONFIGS["waooaw"]
    assert config.severity["P2"].business_hours_only
    assert config.severity["P2"].update_every == 2 * H
    late = T0 + 6 * H + 30 * M
    state = Timeline("P2").add(ev.NoteAdded, late, text="still on it", kind="update").state()
    due_at = T0 + due(state, config, late + M)["Next update"]
    assert due_at == datetime(2026, 2, 13, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("example", "severity"), CASES)
def test_a_communication_counts_as_an_update(example, severity):
    config = CONFIGS[example]
    every = config.severity[severity].update_every
    state = Timeline(severity).communication("slack/update", T0 + 7 * M).state()
    assert due(state, config, T0 + 8 * M).get("Next update") == (
        None if every is None else 7 * M + every
    )
    assert last_update_at(state) == T0 + 7 * M


@pytest.mark.parametrize(("example", "severity"), CASES)
def test_customer_communication_is_met_by_a_status_page_or_email_message(example, severity):
    config = CONFIGS[example]
    key = (example, severity)
    page = (
        Timeline(severity)
        .communication("statuspage/investigating", T0 + 5 * M)
        .communication("statuspage/identified", T0 + 20 * M)
        .state()
    )
    got = due(page, config, T0 + 21 * M)
    assert "Customer communication" not in got
    if key in STATUS_PAGE_EVERY:  # from the latest status-page post
        assert got["Status page update"] == 20 * M + STATUS_PAGE_EVERY[key]
    else:
        assert "Status page update" not in got
    email = Timeline(severity).communication("email/customer-update", T0 + 5 * M).state()
    got = due(email, config, T0 + 6 * M)
    # White Room's first customer communication is the status page's (customer_comms_via)
    by_email = "email" in config.severity[severity].customer_comms_via
    assert ("Customer communication" not in got) == (by_email or key not in STATUS_PAGE_EVERY)
    assert "Customer email" not in got
    slack_only = Timeline(severity).communication("slack/declared", T0 + 5 * M).state()
    assert ("Customer communication" in due(slack_only, config, T0 + 6 * M)) == (
        "Customer communication" in EXPECTED[key]
    )


@pytest.mark.parametrize(("example", "severity"), CASES)
def test_notifying_a_stakeholder_clears_only_that_rule(example, severity):
    config = CONFIGS[example]
    rules = config.severity[severity].notify
    for rule in rules:
        typed = rule.who.lower().replace(" ", "-")  # as a responder types it
        state = Timeline(severity).add(ev.Notified, T0 + M, who=typed).state()
        got = due(state, config, T0 + 2 * M)
        assert f"Notify {rule.who}" not in got
        others = {f"Notify {r.who}" for r in rules if r.who != rule.who}
        assert others <= set(got)


@pytest.mark.parametrize(("example", "severity"), CASES)
def test_escalation_follows_the_technical_path(example, severity):
    config = CONFIGS[example]
    line = Timeline(severity)
    first = EXPECTED[(example, severity)].get("Escalate to L2 Engineering Lead")
    if first is None:
        assert not any(o.kind == "escalate" for o in pending_obligations(line.state(), config, T0))
        return
    at = T0 + first + 5 * M
    state = line.add(ev.Escalated, at, level=2, to="@lead", reason="stuck").state()
    got = due(state, config, at)
    assert "Escalate to L2 Engineering Lead" not in got
    assert got["Escalate to L3 Senior Staff / Architect"] == (at - T0) + 1 * H  # L2 after 1h
    top = line.add(ev.Escalated, at + H, level=3, reason="still stuck").state()
    assert not any(o.kind == "escalate" for o in pending_obligations(top, config, at + H))
    mitigated = Timeline(severity).add(ev.Mitigated, T0 + M, message="Rolled back").state()
    assert not any(o.kind == "escalate" for o in pending_obligations(mitigated, config, T0 + M))


@pytest.mark.parametrize(("example", "severity"), CASES)
def test_resolving_leaves_only_the_review(example, severity):
    config = CONFIGS[example]
    done = T0 + 40 * M
    state = (
        Timeline(severity).add(ev.Resolved, done, root_cause="Leak", resolution="Rollback").state()
    )
    got = pending_obligations(state, config, done)
    key = (example, severity)
    # what a resolved incident owes besides its review: the rules after resolution
    after = AFTER_RESOLUTION.get(key, {})
    rules = {o.label: o.due_at - done for o in got if o.kind != "pir"}
    assert rules == after
    if key in PIR_WITHIN:
        assert [(o.kind, o.due_at) for o in got if o.kind == "pir"] == [
            ("pir", done + PIR_WITHIN[key])
        ]
        reviewed = Timeline(severity).add(
            ev.Resolved, done, root_cause="Leak", resolution="Rollback"
        )
        reviewed.add(ev.PirCompleted, done + H)
        left = pending_obligations(reviewed.state(), config, done + H)
        assert {o.kind for o in left} <= {"final_update", "runbook_update", "resolution_email"}
    else:
        assert [o for o in got if o.kind == "pir"] == []


def test_raising_the_severity_makes_deadlines_run_from_the_upgrade():
    config = CONFIGS["white-room"]
    upgrade = T0 + 3 * H
    state = Timeline("P2").add(ev.SeverityChanged, upgrade, severity="P0", previous="P2").state()
    got = {o.label: o for o in pending_obligations(state, config, upgrade + M)}
    # overdue by one minute, not by three hours
    assert got["Customer communication"].due_at == upgrade
    assert got["Acknowledge"].due_at == upgrade
    assert got["Notify CTO"].due_at == upgrade  # P0 unresolved for over 1h already
    assert got["Next update"].due_at == upgrade + 15 * M  # the change was an update
    assert got["Escalate to L2 Engineering Lead"].due_at == upgrade


def test_obligations_come_soonest_first_and_serialise():
    config = CONFIGS["white-room"]
    got = pending_obligations(Timeline("P0").state(), config, T0 + 20 * M)
    assert [o.due_at for o in got] == sorted(o.due_at for o in got)
    first = got[0].to_dict()
    assert first["overdue"] is True
    assert first["seconds_left"] == -20 * 60
    assert first["due_at"] == "2026-02-12T10:00:00+00:00"


def test_business_hours_severities_wait_for_business_hours():
    config = CONFIGS["waooaw"]
    friday_evening = datetime(2026, 2, 13, 16, 50, tzinfo=UTC)
    got = due(Timeline("P2", friday_evening).state(), config, friday_evening)
    monday = datetime(2026, 2, 16, 9, 0, tzinfo=UTC)
    assert friday_evening + got["Acknowledge"] == monday
    assert friday_evening + got["Next update"] == monday
    # resolution targets run in calendar time
    assert got["Resolve"] == 3 * D
    saturday = datetime(2026, 2, 14, 3, 0, tzinfo=UTC)
    got = due(Timeline("P3", saturday).state(), config, saturday)
    assert saturday + got["Acknowledge"] == datetime(2026, 2, 17, 9, 0, tzinfo=UTC)
    # the other example has no business-hours-only severity
    got = due(Timeline("P2", friday_evening).state(), CONFIGS["white-room"], friday_evening)
    assert got["Acknowledge"] == 2 * H
