"""Push races and push failures, against a bare repo by path and a real git server.

A race is normal: sync fetches, rebases and pushes again. Only a hook's refusal is
reported as one (with the hook's own lines); every other failure is classified and
explained in one line with its fix.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from conftest import Cli, git
from gitserver import GitServer, free_port, shared
from teamrepos import at, team


@pytest.fixture(params=["path", "git-daemon"])
def server(request) -> GitServer | None:
    return shared() if request.param == "git-daemon" else None


def _hook(origin: Path, body: str, name: str = "pre-receive") -> None:
    hook = origin / "hooks" / name
    hook.write_text("#!/bin/sh\n" + body)
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)


def _push_during_theirs(origin: Path, c: Cli, marker: Path) -> None:
    """While the server runs its pre-receive hook for a push, c's push lands first: the
    server then cannot move the branch from where the first push saw it ("cannot lock
    ref 'refs/heads/main': is at X but expected Y", as with two real pushes at once)."""
    _hook(
        origin,
        f"cat >/dev/null\n[ -e '{marker}' ] && exit 0\ntouch '{marker}'\n"
        "unset GIT_DIR GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY "
        "GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_PUSH_OPTION_COUNT\n"
        f"git -C '{c.repo}' push -q origin main >/dev/null 2>&1\n"
        "exit 0\n",
    )


def test_a_push_that_loses_the_race_on_the_server_is_retried(tmp_path, server):
    origin, (a, b, c) = team(tmp_path, ("a", "b", "c"), server=server)
    incident = a.declare(env=at(1))
    a("sync")
    c("sync")
    c("note", incident, "from c")  # committed; the server takes it during b's push
    _push_during_theirs(origin, c, tmp_path / "raced")
    b.declare("Another", env=at(2))

    synced = b("sync", "--json", env=at(3))

    data = synced.json()
    assert (data["retries"], data["races"]) == (1, 1)
    assert "someone pushed first" in synced.err
    assert "error" not in synced.err and "refused" not in synced.err
    assert git(origin, "rev-parse", "main") == b.git("rev-parse", "HEAD")
    b.git("merge-base", "--is-ancestor", c.git("rev-parse", "HEAD").strip(), "HEAD")


def test_a_hook_refusal_is_shown_with_its_own_lines_and_not_retried(tmp_path, server):
    origin, (a,) = team(tmp_path, ("a",), server=server)
    _hook(origin, "echo 'policy: incidents need a ticket' >&2\necho 'see go/policy' >&2\nexit 1\n")
    a.declare(env=at(1))
    head = a.git("rev-parse", "HEAD")

    refused = a("sync", ok=False)

    assert refused.code == 1
    assert refused.err.count("error: ") == 1
    assert "error: origin refused the push: policy: incidents need a ticket; see go/policy" in (
        refused.err
    )
    assert "retry" not in refused.err and "hint: the remote's hook" in refused.err
    assert a.git("rev-parse", "HEAD") == head


def test_a_protected_branch_says_so(tmp_path, server):
    origin, (a,) = team(tmp_path, ("a",), server=server)
    # what GitLab's hook says for a protected branch
    _hook(
        origin,
        "echo 'GitLab: You are not allowed to push code to protected branches on this "
        "project.' >&2\nexit 1\n",
    )
    a.declare(env=at(1))

    refused = a("sync", ok=False)

    assert refused.code == 1
    assert "error: origin/main is a protected branch: origin refused the push: GitLab:" in (
        refused.err
    )
    assert "hint: allow pushes (not force-pushes) to it" in refused.err


def test_failures_to_reach_the_remote_are_classified(tmp_path):
    _origin, (a,) = team(tmp_path, ("a",))
    a.declare(env=at(1))

    # what ssh says for a key the server does not know (a stand-in for ssh, on the path)
    a.git(
        "config",
        "remote.origin.receivepack",
        "echo 'git@example.com: Permission denied (publickey).' >&2; exit 128; :",
    )
    auth = a("sync", ok=False)
    assert auth.code == 1
    assert "error: origin (" in auth.err and "refused access: " in auth.err
    assert "Permission denied (publickey)" in auth.err and "offline" not in auth.err
    assert "hint: check your access: an SSH key" in auth.err
    a.git("config", "--unset", "remote.origin.receivepack")

    a.git("remote", "set-url", "origin", f"git://127.0.0.1:{free_port()}/team.git")
    offline = a("sync", ok=False)
    assert offline.code == 1 and offline.err.startswith("error: offline: cannot reach origin")
    assert "1 commit" in offline.err or "commits to push" in offline.err

    a.git("remote", "set-url", "origin", f"{shared().url}/no-such-team.git")
    missing = a("sync", ok=False)
    assert missing.code == 1 and "has no such repository" in missing.err
    assert "hint: check the URL (git remote -v)" in missing.err


def test_a_clone_on_another_branch_does_not_publish_a_second_history(tmp_path, server):
    origin, (a,) = team(tmp_path, ("a",), server=server)
    a.git("checkout", "-q", "-b", "mine")
    a.declare(env=at(1))

    refused = a("sync", ok=False)

    assert refused.code == 1
    assert "error: origin has no branch 'mine' (it has: main); nothing was pushed" in refused.err
    assert "git checkout main" in refused.err
    assert git(origin, "for-each-ref", "--format=%(refname)").split() == ["refs/heads/main"]


def test_giving_up_after_the_retries_names_the_last_race(tmp_path, server):
    origin, (a, b, c) = team(tmp_path, ("a", "b", "c"), server=server)
    incident = a.declare(env=at(1))
    a("sync")
    c("sync")
    c("note", incident, "from c")
    _push_during_theirs(origin, c, tmp_path / "raced")
    config = b.repo / "incidentctl.toml"
    config.write_text(config.read_text().replace("push_retries = 3", "push_retries = 0"))
    b.declare("Another", env=at(2))

    failed = b("sync", ok=False)

    assert failed.code == 1
    assert "error: origin/main kept moving: the push lost the race 1 time (last: " in failed.err
    assert "cannot lock ref" in failed.err or "fetch first" in failed.err
    assert "hint: others are pushing right now" in failed.err
