"""The git runner: this repo only, git's own messages, and the user's environment."""

import os
import re
import time
from pathlib import Path

import pytest

import incidentctl
from conftest import git
from incidentctl import environment
from incidentctl.errors import GitError
from incidentctl.store import repo as repo_module
from incidentctl.store.git import Git
from incidentctl.store.remote import Remote, Unreachable


def test_a_folder_without_a_repo_never_reaches_an_enclosing_one(tmp_path):
    git(tmp_path, "init", "-q")
    inner = tmp_path / "not-a-repo"
    inner.mkdir()
    with pytest.raises(GitError) as err:
        Git(inner).run("rev-parse", "--show-toplevel")
    assert "not a git repository" in err.value.message
    assert Git(tmp_path).run("rev-parse", "--show-toplevel") == str(tmp_path.resolve())


def test_git_messages_keep_their_quotes(tmp_path):
    git(tmp_path, "init", "-q")
    with pytest.raises(GitError) as err:
        Git(tmp_path).run("log", "no-such-branch")
    assert "ambiguous argument 'no-such-branch'" in err.value.message


def test_what_incidentctl_sets_for_itself_is_not_handed_on(monkeypatch):
    monkeypatch.delenv(environment.PYDANTIC_PLUGINS, raising=False)
    monkeypatch.setattr(environment, "_set_here", set())
    environment.skip_pydantic_plugins()
    assert os.environ[environment.PYDANTIC_PLUGINS] == "__all__"
    assert environment.PYDANTIC_PLUGINS not in environment.for_children()
    # a user's own setting is theirs, and is handed on
    monkeypatch.setattr(environment, "_set_here", set())
    monkeypatch.setenv(environment.PYDANTIC_PLUGINS, "logfire")
    environment.skip_pydantic_plugins()
    assert environment.for_children()[environment.PYDANTIC_PLUGINS] == "logfire"


def test_git_is_started_in_one_place():
    """Every git incidentctl runs starts in store/git.py, in its controlled environment:
    no bare subprocess of git, no GitPython command elsewhere."""
    src = Path(incidentctl.__file__).parent
    starts_git = re.compile(
        r"""\[\s*["']git["']\s*,|^\s*(?:import git\b|from git\b)|\.cmd\.execute\(""", re.M
    )
    offenders = [
        str(path.relative_to(src))
        for path in sorted(src.rglob("*.py"))
        if path != src / "store" / "git.py" and starts_git.search(path.read_text("utf-8"))
    ]
    assert offenders == []


def test_the_cache_probe_runs_its_git_through_the_runner(tmp_path, monkeypatch):
    git(tmp_path, "init", "-q")
    (tmp_path / "incidents" / "2026").mkdir(parents=True)
    started: list[tuple[str, ...]] = []
    real_start = Git.start

    def spy(self, *args, **kwargs):
        started.append(args)
        return real_start(self, *args, **kwargs)

    monkeypatch.setattr(Git, "start", spy)
    repo = repo_module.IncidentRepo(tmp_path)
    assert repo.load_all() == ([], [])
    # the object store through one cat-file, the work tree's changes through status
    assert sorted(a[0] for a in started) == ["cat-file", "status"]
    assert not any("diff-index" in a for a in started)


def test_a_git_past_its_time_limit_is_stopped_with_what_it_started(tmp_path):
    git(tmp_path, "init", "-q")
    began = time.monotonic()
    done = Git(tmp_path).call("-c", "alias.slow=!sleep 30", "slow", timeout=0.5)
    assert done.timed_out and not done.ok
    assert time.monotonic() - began < 10  # the shell's sleep went too: no pipe held open


def test_a_fetch_past_its_time_limit_is_unreachable(tmp_path):
    git(tmp_path, "init", "-q", "--bare", "origin.git")
    clone = tmp_path / "clone"
    git(tmp_path, "init", "-q", str(clone))
    git(clone, "config", "remote.origin.url", str(tmp_path / "origin.git"))
    git(clone, "config", "remote.origin.uploadpack", "sleep 30; git-upload-pack")
    with pytest.raises(Unreachable) as err:
        Remote(Git(clone), "origin", 0.5, prompt=False).fetch_branch("main")
    assert err.value.message.endswith(
        'Timeout: the command "git fetch --no-tags origin '
        'refs/heads/main:refs/remotes/origin/main" did not complete in 0.5 secs.'
    )
