import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from incidentctl.domain.policy import build_config, merge_with_defaults
from incidentctl.store.config import default_config_text, example_config_text

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"


def load(text: str):
    return build_config(
        merge_with_defaults(tomllib.loads(default_config_text()), tomllib.loads(text))
    )


def test_defaults_follow_waooaw_with_white_room_escalation():
    c = load("")
    assert c.severities == ["P0", "P1", "P2", "P3"]
    assert list(c.roles) == ["commander", "tech-lead", "comms-lead", "scribe", "support-lead"]
    p0, p1 = c.severity["P0"], c.severity["P1"]
    assert p0.ack_within == timedelta(minutes=5)
    assert p1.ack_within == timedelta(minutes=15)
    assert p0.update_every == timedelta(minutes=15) and p1.update_every == timedelta(minutes=30)
    assert p0.escalate_after == timedelta(minutes=30) and p1.escalate_after == timedelta(hours=2)
    assert p0.pir_within == timedelta(hours=48) and p1.pir_within == timedelta(weeks=1)
    assert [lvl.name for lvl in c.escalation] == [
        "On-call Engineer",
        "Engineering Lead",
        "Senior Staff / Architect",
    ]


def test_waooaw_example_reproduces_the_seed():
    c = build_config(tomllib.loads(example_config_text("waooaw")))
    s = c.severity
    assert [s[p].ack_within for p in ("P0", "P1", "P2")] == [
        timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=30)
    ]  # fmt: skip
    assert s["P3"].ack_note == "Next business day"
    assert s["P2"].business_hours_only
    assert s["P0"].page == ["Incident Commander", "On-call SRE", "On-call Backend Engineer"]
    assert s["P1"].page == ["On-call SRE"]
    assert s["P2"].page == [] and s["P2"].page_note == "No page, Slack notification"
    assert [s[p].update_every for p in ("P0", "P1", "P2", "P3")] == [
        timedelta(minutes=15), timedelta(minutes=30), timedelta(hours=2), None
    ]  # fmt: skip
    assert s["P0"].customer_comms_within == timedelta(minutes=15)
    assert s["P1"].customer_comms_within == timedelta(hours=1)
    assert s["P2"].customer_comms_note == "If affecting >10 customers"
    assert [n.who for n in s["P0"].notify] == ["CTO", "CEO"]
    assert [n.who for n in s["P1"].notify] == ["CTO", "Engineering Manager"]
    assert s["P2"].notify == [] and s["P3"].notify == []
    assert [s[p].resolve_within for p in ("P0", "P1", "P2", "P3")] == [
        timedelta(hours=4), timedelta(hours=24), timedelta(days=3), timedelta(weeks=2)
    ]  # fmt: skip
    assert [s[p].resolve_within_note for p in ("P0", "P1", "P2", "P3")] == [
        "1-4 hours", "4-24 hours", "1-3 days", "1-2 weeks"
    ]  # fmt: skip
    assert [s[p].pir_required for p in ("P0", "P1", "P2", "P3")] == [True, True, False, False]
    assert s["P0"].pir_within == timedelta(hours=48) and s["P1"].pir_within == timedelta(weeks=1)
    assert s["P0"].detect_within == timedelta(minutes=5)
    assert list(c.roles) == ["commander", "tech-lead", "comms-lead", "scribe"]
    assert c.escalation == []
    assert c.runbooks.vars["namespace"] == "waooaw-prod"
    assert c.runbooks.vars["deployment"] == "plant-backend"


def test_white_room_example_reproduces_the_seed():
    c = build_config(tomllib.loads(example_config_text("white-room")))
    s = c.severity
    assert [s[p].ack_within for p in ("P0", "P1", "P2", "P3")] == [
        timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(days=1)
    ]  # fmt: skip
    assert [s[p].resolve_within for p in ("P0", "P1", "P2", "P3")] == [
        timedelta(hours=1), timedelta(hours=4), timedelta(days=1), timedelta(weeks=1)
    ]  # fmt: skip
    assert s["P0"].escalate_after == timedelta(minutes=30)
    assert s["P1"].escalate_after == timedelta(hours=2)
    assert c.escalation[1].escalate_after == timedelta(hours=1)
    assert {(n.who, n.after) for n in s["P0"].notify} == {
        ("Engineering Manager", timedelta(0)),
        ("Product Manager", timedelta(0)),
        ("CTO", timedelta(hours=1)),
    }
    assert [(n.who, n.after) for n in s["P1"].notify] == [
        ("Engineering Manager", timedelta(hours=1))
    ]
    assert s["P0"].customer_comms_within == timedelta(minutes=15)
    assert s["P0"].status_page_every == timedelta(minutes=30)
    assert s["P0"].customer_email and s["P0"].customer_email_within == timedelta(minutes=30)
    assert not s["P1"].customer_email
    assert s["P0"].pir_within == s["P1"].pir_within == timedelta(weeks=1)
    assert list(c.roles) == ["commander", "ops-lead", "comms-lead", "support-lead"]


def test_examples_at_the_top_level_are_the_packaged_ones():
    for name in ("white-room", "waooaw"):
        assert (EXAMPLES_DIR / name / "incidentctl.toml").read_text() == example_config_text(name)


def test_partial_team_config_keeps_default_tables():
    c = load('[incident]\norg = "Acme"\n')
    assert c.incident.org == "Acme"
    assert c.incident.id_format == "INC-{yyyy}-{mm}-{dd}-{seq}"
    assert c.severities == ["P0", "P1", "P2", "P3"]


def test_team_severity_table_replaces_the_default():
    c = load('[severity.SEV1]\nack_within = "10m"\n[severity.SEV2]\n')
    assert c.severities == ["SEV1", "SEV2"]
    assert c.severity_name("sev1") == "SEV1"
    assert c.severity_name("P0") is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[severity.P0]\nack_within = "soon"\n', "severity.P0.ack_within"),
        ('[severity.P0]\nack_whithin = "5m"\n', "ack_whithin"),
        ('[incident]\ntimezone = "Mars/Olympus"\n', "unknown time zone"),
        ('[incident]\nid_format = "INC-{seq}"\n', "id_format"),
        ("[severity]\n", "at least one severity"),
    ],
)
def test_bad_config_is_refused_with_the_field(text, fragment):
    with pytest.raises(ValidationError) as info:
        load(text)
    assert fragment in str(info.value)


def test_role_names_and_aliases():
    c = load("")
    assert c.role_name("IC") == "commander"
    assert c.role_name("Tech_Lead") == "tech-lead"
    assert c.role_name("chef") is None
