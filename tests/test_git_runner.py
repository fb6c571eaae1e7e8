"""The git runner: this repo only, git's own messages, and the user's environment."""

import os

import pytest

from conftest import git
from incidentctl import environment
from incidentctl.errors import GitError
from incidentctl.store.git import Git


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
