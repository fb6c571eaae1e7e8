"""A resolved incident's obligation outcomes, kept between `metrics` runs, are never
stale: they are what a fresh computation says at any moment before the horizon
`settled_until` gives (domain/compliance.py), and the CLI's warm report says what a
cold one says after time passes a pending due time and after an event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from incidentctl.domain import events as ev
from incidentctl.domain.compliance import outcomes, settled_until
from incidentctl.domain.policy import Config
from incidentctl.domain.state import fold
from incidentctl.domain.ulid import new_ulid
from incidentctl.services.metrics import SettledOutcomes

T0 = datetime(2026, 2, 13, 16, 23, tzinfo=UTC)  # a Friday afternoon: business hours matter
UID = new_ulid(T0, bytes(10))
ROLES = {"commander": "Incident Commander"}
WHO = ["CTO", "Engineering Manager", "support"]

spans = st.sampled_from([None, "0m", "5m", "30m", "2h", "1d", "3d"])


@st.composite
def configs(draw) -> Config:
    policy = {
        key: value
        for key in (
            "ack_within",
            "customer_comms_within",
            "customer_email_within",
            "resolve_within",
            "pir_within",
            "monitor_for",
            "stable_for",
            "final_update_within",
            "resolution_email_within",
            "runbook_update_within",
            "pir_schedule_within",
        )
        if (value := draw(spans)) is not None
    }
    policy["business_hours_only"] = draw(st.booleans())
    policy["customer_email"] = draw(st.booleans())
    policy["pir_required"] = draw(st.booleans())
    policy["customer_comms_above"] = draw(st.sampled_from([None, 0, 10]))
    policy["notify"] = [
        {"who": who, "after": after, "when": when}
        for who, after, when in draw(
            st.lists(
                st.tuples(
                    st.sampled_from(WHO),
                    st.sampled_from(["0m", "15m", "1h", "1d"]),
                    st.sampled_from(["", "security", "user_facing"]),
                ),
                max_size=3,
            )
        )
    ]
    policy["pir_attendees"] = [
        {"who": who, "role": role, "when": when}
        for who, role, when in draw(
            st.lists(
                st.tuples(
                    st.sampled_from(WHO),
                    st.sampled_from(["", "commander"]),
                    st.sampled_from(["", "user_facing"]),
                ),
                max_size=2,
            )
        )
    ]
    return Config.model_validate(
        {
            "roles": ROLES,
            "severity": {"P1": policy, "P2": {"ack_within": "1h", "pir_required": True}},
            "obligations": {
                "commander_resolves": draw(st.booleans()),
                "notify": [{"who": "CTO", "when": "security"}] if draw(st.booleans()) else [],
            },
        }
    )


minutes = st.integers(min_value=0, max_value=4 * 24 * 60)


def _event(cls, minute: int, n: int, **fields):
    at = T0 + timedelta(minutes=minute)
    return cls(
        id=new_ulid(at, n.to_bytes(10, "big")),
        incident=UID,
        at=at,
        recorded_at=at,
        author="@sarah",
        **fields,
    )


step = st.one_of(
    st.builds(lambda: (ev.Acknowledged, {})),
    st.builds(
        lambda t, a: (ev.CommunicationSent, {"template": t, "audience": a}),
        st.sampled_from(["statuspage/update", "email/resolved", "slack/update"]),
        st.sampled_from(["customers", "internal", ""]),
    ),
    st.builds(lambda w: (ev.Notified, {"who": w}), st.sampled_from([*WHO, "engineering-manager"])),
    st.builds(lambda: (ev.Mitigated, {"message": "rolled back"})),
    st.builds(lambda: (ev.StatusChanged, {"status": "monitoring"})),
    st.builds(lambda: (ev.StatusChanged, {"status": "identified"})),
    st.builds(lambda s: (ev.SeverityChanged, {"severity": s}), st.sampled_from(["P1", "P2"])),
    st.builds(
        lambda c: (ev.ImpactChanged, {"impact": "some", "customers_affected": c}),
        st.sampled_from([0, 5, 50]),
    ),
    st.builds(
        lambda k: (ev.NoteAdded, {"text": "x", "kind": k}), st.sampled_from(["runbook", "update"])
    ),
    st.builds(lambda: (ev.Reopened, {"message": "again"})),
    st.builds(lambda: (ev.Resolved, {"root_cause": "x", "resolution": "y"})),
    st.builds(
        lambda d: (ev.PirScheduled, {"review_at": T0 + timedelta(days=d)}),
        st.integers(min_value=1, max_value=6),
    ),
    st.builds(lambda: (ev.PirCompleted, {})),
    st.builds(
        lambda w: (ev.PirEntry, {"section": "attendee", "text": w}),
        st.sampled_from([*WHO, "@sarah"]),
    ),
    st.builds(
        lambda u: (ev.RoleAssigned, {"role": "commander", "user": u}),
        st.sampled_from(["@sarah", "@lee"]),
    ),
)


@st.composite
def resolved_states(draw):
    declared = ev.Declared(
        id=UID,
        incident=UID,
        at=T0,
        recorded_at=T0,
        author="@sarah",
        human_id="INC-2026-02-13-001",
        title="Checkout failing",
        severity=draw(st.sampled_from(["P1", "P2"])),
        commander=draw(st.sampled_from(["", "@sarah"])),
        category=draw(st.sampled_from(["", "security", "deploy"])),
        customers_affected=draw(st.sampled_from([None, 0, 20])),
    )
    steps = draw(st.lists(st.tuples(step, minutes), max_size=12))
    events = [declared]
    for n, ((cls, fields), minute) in enumerate(steps, start=1):
        events.append(_event(cls, minute, n, **fields))
    last = max([0, *(m for _s, m in steps)]) + draw(st.integers(min_value=0, max_value=600))
    forced = draw(st.sampled_from(["", "not stable yet"]))
    events.append(
        _event(
            ev.Resolved,
            last,
            len(events),
            root_cause="x",
            resolution="y",
            forced=forced,
        )
    )
    state = fold(events)
    assert not state.is_open
    return state


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    config=configs(),
    state=resolved_states(),
    computed=st.integers(min_value=-600, max_value=8 * 24 * 60),
    later=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_outcomes_stay_what_they_were_until_the_horizon(config, state, computed, later):
    at = T0 + timedelta(minutes=computed)
    kept = outcomes(state, config, at)
    until = settled_until(kept, at)
    for check in kept:
        event(f"{check.kind} {'pending' if check.met is None else 'judged'}")
    event("a horizon" if until is not None else "no horizon")
    if until is None:
        moments = [at + timedelta(days=d) for d in (1, 30, 3650)]
    else:
        assert until >= at
        last = until - timedelta(microseconds=1)  # timedelta * float rounds: keep below
        moments = [min(at + (until - at) * later, last), last]
    for moment in moments:
        if at <= moment < (until or moment + timedelta(1)):
            assert outcomes(state, config, moment) == kept, (moment, until)


def test_a_pending_review_is_kept_only_until_its_deadline():
    config = Config.model_validate(
        {"roles": ROLES, "severity": {"P1": {"pir_required": True, "pir_within": "5d"}}}
    )
    state = fold(
        [
            ev.Declared(
                id=UID,
                incident=UID,
                at=T0,
                recorded_at=T0,
                author="@sarah",
                human_id="INC-2026-02-13-001",
                title="Checkout failing",
                severity="P1",
            ),
            _event(ev.Resolved, 60, 1, root_cause="x", resolution="y"),
        ]
    )
    now = T0 + timedelta(days=1)
    kept = outcomes(state, config, now)
    assert [(c.kind, c.met) for c in kept] == [("pir", None)]
    deadline = T0 + timedelta(minutes=60, days=5)
    assert settled_until(kept, now) == deadline
    assert [c.met for c in outcomes(state, config, deadline + timedelta(seconds=1))] == [False]
    # once past, it stays missed for good: nothing ahead waits on the clock
    later = deadline + timedelta(days=1)
    assert settled_until(outcomes(state, config, later), later) is None


# -- the CLI: a warm report says what a cold one says -------------------------------

DAY = {"INCIDENTCTL_NOW": "2026-02-12T15:00:00Z"}
NEXT_DAY = {"INCIDENTCTL_NOW": "2026-02-13T12:00:00Z"}  # the P0 reviews (48h) are pending
WEEK_LATER = {"INCIDENTCTL_NOW": "2026-02-20T12:00:00Z"}  # and missed by now


def _outcomes_computed(monkeypatch) -> list[str]:
    """The incidents whose outcomes commands run in this process compute from now on."""
    import incidentctl.domain.compliance as compliance

    computed: list[str] = []
    real = compliance.outcomes

    def counted(state, config, now):
        computed.append(state.human_id)
        return real(state, config, now)

    monkeypatch.setattr(compliance, "outcomes", counted)
    return computed


def _cold(cli, env) -> dict:
    """`metrics --json` without the kept outcomes."""
    from incidentctl.store.cache import cache_path

    kept = cache_path(cli.repo).with_suffix(f".{SettledOutcomes.PART}.pickle")
    kept.unlink(missing_ok=True)
    return cli("metrics", "--json", env=env).json()


def _shares(report: dict) -> dict:
    return {
        row["kind"]: (row["met"], row["missed"], row["pending"], sorted(row["missed_incidents"]))
        for row in report["obligations"]
    }


def test_warm_metrics_says_what_a_cold_one_says_as_time_passes_and_events_come(cli, monkeypatch):
    burning = cli.declare("still burning", severity="P1", env=DAY)
    owing = []
    for n in range(2):
        inc = cli.declare(f"old P0 number {n}", severity="P0", env=DAY)
        cli("resolve", inc, "--root-cause", "x", "--resolution", "y", env=DAY)
        owing.append(inc)
    first = cli("metrics", "--json", env=NEXT_DAY).json()  # computes and keeps them
    assert _shares(first)["pir"][:3] == (0, 0, 2)
    computed = _outcomes_computed(monkeypatch)

    def warm(env) -> tuple[dict, list[str]]:
        computed.clear()
        report = cli("metrics", "--json", env=env).json()
        return report, sorted(computed)

    again, seen = warm(NEXT_DAY)
    assert again == first == _cold(cli, NEXT_DAY)
    assert seen == [burning]  # the resolved ones' came from what was kept

    # time passes the reviews' deadline: what was kept expires with it
    later, seen = warm(WEEK_LATER)
    assert later == _cold(cli, WEEK_LATER)
    assert _shares(later)["pir"] == (0, 2, 0, sorted(owing))
    assert seen == sorted([burning, *owing])
    assert warm(WEEK_LATER) == (later, [burning])

    # an event on a resolved incident changes its folder's tree id: computed again
    cli("pir", "complete", owing[0], "-m", "held", "--at", "2026-02-13T11:00Z", env=WEEK_LATER)
    after, seen = warm(WEEK_LATER)
    assert after == _cold(cli, WEEK_LATER)
    assert _shares(after)["pir"] == (1, 1, 0, [owing[1]])
    assert seen == sorted([burning, owing[0]])

    # a clock set back before the computation computes again, and says the same
    back, seen = warm(NEXT_DAY)
    assert back == _cold(cli, NEXT_DAY)
    assert seen == sorted([burning, *owing])


def test_an_event_written_but_not_committed_is_counted_not_the_kept_outcomes(cli):
    """A crash between an event's write and its commit leaves the folder's tree id at
    HEAD as it was: the fold takes the event in, and so must the report."""
    inc = cli.declare("old P0", severity="P0", env=DAY)
    cli("resolve", inc, "--root-cause", "x", "--resolution", "y", env=DAY)
    first = cli("metrics", "--json", env=NEXT_DAY).json()
    assert _shares(first)["pir"] == (0, 0, 1, [])
    cli("pir", "complete", inc, "-m", "held", "--at", "2026-02-13T11:00Z", env=NEXT_DAY)
    cli.git("reset", "-q", "--soft", "HEAD~1")  # the event file stays, its commit is gone
    warm = cli("metrics", "--json", env=NEXT_DAY).json()
    assert _shares(warm)["pir"] == (1, 0, 0, [])
    assert warm == _cold(cli, NEXT_DAY)
