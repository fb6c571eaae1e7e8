"""`incidentctl metrics` over 13 incidents written as event files, against numbers worked
out by hand below (the repo uses the default policy; now is 2026-03-20 12:00 UTC)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from incidentctl.domain import events as ev
from review_support import EventWriter, incident, utc

NOW = {"INCIDENTCTL_NOW": "2026-03-20T12:00:00Z"}
H = timedelta(hours=1)


@pytest.fixture
def fixture_repo(repo):
    w = EventWriter(repo)
    # id, severity, declared; minutes after declaration (detected: before it)
    i1 = incident(
        w,
        "INC-2026-01-05-001",
        "P0",
        "2026-01-05T10:00",
        detected=4,
        ack=3,
        identified=20,
        mitigated=50,
        resolved=120,
        category="deploy",
        services=("api",),
        review_held_after=24 * H,
    )
    i2 = incident(
        w,
        "INC-2026-01-08-001",
        "P1",
        "2026-01-08T09:00",
        detected=10,
        ack=10,
        identified=60,
        mitigated=90,
        resolved=300,
        category="database",
        services=("db",),
        review_held_after=200 * H,
    )
    incident(
        w,
        "INC-2026-01-12-001",
        "P2",
        "2026-01-12T14:00",
        ack=20,
        resolved=600,
        category="deploy",
        services=("web",),
    )
    incident(
        w,
        "INC-2026-01-20-001",
        "P3",
        "2026-01-20T08:00",
        ack=120,
        resolved=2880,
        services=("docs",),
    )
    incident(
        w,
        "INC-2026-01-25-001",
        "P0",
        "2026-01-25T22:00",
        detected=2,
        ack=15,
        identified=30,
        mitigated=40,
        resolved=200,
        category="capacity",
        services=("api",),
    )
    i6 = incident(
        w,
        "INC-2026-02-02-001",
        "P1",
        "2026-02-02T11:00",
        detected=6,
        ack=5,
        identified=45,
        mitigated=100,
        resolved=240,
        category="database",
        services=("db",),
        review_held_after=48 * H,
    )
    # mitigated before identified: MTTM cannot be measured; an optional (P2) review held
    incident(
        w,
        "INC-2026-02-10-001",
        "P2",
        "2026-02-10T16:00",
        detected=30,
        ack=25,
        identified=15,
        mitigated=10,
        resolved=500,
        category="network",
        services=("cdn",),
        review_held_after=2 * H,
    )
    incident(
        w,
        "INC-2026-02-14-001",
        "P1",
        "2026-02-14T03:00",
        identified=90,
        mitigated=150,
        resolved=2000,
        category="Deploy",
        services=("web",),
    )
    i9 = incident(
        w,
        "INC-2026-02-20-001",
        "P0",
        "2026-02-20T12:00",
        detected=3,
        ack=4,
        identified=10,
        mitigated=25,
        resolved=60,
        category="capacity",
        services=("api",),
        review_held_after=47 * H,
    )
    incident(
        w,
        "INC-2026-03-01-001",
        "P3",
        "2026-03-01T09:00",
        ack=600,
        resolved=10000,
        services=("docs",),
    )
    incident(
        w,
        "INC-2026-03-05-001",
        "P2",
        "2026-03-05T10:00",
        detected=5,
        ack=15,
        identified=30,
        mitigated=60,
        services=("payments",),
    )
    incident(w, "INC-2026-03-10-001", "P1", "2026-03-10T18:00", ack=12, services=("api",))
    incident(
        w,
        "INC-2026-03-19-001",
        "P0",
        "2026-03-19T07:00",
        detected=1,
        ack=2,
        identified=5,
        mitigated=15,
        resolved=30,
        category="deploy",
        services=("payments",),
    )

    def action(uid, at, number, status_changes=(), due="2026-04-01", priority="P1"):
        action_id = w.write(
            ev.ActionAdded,
            uid,
            utc(at),
            number=number,
            title=f"action {number}",
            owner="@owner",
            due=date.fromisoformat(due),
            priority=priority,
        )
        for when, status in status_changes:
            w.write(
                ev.ActionUpdated, uid, utc(when), action=action_id, number=number, status=status
            )

    action(i1, "2026-01-06T10:00", 1, [("2026-01-20T10:00", "done")])
    action(i1, "2026-01-06T10:01", 2, [("2026-01-21T10:00", "in-progress")], due="2026-02-01")
    action(i2, "2026-01-16T10:00", 1)
    action(i2, "2026-01-16T10:01", 2, [("2026-01-17T10:00", "wont-do")])
    action(
        i6,
        "2026-02-05T10:00",
        1,
        [("2026-02-06T10:00", "in-progress"), ("2026-02-07T10:00", "done")],
    )
    action(i9, "2026-02-23T10:00", 1, due="2026-03-01")
    action(i9, "2026-02-23T10:01", 2, [("2026-03-02T10:00", "done")])
    w.commit()
    return repo


def row(count, left_out, mean, median, p90, target=None, within=None, passed=None):
    return {
        "count": count,
        "left_out": left_out,
        "mean_seconds": mean,
        "median_seconds": median,
        "p90_seconds": p90,
        "target_seconds": target,
        "within_target": within,
        "pass": passed,
    }


EMPTY = (None, None, None)

EXPECTED = {
    "period": {
        "since": None,
        "until": None,
        "severities": [],
        "as_of": "2026-03-20T12:00:00+00:00",
    },
    "incidents": {
        "total": 13,
        "open": 2,  # 03-05 (monitoring) and 03-10 (investigating)
        "resolved": 11,
        "by_severity": {
            "P0": {"total": 4, "open": 0, "resolved": 4},
            "P1": {"total": 4, "open": 1, "resolved": 3},
            "P2": {"total": 3, "open": 1, "resolved": 2},
            "P3": {"total": 2, "open": 0, "resolved": 2},
        },
        "ids": [
            "INC-2026-01-05-001",
            "INC-2026-01-08-001",
            "INC-2026-01-12-001",
            "INC-2026-01-20-001",
            "INC-2026-01-25-001",
            "INC-2026-02-02-001",
            "INC-2026-02-10-001",
            "INC-2026-02-14-001",
            "INC-2026-02-20-001",
            "INC-2026-03-01-001",
            "INC-2026-03-05-001",
            "INC-2026-03-10-001",
            "INC-2026-03-19-001",
        ],
    },
    "metrics": {
        # detected -> declared: 240 600 120 360 1800 180 300 60 (s); 5 without a detection time
        "MTTD": {
            "from": "detected",
            "to": "declared",
            # sum 3660 / 8; sorted 60 120 180 240 300 360 600 1800: median (240+300)/2, p90 8th
            "all": row(8, 5, 457.5, 270.0, 1800.0),
            # 240 120 180 60 -> 600/4; median (120+180)/2; p90 4th; target 5m, all 4 within
            "by_severity": {
                "P0": row(4, 0, 150.0, 150.0, 240.0, 300.0, 4, True),
                "P1": row(2, 2, 480.0, 480.0, 600.0),  # 600 360; P1 has no detect_within
                "P2": row(2, 1, 1050.0, 1050.0, 1800.0),  # 1800 300
                "P3": row(0, 2, *EMPTY),
            },
        },
        # declared -> acknowledged; 02-14 was never acknowledged
        "MTTA": {
            "from": "declared",
            "to": "acknowledged",
            # 180 600 1200 7200 900 300 1500 240 36000 900 720 120: sum 49860 / 12;
            # sorted ... 720 900 ...: median (720+900)/2; p90 11th = 7200
            "all": row(12, 1, 4155.0, 810.0, 7200.0),
            "by_severity": {
                # 180 900 240 120: 1440/4 = 360 > 300: fail; 3 of 4 within 5m
                "P0": row(4, 0, 360.0, 210.0, 900.0, 300.0, 3, False),
                "P1": row(3, 1, 540.0, 600.0, 720.0, 900.0, 3, True),  # 600 300 720
                "P2": row(3, 0, 1200.0, 1200.0, 1500.0, 1800.0, 3, True),  # 1200 1500 900
                "P3": row(2, 0, 21600.0, 21600.0, 36000.0, 86400.0, 2, True),  # 7200 36000
            },
        },
        # declared -> identified
        "MTTI": {
            "from": "declared",
            "to": "identified",
            # 1200 3600 1800 2700 900 5400 600 1800 300: 18300/9 = 2033.33
            "all": row(9, 4, 2033.3, 1800.0, 5400.0),
            "by_severity": {
                "P0": row(4, 0, 975.0, 900.0, 1800.0),  # 1200 1800 600 300
                "P1": row(3, 1, 3900.0, 3600.0, 5400.0),  # 3600 2700 5400
                "P2": row(2, 1, 1350.0, 1350.0, 1800.0),  # 900 1800
                "P3": row(0, 2, *EMPTY),
            },
        },
        # identified -> mitigated; 02-10 mitigated before it identified: left out
        "MTTM": {
            "from": "identified",
            "to": "mitigated",
            # 1800 1800 600 3300 3600 900 1800 600: 14400/8
            "all": row(8, 5, 1800.0, 1800.0, 3600.0),
            "by_severity": {
                "P0": row(4, 0, 975.0, 750.0, 1800.0),  # 1800 600 900 600
                "P1": row(3, 1, 2900.0, 3300.0, 3600.0),  # 1800 3300 3600
                "P2": row(1, 2, 1800.0, 1800.0, 1800.0),
                "P3": row(0, 2, *EMPTY),
            },
        },
        # declared -> resolved; the two open incidents are left out, never zero
        "MTTR": {
            "from": "declared",
            "to": "resolved",
            # 7200 18000 36000 172800 12000 14400 30000 120000 3600 600000 1800:
            # 1015800/11 = 92345.45; median 6th = 18000; p90 10th = 172800
            "all": row(11, 2, 92345.5, 18000.0, 172800.0),
            "by_severity": {
                "P0": row(4, 0, 6150.0, 5400.0, 12000.0, 14400.0, 4, True),
                "P1": row(3, 1, 50800.0, 18000.0, 120000.0, 86400.0, 2, True),
                "P2": row(2, 1, 33000.0, 33000.0, 36000.0, 259200.0, 2, True),
                "P3": row(2, 0, 386400.0, 386400.0, 600000.0, 1209600.0, 2, True),
            },
        },
    },
    "mttr_by_month": [
        {"month": "2026-01", "incidents": 5, "count": 5, "left_out": 0, "mean_seconds": 49200.0},
        {"month": "2026-02", "incidents": 4, "count": 4, "left_out": 0, "mean_seconds": 42000.0},
        {"month": "2026-03", "incidents": 4, "count": 2, "left_out": 2, "mean_seconds": 300900.0},
    ],
    "root_causes": {
        "categories": [
            {"category": "deploy", "count": 4},  # "Deploy" counts as deploy
            {"category": "capacity", "count": 2},
            {"category": "database", "count": 2},
            {"category": "network", "count": 1},
        ],
        "uncategorised": 4,
    },
    "actions": {
        "total": 7,
        "by_status": {"not-started": 2, "in-progress": 1, "done": 3, "wont-do": 1},
        "completion_rate": 0.5,  # 3 done of the 6 not marked wont-do
        "overdue": 2,  # 01-05#A2 (due 02-01, in progress) and 02-20#A1 (due 03-01)
    },
    "reviews": {
        "severities": ["P0", "P1"],
        # resolved P0/P1: 01-05 01-25 02-20 03-19 | 01-08 02-02 02-14 (03-10 still open)
        "required": 7,
        "completed": 4,  # 01-05 01-08 02-02 02-20 (the P2 review of 02-10 is optional)
        "completion_rate": 0.5714,
        "target": 1.0,
        "pass": False,
        "due": 6,  # 03-19 was resolved at 07:30 and is due 03-21 07:30: not yet
        "on_time": 3,  # 01-05 (24h of 48h), 02-20 (47h of 48h), 02-02 (48h of 1w); 01-08 took 200h
        "on_time_rate": 0.5,
    },
    "recurrence": {
        "rule": "category-or-service",
        "rule_text": "same category or service",
        "counted": True,
        "window_seconds": 2592000.0,
        "incidents": 13,
        "repeats": 6,
        "rate": 0.4615,
        "target": 0.05,
        "pass": False,
        "repeat_incidents": [
            {
                "id": "INC-2026-01-12-001",
                "earlier": "INC-2026-01-05-001",
                "match": "category deploy",
            },
            {"id": "INC-2026-01-25-001", "earlier": "INC-2026-01-05-001", "match": "service api"},
            {
                "id": "INC-2026-02-02-001",
                "earlier": "INC-2026-01-08-001",
                "match": "category database",
            },
            {
                "id": "INC-2026-02-20-001",
                "earlier": "INC-2026-01-25-001",
                "match": "category capacity",
            },
            {"id": "INC-2026-03-10-001", "earlier": "INC-2026-02-20-001", "match": "service api"},
            {
                "id": "INC-2026-03-19-001",
                "earlier": "INC-2026-03-05-001",
                "match": "service payments",
            },
        ],
        # 02-14 (deploy, web) is 32 days after 01-12: not a repeat
    },
}


def test_metrics_json_matches_hand_computed_numbers(fixture_repo, cli):
    result = cli("metrics", "--json", env=NOW)
    assert result.err == ""
    data = result.json()
    # the sections of the timing rules and the drills (tests/test_drill.py checks them)
    assert {"obligations", "drills", "drills_included"} <= set(data)
    for extra in ("obligations", "drills", "drills_included"):
        data.pop(extra)
    # no message was recorded as sent: every resolved incident that needed an update
    # missed it (tests/test_metrics_comms.py works the communication numbers out)
    assert data.pop("communication")["regular"]["met"] == 0
    assert data == EXPECTED


def test_filters_and_formats(fixture_repo, cli):
    month = cli("metrics", "--month", "2026-02", "--json", env=NOW).json()
    assert month["incidents"]["ids"] == [
        "INC-2026-02-02-001",
        "INC-2026-02-10-001",
        "INC-2026-02-14-001",
        "INC-2026-02-20-001",
    ]
    assert month["period"]["since"] == "2026-02-01T00:00:00+00:00"
    assert month["period"]["until"] == "2026-03-01T00:00:00+00:00"
    # repeats look back before the month: 02-02 repeats 01-08
    assert [r["id"] for r in month["recurrence"]["repeat_incidents"]] == [
        "INC-2026-02-02-001",
        "INC-2026-02-20-001",
    ]
    assert month["recurrence"]["rate"] == 0.5

    # --until takes the whole day; severities in any case
    p0 = cli(
        "metrics", "-s", "p0", "--since", "2026-01-25", "--until", "2026-02-20", "--json", env=NOW
    ).json()
    assert p0["incidents"]["ids"] == ["INC-2026-01-25-001", "INC-2026-02-20-001"]
    assert p0["metrics"]["MTTR"]["by_severity"]["P0"]["mean_seconds"] == (12000 + 3600) / 2

    table = cli("metrics", env=NOW).out
    assert "\x1b[" not in table
    assert "MTTR by month" in table and "█" in table
    assert "6 of 13 (46.2%)" in table

    report = cli("metrics", "--month", "2026-01", "--format", "markdown", env=NOW).out
    assert report.startswith("# Incident Report: 2026-01\n")
    assert "| 2026-01 | 5 | 5 | 13h 40m |" in report
    assert "| MTTA | P0 | 2 | 0 | 9m | 9m | 15m | 5m | fail |" in report
    assert "1. deploy (2)\n" in report


@pytest.mark.parametrize(
    "args, message",
    [
        (["--month", "2026-13"], "--month: not a month: '2026-13'"),
        (["--since", "last tuesday"], "--since: not a time: 'last tuesday'"),
        (["--until", "2026-02-30"], "--until: not a date: '2026-02-30'"),
        (
            ["--month", "2026-02", "--since", "2026-01-01"],
            "--month cannot be combined with --since or --until",
        ),
        (["--since", "2026-03-01", "--until", "2026-02-01"], "--since is not before --until"),
        (["-s", "SEV9"], "unknown severity 'SEV9'"),
        (["--format", "pdf"], "unknown format 'pdf'"),
    ],
)
def test_bad_options_are_usage_errors(cli, args, message):
    result = cli("metrics", *args, ok=False)
    assert result.code == 2
    assert result.err.splitlines()[0] == f"error: {message}"
    assert "hint:" in result.err
    assert "Traceback" not in result.err
    assert result.out == ""
