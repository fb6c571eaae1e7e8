"""Joining a team through an ordinary bare remote, whatever its HEAD says; and bad URLs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import Cli, git, run_cli
from gitserver import GitServer, shared
from teamrepos import at, event_ids


def _bare_on_master(tmp_path: Path) -> Path:
    """`git init --bare` as most servers' git makes it: HEAD points at master."""
    path = tmp_path / "inc.git"
    subprocess.run(
        ["git", "init", "-q", "--bare", "-b", "master", str(path)], check=True, capture_output=True
    )
    return path


def test_init_remote_points_a_bare_remotes_head_at_the_pushed_branch_and_clone_joins(tmp_path):
    origin = _bare_on_master(tmp_path)

    published = run_cli("init", str(tmp_path / "a"), "--remote", str(origin))
    assert published.code == 0, published.err
    assert git(origin, "symbolic-ref", "HEAD").strip() == "refs/heads/main"

    joined = run_cli("clone", str(origin), str(tmp_path / "b"))
    assert joined.code == 0, joined.err
    b = Cli(tmp_path / "b")
    assert b.git("symbolic-ref", "--short", "HEAD").strip() == "main"
    assert b.git("rev-parse", "--abbrev-ref", "main@{upstream}").strip() == "origin/main"
    Cli(tmp_path / "a").declare(env=at(1))
    Cli(tmp_path / "a")("sync")
    b("sync")
    assert event_ids(b.repo) == event_ids(tmp_path / "a")


@pytest.mark.parametrize("kind", ["path", "git-daemon"])
def test_clone_finds_the_branch_holding_the_team_repo_when_head_points_elsewhere(tmp_path, kind):
    if kind == "path":
        origin, url = _bare_on_master(tmp_path), None
        url = str(origin)
    else:
        hosted = shared().new_repo(initial_branch="master")
        origin, url = hosted.path, hosted.url
    assert run_cli("init", str(tmp_path / "a"), "--remote", url).code == 0
    git(origin, "symbolic-ref", "HEAD", "refs/heads/master")  # as a server that kept it

    joined = run_cli("clone", url, str(tmp_path / "b"))

    assert joined.code == 0, joined.err
    b = Cli(tmp_path / "b")
    assert (b.repo / "incidentctl.toml").is_file()
    assert b.git("symbolic-ref", "--short", "HEAD").strip() == "main"
    assert b.git("for-each-ref", "--format=%(refname:short)", "refs/heads").split() == ["main"]
    b.declare(env=at(1))
    assert "pushed" in b("sync").err


def test_clone_prefers_the_remote_head_then_the_default_then_the_only_branch(tmp_path):
    origin = _bare_on_master(tmp_path)
    assert run_cli("init", str(tmp_path / "a"), "--remote", str(origin)).code == 0
    a = Cli(tmp_path / "a")
    # an unrelated branch at the remote's HEAD: not an incident repo, so clone looks further
    a.git("checkout", "-q", "--orphan", "notes")
    a.git("rm", "-rq", "--cached", ".")
    (a.repo / "README").write_text("notes\n")
    a.git("add", "README")
    a.git("commit", "-qm", "notes")
    a.git("push", "-q", "origin", "notes")
    git(origin, "symbolic-ref", "HEAD", "refs/heads/notes")

    joined = run_cli("clone", str(origin), str(tmp_path / "b"))

    assert joined.code == 0, joined.err
    b = Cli(tmp_path / "b")
    assert b.git("symbolic-ref", "--short", "HEAD").strip() == "main"
    assert b.git("for-each-ref", "--format=%(refname:short)", "refs/heads").split() == ["main"]


def test_init_remote_on_a_server_says_how_to_set_its_head(tmp_path):
    hosted: GitServer = shared()
    repo = hosted.new_repo(initial_branch="master")

    published = run_cli("init", str(tmp_path / "a"), "--remote", repo.url)

    assert published.code == 0, published.err
    assert "default branch (HEAD)" in published.err
    assert "git symbolic-ref HEAD refs/heads/main" in published.err
    assert run_cli("clone", repo.url, str(tmp_path / "b")).code == 0


def test_a_repo_with_no_incident_branch_is_refused_and_changes_nothing(tmp_path):
    origin = _bare_on_master(tmp_path)
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", "-b", "master", str(work))
    (work / "README").write_text("x\n")
    git(work, "add", "README")
    git(work, "commit", "-qm", "x")
    git(work, "push", "-q", str(origin), "master")

    refused = run_cli("clone", str(origin), str(tmp_path / "b"))

    assert refused.code == 1
    assert "is not an incident repo (no incidentctl.toml on any branch: master)" in refused.err
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("url", ["not a url", "", "  ", "-x", "ht tp://host/x", "bad\nurl"])
def test_clone_of_something_that_is_not_a_url_is_usage(tmp_path, url):
    refused = run_cli("clone", "--", url, str(tmp_path / "x"))
    assert refused.code == 2, refused.err
    assert refused.err.startswith("error: not a git URL")
    assert "hint: " in refused.err and "Traceback" not in refused.err
    assert not (tmp_path / "x").exists()


def test_a_local_folder_with_spaces_is_a_url(tmp_path):
    origin = tmp_path / "team repos" / "inc.git"
    origin.parent.mkdir()
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    assert run_cli("init", str(tmp_path / "a"), "--remote", str(origin)).code == 0
    joined = run_cli("clone", str(origin), str(tmp_path / "b"))
    assert joined.code == 0, joined.err
