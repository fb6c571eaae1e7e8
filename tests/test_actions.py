"""`action add|list|update|done` through the console script, on real git repos."""

from __future__ import annotations

NOW = {"INCIDENTCTL_NOW": "2026-02-20T09:00:00Z"}


def at(minute: int) -> list[str]:
    return ["--at", f"2026-02-20T08:{minute:02d}Z"]


def test_actions_are_added_tracked_and_listed(cli):
    inc = cli.declare("API returning 503", "--at", "2026-02-12T14:23Z", severity="P0", env=NOW)
    other = cli.declare("Scheduler slow", "--at", "2026-02-13T10:00Z", env=NOW)
    title = 'Fix "cache" \'leak\' <!channel> <@U123> {{ x }} 🚨 $(id) """\nsecond line'

    added = cli(
        "action",
        "add",
        inc,
        title,
        "--owner",
        "@mike",
        "--due",
        "2026-02-19",
        "--priority",
        "p0",
        "--json",
        *at(1),
        env=NOW,
    )
    item = added.json()
    assert item["id"] == f"{inc}#A1"
    assert (item["title"], item["owner"], item["due"], item["priority"], item["type"]) == (
        title,
        "@mike",
        "2026-02-19",
        "P0",
        "preventive",
    )
    assert item["status"] == "not-started"
    assert item["events"][0]["type"] == "action_added"
    assert "warning: the due date 2026-02-19 is already past" in added.err

    second = cli(
        "action",
        "add",
        inc,
        "Automate rollback",
        "--owner",
        "@devops",
        "--due",
        "+1w",
        "--priority",
        "P1",
        "--type",
        "corrective",
        *at(2),
        env=NOW,
    )
    assert second.out == f"{inc}#A2\n"
    cli(
        "action",
        "add",
        other,
        "Add alert",
        "--owner",
        "mike",
        "--due",
        "2026-03-01",
        "-p",
        "P2",
        "--type",
        "detective",
        *at(3),
        env=NOW,
    )

    subject = cli.git("log", "-1", "--format=%s%n%(trailers:only)")
    assert subject.startswith(f"{other}: action A1 added: Add alert\n")
    assert "Event-Type: action_added" in subject

    moved = cli(
        "action",
        "update",
        f"{inc.lower()}#a1",
        "--status",
        "in progress",
        "-m",
        "PR #1234 open",
        "--json",
        *at(4),
        env=NOW,
    )
    assert moved.json()["status"] == "in-progress"
    assert moved.json()["notes"] == [
        {
            "at": "2026-02-20T08:04:00+00:00",
            "author": "Test Responder",
            "status": "in-progress",
            "text": "PR #1234 open",
        }
    ]
    done = cli("action", "done", f"{inc}#A2", "--by", "@devops", *at(5), env=NOW)
    assert done.out == f"{inc}#A2\n"
    assert cli("action", "update", f"{other}#A1", "-m", "waiting on infra", *at(6), env=NOW)

    everything = cli("action", "list", "--json", env=NOW).json()
    # soonest due first, across incidents
    assert [(a["id"], a["status"], a["overdue"]) for a in everything] == [
        (f"{inc}#A1", "in-progress", True),
        (f"{inc}#A2", "done", False),
        (f"{other}#A1", "not-started", False),
    ]
    assert everything[1]["closed_at"] == "2026-02-20T08:05:00+00:00"
    assert everything[2]["notes"][0]["text"] == "waiting on infra"
    assert [a["id"] for a in cli("action", "list", "--open", "--json", env=NOW).json()] == [
        f"{inc}#A1",
        f"{other}#A1",
    ]
    overdue = cli("action", "list", "--overdue", "--json", env=NOW).json()
    assert [a["id"] for a in overdue] == [f"{inc}#A1"]
    mine = cli("action", "list", "--owner", "@Mike", "--json", env=NOW).json()
    assert [a["id"] for a in mine] == [f"{inc}#A1", f"{other}#A1"]

    table = cli("action", "list", env=NOW).out
    assert "\x1b[" not in table
    assert f"{inc}#A1" in table and "overdue" in table and "In Progress" in table
    assert "no action items match" in cli("action", "list", "--owner", "@nobody", env=NOW).err

    show = cli("show", inc, "--json", env=NOW).json()
    assert [a["id"] for a in show["actions"]] == [f"{inc}#A1", f"{inc}#A2"]
    assert show["actions"][0]["title"] == title


def test_bad_action_input_changes_nothing(cli):
    inc = cli.declare("API returning 503", "--at", "2026-02-12T14:23Z", env=NOW)
    cli(
        "action",
        "add",
        inc,
        "Fix it",
        "--owner",
        "@a",
        "--due",
        "2026-03-01",
        "-p",
        "P1",
        *at(1),
        env=NOW,
    )
    cli("action", "done", f"{inc}#A1", *at(2), env=NOW)
    before = cli.commits()
    add = ["action", "add", inc, "Fix it", "--owner", "@a"]
    cases = [
        ([*add, "--due", "someday", "-p", "P1"], 2, "--due: not a date: 'someday'"),
        ([*add, "--due", "2026-02-30", "-p", "P1"], 2, "--due: not a date"),
        ([*add, "--due", "2026-03-01", "-p", "P7"], 2, "unknown priority 'P7'"),
        ([*add, "--due", "2026-03-01", "-p", "P1", "--type", "magic"], 2, "unknown action type"),
        (
            ["action", "add", inc, " ", "--owner", "@a", "--due", "+1d", "-p", "P1"],
            2,
            "the title must not be empty",
        ),
        (
            [
                "action",
                "add",
                "INC-2026-01-01-001",
                "x",
                "--owner",
                "@a",
                "--due",
                "+1d",
                "-p",
                "P1",
            ],
            1,
            "no incident",
        ),
        (["action", "done", f"{inc}#A9"], 1, f"no action '{inc}#A9'"),
        (["action", "done", inc], 2, f"'{inc}' is not an action ID"),
        (["action", "done", f"{inc}#A1"], 2, f"{inc}#A1 is already done"),
        (["action", "update", f"{inc}#A1"], 2, "nothing to update"),
        (["action", "update", f"{inc}#A1", "--status", "finished"], 2, "unknown action status"),
        (
            ["action", "update", f"{inc}#A1", "-m", "x", "--at", "2026-02-20T07:00Z"],
            2,
            "--at is before",
        ),
        (["action", "update", f"{inc}#A1", "-m", "x", "--at", "yesterday-ish"], 2, "--at"),
    ]
    for args, code, message in cases:
        result = cli(*args, env=NOW, ok=False)
        assert result.code == code, (args, result.err)
        first = result.err.splitlines()[0]
        assert first.startswith("error: ") and message in first, (args, result.err)
        assert "hint: " in result.err and "Traceback" not in result.err
        assert result.out == ""
    assert cli.commits() == before
    assert cli.git("status", "--porcelain") == ""


def test_an_unreadable_incident_is_named_and_the_rest_still_report(cli):
    inc = cli.declare("API returning 503", "--at", "2026-02-12T14:23Z", env=NOW)
    cli("action", "add", inc, "Fix it", "--owner", "@a", "--due", "2026-03-01", "-p", "P1",
        *at(1), env=NOW)  # fmt: skip
    broken = cli.repo / "incidents" / "2026" / "01KHB3MZM0W2W5J6RVP5C25KJK-broken" / "events"
    broken.mkdir(parents=True)
    (broken / "20260213T000000.000Z-01KHB3MZM0W2W5J6RVP5C25KJK.toml").write_text("type = [")

    listed = cli("action", "list", "--json", env=NOW, ok=False)
    assert listed.code == 1
    assert [a["id"] for a in listed.json()] == [f"{inc}#A1"]
    assert "error: incidents/2026/01KHB3MZM0W2W5J6RVP5C25KJK-broken" in listed.err
    assert "Traceback" not in listed.err

    report = cli("metrics", "--json", env=NOW, ok=False)
    assert report.code == 1
    assert report.json()["incidents"]["ids"] == [inc]
    assert "01KHB3MZM0W2W5J6RVP5C25KJK-broken" in report.err
