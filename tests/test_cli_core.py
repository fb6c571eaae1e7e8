"""The first-minutes commands, end to end through the console script against real git repos."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from conftest import BIN, Cli, git, run_cli

TRAILERS = ("Incident", "Incident-Uid", "Event", "Event-Type")


def commit_files(cli: Cli, rev: str = "HEAD") -> list[tuple[str, str]]:
    out = cli.git("show", "--name-status", "--format=", rev)
    return [tuple(line.split("\t")) for line in out.splitlines() if line]


def trailers(cli: Cli, rev: str = "HEAD") -> dict[str, str]:
    out = cli.git("show", "-s", "--format=%(trailers:only,unfold)", rev)
    return dict(line.split(": ", 1) for line in out.splitlines() if line)


def test_init_creates_a_repo_with_one_commit(tmp_path):
    path = tmp_path / "team"
    result = run_cli("init", str(path), "--example", "waooaw")
    assert result.code == 0, result.err
    assert result.out.strip() == str(path)
    assert "WAOOAW" in (path / "incidentctl.toml").read_text()
    assert git(path, "rev-list", "--count", "HEAD").strip() == "1"
    again = run_cli("init", str(path))
    assert again.code == 0 and "already an incident repo" in again.err
    assert git(path, "rev-list", "--count", "HEAD").strip() == "1"


def test_init_reuses_an_existing_git_repo_without_touching_user_work(tmp_path):
    path = tmp_path / "existing"
    path.mkdir()
    git(path, "init", "-q")
    (path / "notes.txt").write_text("mine\n")
    git(path, "add", "notes.txt")
    result = run_cli("init", str(path))
    assert result.code == 0, result.err
    assert git(path, "show", "--name-only", "--format=", "HEAD").split() == ["incidentctl.toml"]
    assert git(path, "status", "--porcelain").strip() == "A  notes.txt"


def test_init_refuses_a_subfolder_of_another_repo(tmp_path):
    git(tmp_path, "init", "-q")
    result = run_cli("init", str(tmp_path / "sub"))
    assert result.code == 1
    assert "inside the git repo" in result.err and "Traceback" not in result.err


def test_declare_uses_the_default_repo_created_on_first_use(isolated_env, tmp_path):
    result = run_cli("declare", "API returning 503", "-s", "P0", cwd=tmp_path)
    assert result.code == 0, result.err
    assert "INCIDENT DECLARED" in result.out and "created the default incident repo" in result.err
    default = isolated_env / ".local" / "share" / "incidentctl" / "repo"
    assert (default / "incidentctl.toml").is_file()
    assert git(default, "rev-list", "--count", "HEAD").strip() == "2"
    listed = run_cli("list", "--json", cwd=tmp_path).json()
    assert [i["title"] for i in listed] == ["API returning 503"]


def test_repo_discovery_order(cli, tmp_path, monkeypatch):
    inc = cli.declare("in the team repo")
    # the enclosing work tree with incidentctl.toml is found from a subfolder
    sub = cli.repo / "deep" / "folder"
    sub.mkdir(parents=True)
    assert run_cli("show", inc, cwd=sub).code == 0
    # $INCIDENTCTL_REPO wins over the work tree; --repo wins over both
    other = tmp_path / "other"
    assert run_cli("init", str(other)).code == 0
    env = {"INCIDENTCTL_REPO": str(other)}
    assert run_cli("show", inc, cwd=sub, env=env).code == 1
    assert run_cli("--repo", str(cli.repo), "show", inc, cwd=sub, env=env).code == 0
    # the user config's repo = ... is used outside any repo
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "incidentctl" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f"repo = {json.dumps(str(cli.repo))}\n")
    assert run_cli("show", inc, cwd=tmp_path).code == 0


def test_a_repo_that_is_not_initialised_gets_a_hint(tmp_path):
    result = run_cli("--repo", str(tmp_path / "nowhere"), "list")
    assert result.code == 1
    assert "not an incident repo" in result.err and "incidentctl init" in result.err


def test_declare_records_everything_and_prints_id(cli):
    result = cli(
        "declare", "Scheduler not executing goals", "-s", "p1",
        "--service", "scheduler", "--service", "api", "--impact", "All customers",
        "--ic", "@sarah-sre", "--responder", "@on-call-backend", "--responder", "@on-call-ops",
        "--detected-at", "-10m", "--by", "@sarah-sre",
    )  # fmt: skip
    # the talk names the ID and the commit; stdout is the Slack declaration, naming the ID
    human_id, commit = re.search(
        r"^(INC-\S+): recorded declared · commit ([0-9a-f]+)", result.err, re.M
    ).groups()
    assert human_id.endswith("-001") and human_id in result.out
    assert cli.git("rev-parse", "--short", "HEAD").strip().startswith(commit[:7])
    data = cli("show", human_id, "--json").json()
    assert data["severity"] == "P1"
    assert data["status"] == "investigating"
    assert data["services"] == ["scheduler", "api"]
    assert data["impact"] == "All customers"
    assert data["roles"] == {"commander": "@sarah-sre"}
    assert data["responders"] == ["@on-call-backend", "@on-call-ops"]
    assert data["detected_at"] < data["declared_at"]
    assert data["timeline"][0]["author"] == "@sarah-sre"


def test_each_event_is_one_commit_of_one_new_file_with_trailers(cli):
    inc = cli.declare()
    before = cli.commits()
    cli("ack", inc, "--by", "@mike")
    cli(
        "update",
        inc,
        "--status",
        "identified",
        "-s",
        "P0",
        "--impact",
        "everyone",
        "-m",
        "bad deploy",
    )
    cli("assign", inc, "tech-lead", "@mike")
    cli("note", inc, "rollback started", "--kind", "action")
    cli("mitigate", inc, "-m", "rolled back")
    cli("resolve", inc, "--root-cause", "leak", "--resolution", "rollback", "--category", "deploy")
    cli("reopen", inc, "-m", "errors again")
    assert cli.commits() == before + 9  # update made three events
    for n in range(9):
        rev = f"HEAD~{n}"
        files = commit_files(cli, rev)
        assert len(files) == 1 and files[0][0] == "A", files
        assert files[0][1].startswith("incidents/") and "/events/" in files[0][1]
        t = trailers(cli, rev)
        assert set(TRAILERS) <= set(t)
        assert t["Incident"] == inc
        record = tomllib.loads(cli.git("show", f"{rev}:{files[0][1]}"))
        assert record["id"] == t["Event"] and record["type"] == t["Event-Type"]
    subjects = cli.git("log", "--format=%s", "-9").splitlines()
    assert f"{inc}: status investigating -> identified" in subjects
    assert f"{inc}: severity P1 -> P0" in subjects
    # no event file was ever modified after it was added
    assert cli.git("log", "--diff-filter=MDR", "--name-only", "--format=", "--", "incidents") == ""
    state = cli("show", inc, "--json").json()
    assert state["status"] == "investigating" and state["resolved_at"] is None
    assert state["identified_at"] and state["mitigated_at"] and state["acknowledged_at"]


def test_user_changes_are_never_swept_into_a_commit(cli):
    inc = cli.declare()
    (cli.repo / "staged.txt").write_text("staged\n")
    cli.git("add", "staged.txt")
    (cli.repo / "incidentctl.toml").write_text(
        (cli.repo / "incidentctl.toml").read_text() + "\n# local edit\n"
    )
    (cli.repo / "untracked.txt").write_text("x\n")
    cli("note", inc, "still here")
    assert next(f for _, f in commit_files(cli)).startswith("incidents/")
    status = cli.git("status", "--porcelain").splitlines()
    assert "A  staged.txt" in status
    assert " M incidentctl.toml" in status
    assert "?? untracked.txt" in status


def test_hooks_run_and_a_rejecting_hook_changes_nothing(cli):
    inc = cli.declare()
    hook = cli.repo / ".git" / "hooks" / "commit-msg"
    marker = cli.repo / ".git" / "hook-ran"
    hook.write_text(f"#!/bin/sh\necho ran >> {marker}\ngrep -q 'Event-Type:' \"$1\"\n")
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    cli("note", inc, "with hook")
    assert marker.read_text() == "ran\n"
    hook.write_text("#!/bin/sh\necho 'policy says no' >&2\nexit 1\n")
    before = cli.commits()
    result = cli("note", inc, "rejected", ok=False)
    assert result.code == 1
    assert result.err.startswith("error: git commit failed") and "policy says no" in result.err
    assert cli.commits() == before
    assert cli.git("status", "--porcelain") == ""
    assert "rejected" not in cli("show", inc, "--json").out
    # a rejected declaration leaves no empty incident folder behind to read as broken
    folders = sorted((cli.repo / "incidents").glob("*/*"))
    assert cli("declare", "never lands", "-s", "P1", ok=False).code == 1
    assert sorted((cli.repo / "incidents").glob("*/*")) == folders
    assert cli("list", "--json").code == 0


def test_a_writer_waits_for_the_repo_lock_as_long_as_the_environment_says(cli):
    import fcntl
    import time

    inc = cli.declare()
    before = cli.commits()
    with open(cli.repo / ".git" / "incidentctl.lock", "a") as held:  # another writer
        fcntl.flock(held, fcntl.LOCK_EX)
        started = time.monotonic()
        result = cli("note", inc, "blocked", ok=False, env={"INCIDENTCTL_LOCK_TIMEOUT": "0.5"})
        waited = time.monotonic() - started
    assert result.code == 1 and "another incidentctl process has held" in result.err
    assert 0.5 <= waited < 10
    assert cli.commits() == before
    assert cli("note", inc, "free again").code == 0


@pytest.mark.process
def test_two_concurrent_notes_both_land(cli):
    inc = cli.declare()
    before = cli.commits()
    env = dict(os.environ)
    procs = [
        subprocess.Popen(
            [str(BIN), "--repo", str(cli.repo), "note", inc, f"note {n}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    assert cli.commits() == before + 2
    texts = {e.get("text") for e in cli("show", inc, "--json").json()["timeline"]}
    assert {"note 0", "note 1"} <= texts


def test_ids_count_per_utc_day(cli):
    env = {"INCIDENTCTL_NOW": "2026-02-12T23:59:00Z"}
    first = cli("declare", "one", "-s", "P2", "--json", env=env).json()["id"]
    second = cli("declare", "two", "-s", "P2", "--json", env=env).json()["id"]
    env = {"INCIDENTCTL_NOW": "2026-02-13T00:01:00Z"}
    third = cli("declare", "three", "-s", "P2", "--json", env=env).json()["id"]
    backdated = cli(
        "declare", "four", "-s", "P2", "--at", "2026-02-12T22:00Z", "--json", env=env
    ).json()["id"]
    assert [first, second, third, backdated] == [
        "INC-2026-02-12-001", "INC-2026-02-12-002", "INC-2026-02-13-001", "INC-2026-02-12-003"
    ]  # fmt: skip


def test_incident_references(cli):
    a = cli.declare("first")
    b = cli.declare("second")
    uid = cli("show", a, "--json").json()["uid"]
    assert cli("show", a.lower(), "--json").json()["uid"] == uid
    assert cli("show", uid[:12], "--json").json()["id"] == a
    assert cli("show", "-", "--json").json()["id"] == b
    cli("resolve", "last", "--root-cause", "x", "--resolution", "y")  # `last` is `-`
    assert cli("show", "last", "--json").json()["id"] == b  # still current once resolved
    ambiguous = cli("show", uid[:4], ok=False)  # both ULIDs share their time prefix
    assert ambiguous.code == 2 and "matches 2 incidents" in ambiguous.err


def test_back_dating_with_at(cli):
    inc = cli(
        "declare",
        "x",
        "-s",
        "P1",
        "--at",
        "10:00",
        "--json",
        env={"INCIDENTCTL_NOW": "2026-02-12T12:00:00Z"},
    ).json()["id"]
    cli("ack", inc, "--at", "10:04", env={"INCIDENTCTL_NOW": "2026-02-12T12:00:00Z"})
    data = cli("show", inc, "--json").json()
    assert data["declared_at"] == "2026-02-12T10:00:00+00:00"
    assert data["acknowledged_at"] == "2026-02-12T10:04:00+00:00"
    assert data["timeline"][1]["recorded_at"] == "2026-02-12T12:00:00+00:00"


NASTY = [
    'He said "it\'s down" \\ and left',
    "line one\nline two\n\ttabbed",
    "🚨 emoji 🔥 and ünïcödé",
    'key = "value"\n[table]\n"""triple"""',
    "$(rm -rf /) `whoami` ; | && > /tmp/x",
    "{{ ''.__class__.__mro__ }} {% for x in y %}",
    "<!channel> <@U123> &amp; <https://x|y>",
]


@pytest.mark.parametrize("text", NASTY)
def test_nasty_text_round_trips_exactly(cli, text):
    inc = cli("declare", text, "-s", "P2", "--impact", text, "--json").json()["id"]
    cli("note", inc, text, "--kind", "finding")
    data = cli("show", inc, "--json").json()
    assert data["title"] == text.strip()
    assert data["impact"] == text
    assert data["timeline"][-1]["text"] == text
    assert cli("show", inc).code == 0


def test_output_channels_have_no_ansi_off_a_terminal(cli):
    inc = cli.declare()
    for args in (
        ["show", inc],
        ["list"],
        ["log", inc],
        ["show", inc, "--json"],
        ["list", "--json"],
        ["status"],
        ["metrics"],
    ):
        result = cli(*args)
        assert "\x1b[" not in result.out and "\x1b[" not in result.err
    result = cli("note", inc, "x", "--json")
    payload = result.json()
    assert payload["id"] == inc and payload["events"][0]["type"] == "note_added"
    assert "commit" in result.err  # the talk goes to stderr


def test_list_filters_and_json_contract(cli):
    env = {"INCIDENTCTL_NOW": "2026-02-12T12:00:00Z"}
    a = cli(
        "declare", "old one", "-s", "P2", "--at", "2026-02-01T10:00Z", "--json", env=env
    ).json()["id"]
    b = cli("declare", "new one", "-s", "P0", "--json", env=env).json()["id"]
    cli("resolve", a, "--root-cause", "x", "--resolution", "y", env=env)
    assert [i["id"] for i in cli("list", "--json").json()] == [b]
    assert [i["id"] for i in cli("list", "--all", "--json").json()] == [b, a]
    assert [i["id"] for i in cli("list", "--all", "-s", "p2", "--json").json()] == [a]
    assert [
        i["id"] for i in cli("list", "--all", "--since", "2026-02-10", "--json", env=env).json()
    ] == [b]
    item = cli("list", "--json").json()[0]
    for key in ("id", "uid", "title", "severity", "status", "declared_at"):
        assert key in item


def test_log_shows_the_incident_history(cli):
    inc = cli.declare()
    cli("note", inc, "hello")
    entries = cli("log", inc, "--json").json()
    assert [e["subject"] for e in entries] == [
        f"{inc}: note: hello",
        f"{inc}: declared P1: API returning 503",
    ]
    assert entries[0]["author"] == "Test Responder"
    assert entries[0]["trailers"]["Incident"] == inc
    assert inc in cli("log", inc).out


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["show", "INC-2026-01-01-999"], 1, "no incident 'INC-2026-01-01-999'"),
        (["note", "INC-2026-01-01-999", "x"], 1, "no incident"),
        (["declare", "x", "-s", "P9"], 2, "unknown severity 'P9'"),
        (["declare", "   ", "-s", "P1"], 2, "the title must not be empty"),
        (["declare", "x", "-s", "P1", "--at", "yesterdayish"], 2, "--at: not a time"),
        (["declare", "x", "-s", "P1", "--at", "2099-01-01T00:00Z"], 2, "is in the future"),
        (
            ["declare", "x", "-s", "P1", "--detected-at", "now", "--at", "-1h"],
            2,
            "--detected-at is after",
        ),
        (["declare", "x"], 2, "Missing option"),
        (["update", "-", "--status", "sleeping"], 2, "unknown status 'sleeping'"),
        (["update", "-"], 2, "nothing to update"),
        (["assign", "-", "chef", "@x"], 2, "unknown role 'chef'"),
        (["note", "-", "x", "--kind", "rumour"], 2, "unknown note kind"),
        (["note", "-", "x", "--at", "25:99"], 2, "--at"),
        (["list", "--since", "junk"], 2, "--since"),
        (["reopen", "-", "-m", "x"], 2, "not resolved"),
        (["frobnicate"], 2, "No such command"),
        (["note", "-", "esc \x1b[31mred"], 2, "contains a control character"),
        (["note", "-", "x", "--at", "-99999999d"], 2, "out of range"),
        (["note", "-", "x", "--at", "1960-01-01T00:00Z"], 2, "before 1970"),
        (["declare", "x" * 1200, "-s", "P1"], 2, "at most 1000 characters"),
    ],
)
def test_bad_input_is_one_error_line_and_changes_nothing(cli, args, code, fragment):
    cli.declare()
    before = cli.commits()
    result = cli(*args, ok=False)
    assert result.code == code, result.err
    assert result.err.startswith("error: ")
    assert fragment in result.err.splitlines()[0]
    assert "Traceback" not in result.err
    assert all(line.startswith(("error: ", "hint: ")) for line in result.err.splitlines())
    assert cli.commits() == before
    assert cli.git("status", "--porcelain") == ""


def test_resolved_incidents_refuse_status_changes(cli):
    inc = cli.declare()
    cli("resolve", inc, "--root-cause", "x", "--resolution", "y")
    for args in (
        ["update", inc, "--status", "identified"],
        ["mitigate", inc, "-m", "x"],
        ["resolve", inc, "--root-cause", "x", "--resolution", "y"],
    ):
        result = cli(*args, ok=False)
        assert result.code == 2 and "reopen" in result.err
    assert cli("note", inc, "post-incident note").code == 0


def test_a_malformed_file_is_named_and_other_incidents_still_list(cli):
    good = cli.declare("good")
    bad = cli.declare("bad")
    folder = Path(cli("show", bad, "--json").json()["path"])
    broken = cli.repo / folder / "events" / "20260101T000000.000Z-01ZZZZZZZZZZZZZZZZZZZZZZZZ.toml"
    broken.write_text('type = "note_added"\ntext = "unterminated\n')
    result = cli("list", "--json", ok=False)
    assert result.code == 1
    assert {i["id"] for i in result.json()} == {good, bad}
    assert "invalid TOML" in result.err and broken.name in result.err
    assert "Traceback" not in result.err
    # a declared event that does not validate: that incident is reported, the other lists
    # (committed: a work-tree edit alone is read around, from the commit)
    declared = sorted((cli.repo / folder / "events").glob("*.toml"))[-1]
    declared.write_text(declared.read_text().replace('type = "declared"', 'type = "exploded"'))
    cli.git("commit", "-qm", "hand edit", "--", str(declared.relative_to(cli.repo)))
    result = cli("list", "--json", ok=False)
    assert result.code == 1 and [i["id"] for i in result.json()] == [good]
    assert "unknown event type 'exploded'" in result.err


def test_user_text_is_never_rich_markup(cli):
    inc = cli.declare("[bold]not bold[/bold]", "--service", "db[/]", "--by", "[red]me")
    out = cli("show", inc).out
    assert "[bold]not bold[/bold]" in out and "db[/]" in out and "[red]me" in out


def test_mitigate_keep_status(cli):
    inc = cli.declare()
    cli("mitigate", inc, "-m", "partial relief", "--keep-status")
    data = cli("show", inc, "--json").json()
    assert data["status"] == "investigating" and data["mitigated_at"]
    cli("mitigate", inc, "-m", "full relief")
    assert cli("show", inc, "--json").json()["status"] == "monitoring"


def test_show_renders_header_roles_clocks_and_timeline(cli):
    inc = cli.declare("Checkout failing", "--ic", "@sarah", "--impact", "EU customers")
    cli("assign", inc, "scribe", "@sam")
    cli("ack", inc)
    out = cli("show", inc).out
    for fragment in (
        inc,
        "P1 High",
        "investigating",
        "Checkout failing",
        "EU customers",
        "@sarah",
        "scribe",
        "@sam",
        "MTTA",
        "MTTR",
        "target 15m",
        "acknowledged",
    ):
        assert fragment in out, fragment


@pytest.mark.process
def test_version_and_module_entry_point():
    result = run_cli("--version")
    assert result.code == 0 and result.out.startswith("incidentctl ")
    proc = subprocess.run(
        [str(BIN.parent / "python"), "-m", "incidentctl", "--version"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and proc.stdout == result.out
