"""Joining a team repo, and sync against a real bare remote: exchange, renumbering,
offline, automatic sync, push races, a rewritten remote and an aborted rebase."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest

from conftest import Cli, git, run_cli
from gitserver import GitServer, shared
from teamrepos import at, bare_origin, edit_config, event_ids, human_id, team


@pytest.fixture(params=["path", "git-daemon"])
def server(request) -> GitServer | None:
    """The team's remote: a bare repo reached by its path, or one on a real git server
    (git daemon, over git://)."""
    return shared() if request.param == "git-daemon" else None


def _user_config(home: Path) -> dict:
    return tomllib.loads((home / ".config" / "incidentctl" / "config.toml").read_text())


@pytest.mark.process  # end-to-end: a team joins and exchanges through the console script
def test_init_remote_publishes_and_clone_joins(tmp_path, isolated_env, server):
    config_dir = isolated_env / ".config" / "incidentctl"
    config_dir.mkdir(parents=True)
    (config_dir / "config.toml").write_text(f'repo = "{tmp_path / "elsewhere"}"\n')

    origin, (a, b) = team(tmp_path, server=server)

    assert "incidentctl.toml" in git(origin, "ls-tree", "--name-only", "main")
    assert a.git("rev-parse", "HEAD") == b.git("rev-parse", "HEAD")
    assert a.git("rev-parse", "--abbrev-ref", "main@{upstream}").strip() == "origin/main"
    config = _user_config(isolated_env)
    assert config == {"repo": str(b.repo)}  # the last one joined
    # with no --repo, commands now find the joined repo from anywhere
    listed = run_cli("list", "--all", "--json", cwd=tmp_path)
    assert listed.code == 0 and listed.json() == []


@pytest.mark.process
def test_sync_exchanges_events_and_renumbers_the_unpushed_collision(tmp_path, server):
    _origin, (a, b) = team(tmp_path, server=server)
    assert a.declare("Checkout failing", env=at(1)) == human_id(1)
    assert b.declare('Search "down" <!channel> 🔥', env=at(2)) == human_id(1)
    b("note", human_id(1), "{{ 7*7 }} $(rm -rf /) ; DROP TABLE", env=at(3))

    a("sync")
    synced = b("sync", "--json", env=at(4))

    data = synced.json()
    assert data["pulled"] == 1 and data["pushed"] == 3 and data["retries"] == 0
    [renumbering] = data["renumbered"]
    assert (renumbering["from"], renumbering["to"]) == (human_id(1), human_id(2))
    assert f"your incident {human_id(1)} is now {human_id(2)}" in synced.err
    assert "error" not in synced.err

    a("sync")
    assert event_ids(a.repo) == event_ids(b.repo)
    assert len(event_ids(a.repo)) == 4  # two declared, one note, one renumbered
    for clone in (a, b):
        listed = {i["id"]: i["title"] for i in clone("list", "--all", "--json").json()}
        assert listed == {
            human_id(1): "Checkout failing",
            human_id(2): 'Search "down" <!channel> 🔥',
        }
    # the old number now belongs to a's incident; the user is told where theirs went
    shown = b("show", human_id(1), "--json")
    assert shown.json()["title"] == "Checkout failing"
    assert f"old number of {human_id(2)}" in shown.err
    moved = b("show", human_id(2), "--json").json()
    assert moved["aliases"] == [human_id(1)]
    assert moved["timeline"][1]["text"] == "{{ 7*7 }} $(rm -rf /) ; DROP TABLE"
    assert b("verify").code == 0


def test_offline_sync_says_so_in_one_line_and_keeps_the_events(tmp_path, server):
    _origin, (a, b) = team(tmp_path, server=server)
    incident = a.declare(env=at(1))
    a("sync")
    b("sync")
    url = b.git("remote", "get-url", "origin").strip()
    b.git("remote", "set-url", "origin", str(tmp_path / "missing.git"))
    b("note", incident, "written on the plane")
    head = b.git("rev-parse", "HEAD")

    offline = b("sync", ok=False)

    assert offline.code == 1
    assert offline.err.count("\n") == 1 and offline.err.startswith("error: offline:")
    assert "1 commit to push with the next sync" in offline.err
    assert b.git("rev-parse", "HEAD") == head
    b.git("remote", "set-url", "origin", url)
    assert "pushed 1 commit" in b("sync").err
    a("sync")
    notes = [
        e for e in a("show", incident, "--json").json()["timeline"] if e["type"] == "note_added"
    ]
    assert [n["text"] for n in notes] == ["written on the plane"]


def test_auto_sync_pushes_after_each_event_and_never_fails_one(tmp_path, server):
    origin, (a, b) = team(tmp_path, server=server)
    edit_config(a.repo, 'mode = "manual"', 'mode = "auto"')
    incident = a.declare(env=at(1))  # auto: the config change and the incident go out
    assert "synced with origin/main" in a("note", incident, "first").err
    b("sync")
    assert event_ids(b.repo) == event_ids(a.repo)

    b.git("remote", "set-url", "origin", str(tmp_path / "missing.git"))
    offline = b("note", incident, "no network", "--json")
    assert offline.code == 0
    assert offline.json()["events"][0]["type"] == "note_added"
    assert "warning: not synced: offline:" in offline.err
    b.git("remote", "set-url", "origin", a.git("remote", "get-url", "origin").strip())
    b("note", incident, "back online")
    assert git(origin, "rev-parse", "main") == b.git("rev-parse", "HEAD")


def test_auto_sync_renumbers_a_declaration_at_once(tmp_path):
    _origin, (a, b) = team(tmp_path)
    edit_config(a.repo, 'mode = "manual"', 'mode = "auto"')
    a("sync")
    b("sync")
    assert a.declare("First", env=at(1)) == human_id(1)

    declared = b("declare", "Second", "-s", "P2", env=at(2))

    # the declaration message on stdout carries the number that stands
    assert f"ID: {human_id(2)}" in declared.out and human_id(1) not in declared.out
    assert f"your incident {human_id(1)} is now {human_id(2)}" in declared.err


def _race_hook(b: Cli, c: Cli, marker: Path) -> None:
    """When b's fetch moves origin/main, c pushes first: b's push then loses the race."""
    hook = b.repo / ".git" / "hooks" / "reference-transaction"
    hook.write_text(
        "#!/bin/sh\n"
        '[ "$1" = committed ] || exit 0\n'
        "grep -q ' refs/remotes/origin/main$' || exit 0\n"
        f"[ -e '{marker}' ] && exit 0\n"
        f"touch '{marker}'\n"
        "unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_PREFIX\n"
        f"git -C '{c.repo}' push -q origin main\n"
    )
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)


def test_a_push_that_loses_a_race_is_retried(tmp_path, server):
    origin, (a, b, c) = team(tmp_path, ("a", "b", "c"), server=server)
    incident = a.declare(env=at(1))
    a("sync")
    c("sync")
    c("note", incident, "from c")  # committed here; the hook pushes it during b's sync
    _race_hook(b, c, tmp_path / "raced")
    b.declare("Another", env=at(2))

    synced = b("sync", "--json", env=at(3))

    assert synced.json()["retries"] == 1
    assert "someone pushed first" in synced.err
    assert git(origin, "rev-parse", "main") == b.git("rev-parse", "HEAD")
    assert event_ids(c.repo) <= event_ids(b.repo)  # c's push was taken, not overwritten
    b.git("merge-base", "--is-ancestor", c.git("rev-parse", "HEAD").strip(), "HEAD")


def test_sync_gives_up_after_the_configured_retries(tmp_path, server):
    origin, (a, b, c) = team(tmp_path, ("a", "b", "c"), server=server)
    incident = a.declare(env=at(1))
    a("sync")
    c("sync")
    c("note", incident, "from c")
    _race_hook(b, c, tmp_path / "raced")
    edit_config(b.repo, "push_retries = 3", "push_retries = 0", commit=False)
    b.declare("Another", env=at(2))
    head = b.git("rev-parse", "HEAD")

    failed = b("sync", ok=False)

    assert failed.code == 1
    assert "the push lost the race 1 time (last: " in failed.err
    assert git(origin, "rev-parse", "main") == c.git("rev-parse", "HEAD")
    # b rebased onto what it fetched, and kept its events
    assert b.git("rev-parse", "HEAD") != head
    assert "incidentctl.toml" in b.git("status", "--porcelain")  # the local edit survived


def test_a_rewritten_remote_is_refused_every_time(tmp_path, server):
    origin, (a, b) = team(tmp_path, server=server)
    a.declare(env=at(1))
    a("sync")
    b("sync")
    seen = b.git("rev-parse", "origin/main")
    a.git("commit", "-q", "--amend", "-m", "quietly rewritten")
    a.git("push", "-q", "--force", "origin", "main")
    b.declare("Local work", env=at(2))
    head = b.git("rev-parse", "HEAD")

    for _ in range(2):
        refused = b("sync", ok=False)
        assert refused.code == 1
        assert "origin/main was rewritten (force-pushed)" in refused.err
        assert seen.strip()[:12] in refused.err
        assert b.git("rev-parse", "HEAD") == head
        assert b.git("rev-parse", "origin/main") == seen
    assert git(origin, "rev-parse", "main") != head


def test_a_conflicting_rebase_is_aborted_and_changes_nothing(tmp_path, server):
    _origin, (a, b) = team(tmp_path, server=server)
    edit_config(a.repo, 'org = ""', 'org = "Team A"')
    a.git("push", "-q", "origin", "main")
    edit_config(b.repo, 'org = ""', 'org = "Team B"')
    b.declare(env=at(1))
    head = b.git("rev-parse", "HEAD")

    failed = b("sync", ok=False)

    assert failed.code == 1
    assert "conflicted (incidentctl.toml)" in failed.err and "aborted" in failed.err
    assert "hint: " in failed.err
    assert b.git("rev-parse", "HEAD") == head
    assert b.git("status", "--porcelain") == ""
    assert not (b.repo / ".git" / "rebase-merge").exists()


def test_sharing_refuses_bad_input_and_changes_nothing(tmp_path, cli):
    no_remote = cli("sync", ok=False)
    assert no_remote.code == 1 and "no git remote 'origin'" in no_remote.err
    assert "hint: " in no_remote.err

    bad_url = run_cli("clone", "--", "-oops", str(tmp_path / "x"))
    assert bad_url.code == 2 and bad_url.err.startswith("error: not a git URL")

    unreachable = run_cli("init", str(tmp_path / "new"), "--remote", str(tmp_path / "nowhere.git"))
    assert unreachable.code == 1 and "cannot reach" in unreachable.err
    assert not (tmp_path / "new").exists()

    origin = bare_origin(tmp_path)
    empty = run_cli("clone", str(origin), str(tmp_path / "empty"))
    assert empty.code == 1 and "is an empty repository" in empty.err
    assert "incidentctl init PATH --remote" in empty.err
    assert not (tmp_path / "empty").exists()

    # dated apart: two inits by one identity in the same second make the same root commit
    other_day = {
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    }
    assert run_cli("init", str(tmp_path / "a"), "--remote", str(origin), env=other_day).code == 0
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    not_empty = run_cli("clone", str(origin), str(busy))
    assert not_empty.code == 1 and "not an empty folder" in not_empty.err
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]

    example = run_cli("init", str(tmp_path / "c"), "--remote", str(origin), "--example", "waooaw")
    assert example.code == 2 and "--example only starts a new one" in example.err
    assert not (tmp_path / "c").exists()

    # an incident repo of its own cannot join another team's history
    unrelated = run_cli("init", str(cli.repo), "--remote", str(origin))
    assert unrelated.code == 1 and "shares no history" in unrelated.err
    assert cli.git("remote") == ""
    for result in (no_remote, bad_url, unreachable, empty, not_empty, example, unrelated):
        assert "Traceback" not in result.err


def test_init_remote_on_a_team_repo_clones_it(tmp_path, server):
    origin, (a,) = team(tmp_path, ("a",), server=server)
    a.declare(env=at(1))
    a("sync")

    joined = run_cli("init", str(tmp_path / "mine"), "--remote", str(origin))

    assert joined.code == 0, joined.err
    assert "cloned" in joined.err
    assert event_ids(tmp_path / "mine") == event_ids(a.repo)
    assert json.loads(run_cli("--repo", str(tmp_path / "mine"), "list", "--json").out)


def test_sync_config_takes_the_shorthand_and_refuses_nonsense(cli):
    from incidentctl.domain.policy import build_config, merge_with_defaults
    from incidentctl.store.config import default_config_text

    defaults = tomllib.loads(default_config_text())
    assert build_config(merge_with_defaults(defaults, {"sync": "auto"})).sync.mode == "auto"
    settings = build_config(merge_with_defaults(defaults, {})).sync
    assert (settings.mode, settings.remote, settings.push_retries) == ("manual", "origin", 3)

    edit_config(cli.repo, 'mode = "manual"', 'mode = "sometimes"', commit=False)
    refused = cli("declare", "x", "-s", "P1", ok=False)
    assert refused.code == 1 and "sync.mode" in refused.err and "hint: " in refused.err
    assert cli.commits() == 1


def test_an_announced_update_syncs_once_after_its_last_commit(tmp_path, server):
    origin, (a, _b) = team(tmp_path, server=server)
    edit_config(a.repo, 'mode = "manual"', 'mode = "auto"')
    incident = a.declare(env=at(1))
    updated = a("update", incident, "--status", "identified", "-m", "Leak", "--record", env=at(2))
    # the status change and the communication it announced go out in one sync
    assert updated.err.count("synced with origin/main") == 1, updated.err
    assert "pushed 2 commits" in updated.err
    assert git(origin, "rev-parse", "main") == a.git("rev-parse", "HEAD")
