from datetime import UTC, datetime, timedelta

import pytest

from incidentctl.domain import events as ev
from incidentctl.domain.state import FoldError, fold
from incidentctl.domain.ulid import new_ulid

T0 = datetime(2026, 2, 12, 14, 23, tzinfo=UTC)
UID = new_ulid(T0, bytes(10))


def make(cls, minutes, **fields):
    at = T0 + timedelta(minutes=minutes)
    return cls(
        id=new_ulid(at),
        incident=UID,
        at=at,
        recorded_at=fields.pop("recorded_at", at),
        author=fields.pop("author", "@sarah"),
        **fields,
    )


def declared(**fields):
    base = dict(
        human_id="INC-2026-02-12-001",
        title="Scheduler not executing goals",
        severity="P1",
        commander="@sarah-sre",
        responders=["@on-call-backend"],
        detected_at=T0 - timedelta(minutes=8),
    )
    base.update(fields)
    return ev.Declared(id=UID, incident=UID, at=T0, recorded_at=T0, author="@sarah", **base)


def test_full_lifecycle():
    events = [
        declared(),
        make(ev.Acknowledged, 3, author="@mike"),
        make(ev.StatusChanged, 7, status="identified", previous="investigating"),
        make(ev.SeverityChanged, 8, severity="P0", previous="P1", reason="all customers"),
        make(ev.ImpactChanged, 9, impact="~450 goals missed"),
        make(ev.RoleAssigned, 10, role="scribe", user="@ops"),
        make(ev.Mitigated, 19, message="rolled back", status="monitoring"),
        make(ev.Resolved, 157, root_cause="memory leak", resolution="rollback", category="deploy"),
    ]
    s = fold(reversed(events))  # order of input does not matter
    assert s.human_id == "INC-2026-02-12-001"
    assert s.severity == "P0"
    assert s.status == "resolved"
    assert s.impact == "~450 goals missed"
    assert s.roles == {"commander": "@sarah-sre", "scribe": "@ops"}
    assert s.responders == ["@on-call-backend", "@mike", "@ops"]
    assert s.acknowledged_at == T0 + timedelta(minutes=3)
    assert s.identified_at == T0 + timedelta(minutes=7)
    assert s.mitigated_at == T0 + timedelta(minutes=19)
    assert s.resolved_at == T0 + timedelta(minutes=157)
    assert s.detected_at == T0 - timedelta(minutes=8)
    assert (s.root_cause, s.resolution, s.category) == ("memory leak", "rollback", "deploy")
    assert next(e.type for e in s.timeline) == "declared"
    assert not s.is_open


def test_back_dated_events_fold_in_time_order():
    late_written_early_status = make(
        ev.StatusChanged, 5, status="identified", recorded_at=T0 + timedelta(minutes=30)
    )
    later_status = make(ev.StatusChanged, 20, status="monitoring")
    s = fold([declared(), later_status, late_written_early_status])
    assert s.status == "monitoring"
    assert s.identified_at == T0 + timedelta(minutes=5)


def test_ties_break_on_recorded_at_then_id():
    a = make(ev.SeverityChanged, 5, severity="P0", recorded_at=T0 + timedelta(minutes=6))
    b = make(ev.SeverityChanged, 5, severity="P2", recorded_at=T0 + timedelta(minutes=7))
    assert fold([declared(), b, a]).severity == "P2"


def test_reopen_clears_resolution_time_and_keeps_first_ack():
    events = [
        declared(),
        make(ev.Acknowledged, 1, author="@a"),
        make(ev.Acknowledged, 2, author="@b"),
        make(ev.Resolved, 30, root_cause="x", resolution="y"),
        make(ev.Reopened, 40, message="back again"),
    ]
    s = fold(events)
    assert s.status == "investigating"
    assert s.resolved_at is None
    assert s.acknowledged_at == T0 + timedelta(minutes=1)
    assert s.is_open


def test_mitigate_keep_status_and_first_mitigation_counts():
    s = fold(
        [
            declared(),
            make(ev.Mitigated, 10, message="partial", status=""),
            make(ev.Mitigated, 20, message="full"),
        ]
    )
    assert s.mitigated_at == T0 + timedelta(minutes=10)
    assert s.status == "monitoring"
    s = fold([declared(), make(ev.Mitigated, 10, message="partial", status="")])
    assert s.status == "investigating"


def test_renumbered_keeps_old_id_as_alias():
    s = fold(
        [
            declared(),
            make(ev.Renumbered, 1, human_id="INC-2026-02-12-002", previous="INC-2026-02-12-001"),
        ]
    )
    assert s.human_id == "INC-2026-02-12-002"
    assert s.aliases == ["INC-2026-02-12-001"]


def test_fold_needs_exactly_one_declaration():
    with pytest.raises(FoldError):
        fold([make(ev.Acknowledged, 1)])
    with pytest.raises(FoldError):
        fold([declared(), declared()])


def test_json_shape_has_the_contract_keys():
    data = fold([declared()]).to_dict()
    for key in (
        "id", "uid", "title", "severity", "status", "services", "impact", "roles",
        "declared_at", "detected_at", "acknowledged_at", "identified_at", "mitigated_at",
        "resolved_at", "root_cause", "resolution", "timeline",
    ):  # fmt: skip
        assert key in data
    event = data["timeline"][0]
    for key in ("id", "type", "at", "recorded_at", "author", "title"):
        assert key in event
    assert data["declared_at"] == "2026-02-12T14:23:00+00:00"


def test_event_validation_errors_are_readable():
    with pytest.raises(ev.EventError, match="unknown event type 'exploded'"):
        ev.parse_event({"type": "exploded"})
    record = declared().to_record()
    record["at"] = "2026-02-12T14:23:00"  # no offset
    with pytest.raises(ev.EventError, match=r"at: .*offset"):
        ev.parse_event(record)
    record = declared().to_record()
    record["surprise"] = 1
    with pytest.raises(ev.EventError, match="surprise"):
        ev.parse_event(record)


def test_every_event_type_has_exactly_one_model():
    # parse_event picks the model by `type`; a model missing from EVENT_TYPES (or a tag
    # typed twice) would make files of that type unreadable
    tags = [m.model_fields["type"].default for m in ev.EventBase.__subclasses__()]
    assert sorted(tags) == sorted(ev.EVENT_TYPES)
    for tag in ev.EVENT_TYPES:
        with pytest.raises(ev.EventError) as err:
            ev.parse_event({"type": tag})
        assert "id: Field required" in str(err.value)


def test_cached_states_need_no_event_models(tmp_path):
    # a warm `list` unpickles states; if they referenced an event model, every warm
    # read would pay for building the pydantic models
    import pickle
    import subprocess
    import sys

    state = fold(
        [
            declared(),
            make(ev.CommunicationSent, 5, template="slack/update", audience="internal"),
            make(ev.Corrected, 6, target=UID, target_type="declared", field="title", text="x"),
        ]
    )
    state.timeline = []
    (tmp_path / "state.pickle").write_bytes(pickle.dumps(state))
    code = (
        "import pickle, sys; "
        f"s = pickle.loads(open({str(tmp_path / 'state.pickle')!r}, 'rb').read()); "
        "assert s.communications[0].template == 'slack/update'; "
        "assert 'incidentctl.domain.events' not in sys.modules, 'events imported'; "
        "assert 'pydantic' not in sys.modules, 'pydantic imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
