"""The on-call rotation: weeks across daylight-saving changes, overrides across the
handover, the empty rotation; then the oncall commands end to end."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from incidentctl.domain.oncall import OncallOverride, Rotation, RotationError
from incidentctl.domain.policy import OncallSettings
from incidentctl.domain.ulid import new_ulid

BERLIN = ZoneInfo("Europe/Berlin")
PEOPLE = ["@alice", "@bob", "@carol"]


def rotation(**settings) -> Rotation:
    return Rotation(OncallSettings(people=PEOPLE, **settings), BERLIN)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)


def override(user: str, start: datetime, end: datetime, *, role="primary", recorded=None):
    recorded = recorded or datetime(2026, 3, 1, tzinfo=UTC)
    return OncallOverride(
        id=new_ulid(recorded),
        at=recorded,
        recorded_at=recorded,
        user=user,
        role=role,
        start=start,
        end=end,
    )


def test_weeks_start_monday_midnight_and_the_backup_is_last_weeks_on_call():
    r = rotation()
    first = r.week_at(berlin(2026, 1, 5, 0, 0))
    assert (first.primary, first.secondary) == ("@alice", "@carol")
    assert first.start == berlin(2026, 1, 5)
    assert r.week_at(berlin(2026, 1, 11, 23, 59)).primary == "@alice"
    second = r.week_at(berlin(2026, 1, 12, 0, 0))
    assert (second.primary, second.secondary) == ("@bob", "@alice")
    # before the anchor week the rotation runs backwards
    assert r.week_at(berlin(2026, 1, 4, 12, 0)).primary == "@carol"


def test_spring_forward_week_is_167_hours_and_handover_keeps_local_time():
    r = rotation()
    # Europe/Berlin: CET -> CEST on Sunday 2026-03-29 at 02:00
    week = r.week_at(berlin(2026, 3, 25, 12, 0))
    assert week.start == datetime(2026, 3, 22, 23, 0, tzinfo=UTC)  # Mon 00:00 CET
    assert week.end == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)  # Mon 00:00 CEST
    assert week.end - week.start == timedelta(hours=167)
    assert r.handover_at(week) == datetime(2026, 3, 29, 16, 0, tzinfo=UTC)  # Sun 18:00 CEST
    just_before = r.week_at(datetime(2026, 3, 29, 21, 59, 59, tzinfo=UTC))
    just_after = r.week_at(datetime(2026, 3, 29, 22, 0, tzinfo=UTC))
    assert just_before.primary == week.primary == "@carol"  # 11 weeks after 2026-01-05
    assert just_after.primary == "@alice"
    assert just_after.secondary == "@carol"


def test_fall_back_week_is_169_hours():
    r = rotation()
    # CEST -> CET on Sunday 2026-10-25 at 03:00
    week = r.week_at(berlin(2026, 10, 21, 12, 0))
    assert week.end - week.start == timedelta(hours=169)
    # Sunday 23:30 CET is still that week; Monday 00:00 CET is the next
    assert r.week_at(datetime(2026, 10, 25, 22, 30, tzinfo=UTC)) == week
    assert r.week_at(datetime(2026, 10, 25, 23, 0, tzinfo=UTC)).index == week.index + 1


def test_an_override_spanning_the_handover_covers_both_weeks_then_hands_back():
    r = rotation()
    swap = override("@zoe", berlin(2026, 2, 15, 12, 0), berlin(2026, 2, 16, 12, 0))
    sunday_evening = r.on_call(berlin(2026, 2, 15, 20, 0), [swap])
    assert (sunday_evening.primary, sunday_evening.week.primary) == ("@zoe", "@carol")
    assert sunday_evening.primary_override == swap
    monday_morning = r.on_call(berlin(2026, 2, 16, 6, 0), [swap])
    assert (monday_morning.primary, monday_morning.week.primary) == ("@zoe", "@alice")
    assert monday_morning.secondary == "@carol"  # the backup is untouched
    monday_noon = r.on_call(berlin(2026, 2, 16, 12, 0), [swap])
    assert (monday_noon.primary, monday_noon.primary_override) == ("@alice", None)


def test_the_override_recorded_last_wins_and_roles_are_separate():
    r = rotation()
    at = berlin(2026, 2, 11, 12, 0)
    older = override("@zoe", at - timedelta(hours=1), at + timedelta(hours=1))
    newer = override(
        "@yann",
        at - timedelta(hours=2),
        at + timedelta(hours=2),
        recorded=datetime(2026, 3, 2, tzinfo=UTC),
    )
    backup = override("@xena", at, at + timedelta(hours=1), role="secondary")
    got = r.on_call(at, [newer, backup, older])
    assert (got.primary, got.secondary) == ("@yann", "@xena")


def test_secondary_can_be_turned_off_and_a_single_person_has_no_backup():
    assert rotation(secondary="none").week_at(berlin(2026, 2, 11)).secondary == ""
    alone = Rotation(OncallSettings(people=["@solo"]), BERLIN).week_at(berlin(2026, 2, 11))
    assert (alone.primary, alone.secondary) == ("@solo", "")


def test_an_empty_rotation_is_an_error():
    with pytest.raises(RotationError, match="no one is in the on-call rotation"):
        Rotation(OncallSettings(), BERLIN)


def test_settings_refuse_an_anchor_week_on_the_wrong_day():
    with pytest.raises(ValueError, match="is a tuesday, but weeks start on monday"):
        OncallSettings(people=PEOPLE, first_week=date(2026, 1, 6))
    assert OncallSettings(start_day="Tue", first_week=date(2026, 1, 6)).start_day == "tuesday"


def test_the_shipped_defaults_match_the_model_defaults():
    from incidentctl.store.config import default_config_text, example_config_text

    defaults = tomllib.loads(default_config_text())["oncall"]
    assert OncallSettings.model_validate(defaults) == OncallSettings()
    white_room = tomllib.loads(example_config_text("white-room"))["oncall"]
    assert OncallSettings.model_validate(white_room) == OncallSettings()


# -- the commands, end to end ---------------------------------------------------------

SHIPPED_ROTATION = '[oncall]\npeople = []\ntimezone = ""\n'
ROTATION = '[oncall]\npeople = ["@alice", "@bob", "@carol"]\ntimezone = "America/New_York"\n'


@pytest.fixture
def team(cli):
    config = cli.repo / "incidentctl.toml"
    text = config.read_text()
    assert SHIPPED_ROTATION in text
    config.write_text(text.replace(SHIPPED_ROTATION, ROTATION))
    cli.git("commit", "-qam", "rotation")
    return cli


def test_an_empty_rotation_gets_a_clear_error(cli):
    result = cli("oncall", "now", ok=False)
    assert result.code == 1
    assert result.err.splitlines() == [
        "error: no one is in the on-call rotation",
        f'hint: add people to [oncall] in {cli.repo / "incidentctl.toml"}, e.g. people = ["@alice", "@bob"]',
    ]
    assert result.out == ""


def test_oncall_now_across_daylight_saving_in_new_york(team):
    # EST -> EDT on Sunday 2026-03-08: Monday 00:00 local is 05:00Z before, 04:00Z after
    before = team("oncall", "now", "--at", "2026-03-09T03:59Z", "--json").json()
    after = team("oncall", "now", "--at", "2026-03-09T04:00Z", "--json").json()
    assert before["week"]["end"] == after["week"]["start"] == "2026-03-09T04:00:00+00:00"
    assert before["week"]["start"] == "2026-03-02T05:00:00+00:00"
    assert (before["primary"], after["primary"], after["secondary"]) == (
        "@carol",
        "@alice",
        "@carol",
    )
    text = team("oncall", "now", "--at", "2026-03-09T04:00Z").out
    assert text.splitlines()[:3] == [
        "primary:   @alice",
        "secondary: @carol (previous week's on-call)",
        "week:      Mon 2026-03-09 00:00 EDT to Mon 2026-03-16 00:00 EDT",
    ]


def test_an_override_is_a_committed_record_that_spans_the_handover(team):
    env = {"INCIDENTCTL_NOW": "2026-02-12T15:00:00Z"}
    commits = team.commits()
    result = team(
        "oncall", "override", "@zoe 🚑", "--from", "2026-02-15T12:00", "--to", "2026-02-16T12:00",
        "-m", 'covers "Sunday" <!channel> {{ x }}', "--by", "@carol", "--json", env=env,
    )  # fmt: skip
    record = result.json()
    assert team.commits() == commits + 1
    path = team.repo / record["path"]
    assert record["path"].startswith("oncall/overrides/20260212T150000.000Z-")
    stored = tomllib.loads(path.read_text())
    assert stored["user"] == "@zoe 🚑"
    assert stored["from"] == "2026-02-15T17:00:00+00:00"  # 12:00 in New York
    assert stored["reason"] == 'covers "Sunday" <!channel> {{ x }}'
    message = team.git("log", "-1", "--format=%B")
    assert "Event-Type: oncall_override" in message
    assert team.git("status", "--porcelain") == ""

    sunday = team("oncall", "now", "--at", "2026-02-15T20:00", "--json", env=env).json()
    monday = team("oncall", "now", "--at", "2026-02-16T06:00", "--json", env=env).json()
    noon = team("oncall", "now", "--at", "2026-02-16T12:00", "--json", env=env).json()
    assert (sunday["primary"], sunday["scheduled_primary"]) == ("@zoe 🚑", "@carol")
    assert (monday["primary"], monday["scheduled_primary"]) == ("@zoe 🚑", "@alice")
    assert (noon["primary"], noon["primary_override"]) == ("@alice", None)

    schedule = team("oncall", "schedule", "--weeks", "3", "--json", env=env).json()
    assert [w["primary"] for w in schedule["weeks"]] == ["@carol", "@alice", "@bob"]
    assert [len(w["overrides"]) for w in schedule["weeks"]] == [1, 1, 0]
    upcoming = team("oncall", "next", env=env).out
    assert upcoming.splitlines() == [
        "next week: Mon 2026-02-16 00:00 EST to Mon 2026-02-23 00:00 EST",
        "primary:   @alice",
        "secondary: @carol",
        "handover:  Sun 2026-02-15 18:00 EST",
        'override:  @zoe 🚑 primary from Sun 2026-02-15 12:00 EST to Mon 2026-02-16 12:00 EST (covers "Sunday" <!channel> {{ x }})',
    ]


def test_bad_override_input_changes_nothing(team):
    commits = team.commits()
    for args, message in [
        (["--from", "10:00", "--to", "09:00"], "is not after --from"),
        (["--from", "yesterday", "--to", "09:00"], "--from: not a time: 'yesterday'"),
        (["--from", "10:00", "--to", "11:00", "--role", "tertiary"], "unknown on-call role"),
    ]:
        result = team("oncall", "override", "@zoe", *args, ok=False)
        assert result.code == 2, result.err
        assert message in result.err
        assert "Traceback" not in result.err
    assert team("oncall", "schedule", "--weeks", "0", ok=False).code == 2
    assert team.commits() == commits
    assert not (team.repo / "oncall").exists()


def test_handover_brief(team):
    env = {"INCIDENTCTL_NOW": "2026-02-12T15:00:00Z"}
    inc = team.declare("Checkout <b>down</b> {{ oops }}", "--ic", "@sarah", severity="P1", env=env)
    old = team.declare(
        "Search slow", severity="P2", env={"INCIDENTCTL_NOW": "2026-02-10T09:00:00Z"}
    )
    team(
        "resolve", old, "--root-cause", "Index", "--resolution", "Reindexed",
        env={"INCIDENTCTL_NOW": "2026-02-11T09:00:00Z"},
    )  # fmt: skip
    brief = team("oncall", "handover", env={"INCIDENTCTL_NOW": "2026-02-12T16:00:00Z"}).out
    lines = brief.splitlines()
    assert lines[0] == "On-call handover: @carol -> @alice"
    assert lines[1] == "Week ending Mon 2026-02-16 00:00 EST; briefing Sun 2026-02-15 18:00 EST"
    active = lines[lines.index("Active incidents") + 1 :]
    assert active[0] == f"- {inc} P1 investigating: Checkout <b>down</b> {{{{ oops }}}}"
    assert active[1] == "  IC: @sarah"
    assert "  next: Notify CTO: every P1 incident, overdue by 1h" in active
    week = lines[lines.index("Incidents this week") + 1 :]
    assert week[:2] == [
        f"- {old} P2 resolved: Search slow (declared Tue 2026-02-10 04:00 EST, resolved Wed 2026-02-11 04:00 EST)",
        f"- {inc} P1 investigating: Checkout <b>down</b> {{{{ oops }}}} (declared Thu 2026-02-12 10:00 EST)",
    ]
    assert "Open action items" not in brief  # none recorded yet
    outgoing = lines.index("Outgoing on-call (@carol)")
    assert lines[outgoing + 1 : outgoing + 5] == [
        "- [ ] Summarize active incidents",
        "- [ ] Share learnings from the week",
        "- [ ] Document any ongoing issues",
        "- [ ] Update runbooks if needed",
    ]
    incoming = lines.index("Incoming on-call (@alice)")
    assert lines[incoming + 4] == "- [ ] Confirm PagerDuty is active"
    assert "\x1b" not in brief
    # action items appear once there are open ones, overdue first
    team(
        "action",
        "add",
        old,
        "Add an index alert",
        "--owner",
        "@lee",
        "--due",
        "2026-02-11",
        "--priority",
        "P1",
        env=env,
    )
    team(
        "action",
        "add",
        inc,
        "Write the runbook",
        "--owner",
        "@sam",
        "--due",
        "2026-03-01",
        "--priority",
        "P2",
        env=env,
    )
    brief = team(
        "oncall", "handover", env={"INCIDENTCTL_NOW": "2026-02-12T16:00:00Z"}
    ).out.splitlines()
    actions = brief[brief.index("Open action items") + 1 :][:2]
    assert actions == [
        f"- {old}#A1: Add an index alert (@lee, due 2026-02-11, OVERDUE)",
        f"- {inc}#A1: Write the runbook (@sam, due 2026-03-01)",
    ]


def test_an_override_left_uncommitted_by_a_killed_command_is_committed_next_time(team):
    folder = team.repo / "oncall" / "overrides"
    folder.mkdir(parents=True)
    left = folder / "20260212T140000.000Z-01KH92DJR0RGZJNNATFZ84GA7N.toml"
    left.write_text(
        'type = "oncall_override"\nid = "01KH92DJR0RGZJNNATFZ84GA7N"\n'
        'at = "2026-02-12T14:00:00+00:00"\nrecorded_at = "2026-02-12T14:00:00+00:00"\n'
        'user = "@yann"\nfrom = "2026-02-13T00:00:00+00:00"\nto = "2026-02-14T00:00:00+00:00"\n'
    )
    commits = team.commits()
    result = team(
        "oncall", "override", "@zoe newline", "--from", "2026-02-20T09:00", "--to", "2026-02-20T17:00",
        env={"INCIDENTCTL_NOW": "2026-02-12T15:00:00Z"},
    )  # fmt: skip
    assert f"recovered oncall/overrides/{left.name}" in result.err
    assert team.commits() == commits + 2
    assert team.git("status", "--porcelain") == ""
    subjects = team.git("log", "-2", "--format=%s").splitlines()
    assert subjects[0].startswith("oncall: @zoe newline primary from 2026-02-20T14:00:00+00:00")
    assert "Recovered: true" in team.git("log", "-1", "--skip=1", "--format=%B")
    yann = team("oncall", "now", "--at", "2026-02-13T12:00Z", "--json").json()
    assert yann["primary"] == "@yann"


def test_an_unreadable_override_fails_oncall_as_it_fails_show(team):
    folder = team.repo / "oncall" / "overrides"
    folder.mkdir(parents=True)
    (folder / "20260212T140000.000Z-01KH92DJR0RGZJNNATFZ84GA7N.toml").write_text("not = [toml")
    team.git("add", "oncall")
    team.git("commit", "-qm", "a broken override")
    env = {"INCIDENTCTL_NOW": "2026-02-12T15:00:00Z"}
    for args in (("now",), ("next",), ("schedule",), ("handover",)):
        result = team("oncall", *args, ok=False, env=env)
        assert result.code == 1, (args, result.err)
        assert "error: oncall/overrides/20260212T140000.000Z-" in result.err
        assert "hint: run: incidentctl doctor" in result.err
        assert result.out  # what could be read is still shown
