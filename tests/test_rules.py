"""Every timing rule of the two procedures (issue 17, item 4), end to end: the clock
is driven past the rule (INCIDENTCTL_NOW), `status --json` shows the obligation, the
ordinary command that satisfies it clears it.

The expected deadlines are the seeds' own numbers, written out here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conftest import Cli

T0 = datetime(2026, 2, 12, 10, 0, tzinfo=UTC)  # a Thursday, inside business hours


def at(minutes: float) -> dict[str, str]:
    moment = T0 + timedelta(minutes=minutes)
    return {"INCIDENTCTL_NOW": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}


WEEK = 7 * 24 * 60


def owed(cli: Cli, minutes: float, inc: str) -> dict[str, dict]:
    """label -> obligation, as `status --json` shows them for `inc`."""
    shown = cli("status", "--json", ok=False, env=at(minutes)).json()
    for item in shown["incidents"]:
        if item["id"] == inc:
            return {o["label"]: o for o in item["obligations"]}
    return {}


def resolve(cli: Cli, inc: str, minutes: float, *extra: str, ok: bool = True):
    return cli(
        "resolve", inc, "--root-cause", "Leak", "--resolution", "Rollback", *extra,
        ok=ok, env=at(minutes),
    )  # fmt: skip


# -- White Room -----------------------------------------------------------------------


def test_white_room_final_update_within_an_hour_of_resolution(white_room):
    inc = white_room.declare("Audio engine slow", severity="P2", env=at(0))
    resolve(white_room, inc, 10)
    due = owed(white_room, 11, inc)["Final update"]
    assert (due["kind"], due["due_at"], due["overdue"]) == (
        "final_update", "2026-02-12T11:10:00+00:00", False
    )  # fmt: skip
    assert owed(white_room, 71, inc)["Final update"]["overdue"] is True
    white_room("comms", "sent", inc, "slack/resolved", env=at(71))
    assert "Final update" not in owed(white_room, 72, inc)


def test_white_room_status_page_first_within_15_minutes_then_every_30(white_room):
    inc = white_room.declare("JUCE backend down", "--ic", "@sarah", severity="P0", env=at(0))
    first = owed(white_room, 16, inc)["Customer communication"]
    assert first["overdue"] and first["detail"] == "status page within 15m"
    # an email is not the status page White Room asks for
    white_room("comms", "sent", inc, "email/customer", env=at(16))
    assert "Customer communication" in owed(white_room, 16, inc)
    white_room("comms", "sent", inc, "statuspage/investigating", env=at(16))
    got = owed(white_room, 17, inc)
    assert "Customer communication" not in got
    assert got["Status page update"]["due_at"] == "2026-02-12T10:46:00+00:00"
    assert owed(white_room, 47, inc)["Status page update"]["overdue"] is True
    white_room("comms", "sent", inc, "statuspage/identified", env=at(47))
    assert owed(white_room, 48, inc)["Status page update"]["due_at"] == "2026-02-12T11:17:00+00:00"


def test_white_room_p0_critical_customer_email_within_30_minutes_and_on_resolution(white_room):
    inc = white_room.declare("JUCE backend down", severity="P0", env=at(0))
    assert owed(white_room, 31, inc)["Customer email"]["overdue"] is True
    white_room("comms", "sent", inc, "email/customer", env=at(31))
    assert "Customer email" not in owed(white_room, 32, inc)
    resolve(white_room, inc, 40)
    after = owed(white_room, 41, inc)
    assert after["Resolution email"]["due_at"] == "2026-02-12T11:40:00+00:00"
    assert owed(white_room, 101, inc)["Resolution email"]["overdue"] is True
    white_room("comms", "sent", inc, "email/customer", "--stage", "resolved", env=at(101))
    assert "Resolution email" not in owed(white_room, 102, inc)
    # a P1 owes no email at all (P0 incidents only)
    p1 = white_room.declare("Slow renders", severity="P1", env=at(0))
    resolve(white_room, p1, 10)
    assert not {"Customer email", "Resolution email"} & set(owed(white_room, 50, p1))


@pytest.mark.parametrize("severity", ["P0", "P1", "P2", "P3"])
def test_white_room_cto_hears_of_any_security_incident(white_room, severity):
    inc = white_room.declare("Leaked token", "--category", "security", severity=severity, env=at(0))
    cto = owed(white_room, 1, inc)["Notify CTO"]
    assert cto["due_at"] == "2026-02-12T10:00:00+00:00" and cto["overdue"]
    white_room("notify", inc, "cto", "-m", "Called", env=at(1))
    assert "Notify CTO" not in owed(white_room, 2, inc)
    # the same severity without the category: the CTO only as the severity says
    plain = white_room.declare("Slow renders", severity=severity, env=at(0))
    cto_plain = owed(white_room, 1, plain).get("Notify CTO")
    assert cto_plain is None or cto_plain["detail"] == "P0 unresolved for 1h"


def test_white_room_a_security_runbook_makes_it_a_security_incident(white_room):
    inc = white_room.declare(
        "Suspicious logins", "--runbook", "security-breach", severity="P2", env=at(0)
    )
    assert owed(white_room, 1, inc)["Notify CTO"]["detail"] == "any security incident"


@pytest.mark.parametrize("severity", ["P0", "P1", "P2", "P3"])
def test_white_room_runbook_updates_within_a_week_of_every_incident(white_room, severity):
    inc = white_room.declare("Audio engine slow", severity=severity, env=at(0))
    resolve(white_room, inc, 10)
    white_room("comms", "sent", inc, "slack/resolved", env=at(11))
    assert owed(white_room, 12, inc)["Runbook update"]["overdue"] is False
    assert owed(white_room, 10 + WEEK + 1, inc)["Runbook update"]["overdue"] is True
    white_room(
        "note", inc, "--kind", "runbook", "service-down: check the audio pool first",
        env=at(10 + WEEK + 1),
    )  # fmt: skip
    assert "Runbook update" not in owed(white_room, 10 + WEEK + 2, inc)


@pytest.mark.parametrize("severity", ["P0", "P1"])
def test_white_room_review_scheduled_within_a_week_with_the_ic_and_engineering_lead(
    white_room, severity
):
    inc = white_room.declare("JUCE backend down", "--ic", "@sarah", severity=severity, env=at(0))
    resolve(white_room, inc, 30, "--by", "@sarah")
    late = owed(white_room, 30 + WEEK + 1, inc)
    assert late["Schedule the review"]["overdue"] is True
    assert {"Review attendee: Incident Commander", "Review attendee: Engineering Lead"} <= set(late)
    white_room("pir", "schedule", inc, "--at", "2026-02-20T10:00:00Z", env=at(30 + WEEK + 1))
    got = owed(white_room, 30 + WEEK + 2, inc)
    assert "Schedule the review" not in got
    assert got["Review attendee: Engineering Lead"]["due_at"] == "2026-02-20T10:00:00+00:00"
    # the IC is met by the person who held the role; the lead by name
    white_room("pir", "add", inc, "--section", "attendee", "@sarah", env=at(30 + WEEK + 2))
    white_room(
        "pir", "add", inc, "--section", "attendee", "Dana (Engineering Lead)",
        env=at(30 + WEEK + 2),
    )  # fmt: skip
    got = owed(white_room, 30 + WEEK + 3, inc)
    assert not [label for label in got if label.startswith("Review attendee")]


# -- WAOOAW ---------------------------------------------------------------------------


def test_waooaw_after_mitigation_watch_for_recurrence_for_30_minutes(waooaw):
    inc = waooaw.declare("Scheduler not executing goals", severity="P1", env=at(0))
    assert "Monitor for recurrence" not in owed(waooaw, 5, inc)
    waooaw("mitigate", inc, "-m", "Restarted the scheduler", env=at(10))
    watch = owed(waooaw, 11, inc)["Monitor for recurrence"]
    assert (watch["kind"], watch["due_at"], watch["overdue"]) == (
        "monitor", "2026-02-12T10:40:00+00:00", False
    )  # fmt: skip
    assert watch["detail"] == "watch for 30m after mitigation"
    # the watch is over: met by itself, never overdue
    assert "Monitor for recurrence" not in owed(waooaw, 41, inc)


def test_waooaw_stability_for_an_hour_before_resolution_or_force(waooaw):
    inc = waooaw.declare("Scheduler not executing goals", severity="P1", env=at(0))
    commits = waooaw.commits()
    early = resolve(waooaw, inc, 5, ok=False)
    assert early.code == 2
    assert early.err.splitlines()[0] == (
        f"error: {inc}: too early to resolve: not monitoring yet: monitoring must "
        "confirm stability for 1h first"
    )
    assert waooaw.commits() == commits  # refused: nothing written
    waooaw("mitigate", inc, "-m", "Rolled back", env=at(10))
    stable = owed(waooaw, 11, inc)["Stable before resolving"]
    assert stable["due_at"] == "2026-02-12T11:10:00+00:00" and not stable["overdue"]
    again = resolve(waooaw, inc, 30, ok=False)
    assert "monitoring for 20m of the 1h that must confirm stability" in again.err
    forced = resolve(waooaw, inc, 30, "--force")
    assert "resolved with --force: monitoring for 20m of the 1h" in forced.err
    [event] = [
        e for e in waooaw("show", inc, "--json").json()["timeline"] if e["type"] == "resolved"
    ]
    assert event["forced"] == "monitoring for 20m of the 1h that must confirm stability"
    # after the hour it just resolves, and the check is gone
    other = waooaw.declare("Instagram integration failing", severity="P2", env=at(0))
    waooaw("mitigate", other, "-m", "Token refreshed", env=at(10))
    assert "Stable before resolving" not in owed(waooaw, 71, other)
    done = resolve(waooaw, other, 71)
    assert "--force" not in done.err


def test_waooaw_the_ic_declares_resolution(waooaw):
    inc = waooaw.declare("Scheduler down", "--ic", "@sarah-sre", severity="P1", env=at(0))
    waooaw("mitigate", inc, "-m", "Rolled back", env=at(1))
    other = resolve(waooaw, inc, 70, "--by", "@mike-backend")
    assert (
        "resolved by @mike-backend, not the Incident Commander @sarah-sre: "
        "the IC declares resolution"
    ) in other.err
    again = waooaw.declare("Scheduler down again", "--ic", "@sarah-sre", severity="P1", env=at(0))
    waooaw("mitigate", again, "-m", "Rolled back", env=at(1))
    by_ic = resolve(waooaw, again, 70, "--by", "@sarah-sre")
    assert "not the Incident Commander" not in by_ic.err


def test_waooaw_p2_customer_communication_once_more_than_10_customers(waooaw):
    inc = waooaw.declare("Instagram integration failing", severity="P2", env=at(0))
    assert "Customer communication" not in owed(waooaw, 200, inc)
    waooaw("update", inc, "--customers-affected", "10", env=at(20))
    assert "Customer communication" not in owed(waooaw, 200, inc)  # >10, not 10
    waooaw("update", inc, "--customers-affected", "12", env=at(30))
    owed_now = owed(waooaw, 31, inc)["Customer communication"]
    assert owed_now["due_at"] == "2026-02-12T12:00:00+00:00"  # 2h after the declaration
    assert owed_now["detail"] == "status page or email within 2h (affecting >10 customers)"
    assert owed(waooaw, 121, inc)["Customer communication"]["overdue"] is True
    waooaw("comms", "sent", inc, "email/customer", env=at(121))
    assert "Customer communication" not in owed(waooaw, 122, inc)
    assert waooaw("show", inc, "--json").json()["customers_affected"] == 12
    # a figure recorded late owes from the moment it came, not before
    late = waooaw.declare("Partial outage", severity="P2", env=at(0))
    waooaw("update", late, "--customers-affected", "40", env=at(180))
    assert owed(waooaw, 181, late)["Customer communication"]["due_at"] == (
        "2026-02-12T13:00:00+00:00"
    )


def test_a_negative_customer_count_is_refused(waooaw):
    inc = waooaw.declare("Partial outage", severity="P2", env=at(0))
    bad = waooaw("update", inc, "--customers-affected", "-3", ok=False, env=at(1))
    assert bad.code == 2 and bad.err.startswith("error: --customers-affected -3")


@pytest.mark.parametrize(
    ("severity", "customers", "expected"),
    [
        ("P0", "50", {"Incident Commander", "Engineering Manager", "Product Manager", "CTO"}),
        ("P0", "0", {"Incident Commander", "Engineering Manager", "CTO"}),
        ("P1", "50", {"Incident Commander", "Engineering Manager", "Product Manager"}),
        ("P1", "0", {"Incident Commander", "Engineering Manager"}),
    ],
)
def test_waooaw_review_attendees_by_severity(waooaw, severity, customers, expected):
    inc = waooaw.declare(
        "Scheduler down", "--ic", "@sarah", "--customers-affected", customers,
        severity=severity, env=at(0),
    )  # fmt: skip
    waooaw("mitigate", inc, "-m", "Rolled back", env=at(5))
    resolve(waooaw, inc, 70, "--by", "@sarah")
    prefix = "Review attendee: "
    got = {k[len(prefix) :] for k in owed(waooaw, 71, inc) if k.startswith(prefix)}
    assert got == expected
    for who in sorted(expected):
        waooaw("pir", "add", inc, "--section", "attendee", f"Ann ({who})", env=at(72))
    assert not [k for k in owed(waooaw, 73, inc) if k.startswith(prefix)]
