"""Reads come from the committed history, so a sparse work tree (only the open
incidents checked out, with a sparse index) reads like a full one (docs/storage.md)."""

from __future__ import annotations

import pytest

from conftest import Cli
from teamrepos import at


def _folders(cli: Cli) -> dict[str, str]:
    return {i["id"]: i["path"] for i in [cli("show", x, "--json").json() for x in _ids(cli)]}


def _ids(cli: Cli) -> list[str]:
    return [i["id"] for i in cli("list", "--all", "--json").json()]


def make_sparse(cli: Cli, *keep: str) -> None:
    """A cone-mode sparse checkout with a sparse index: the repo's own folders and `keep`."""
    cli.git("sparse-checkout", "set", "--cone", "--sparse-index", "runbooks", "templates", *keep)


@pytest.fixture
def two(cli):
    closed = cli.declare("an old outage", env=at(1))
    cli("note", closed, "the words of a closed incident", "--kind", "finding", env=at(2))
    cli("resolve", closed, "--root-cause", "x", "--resolution", "y", env=at(3))
    open_ = cli.declare("still burning", env=at(4))
    folders = _folders(cli)
    make_sparse(cli, folders[open_])
    assert not (cli.repo / folders[closed]).exists()  # only in the object store now
    assert (cli.repo / folders[open_]).is_dir()
    return closed, open_, folders


@pytest.mark.parametrize("cached", [False, True])
def test_a_sparse_work_tree_reads_every_incident_from_the_history(cli, two, cached):
    from incidentctl.store.cache import cache_path

    closed, open_, _ = two
    if not cached:
        cache_path(cli.repo).unlink(missing_ok=True)
    for args in (("list", "--all", "--json"), ("status",), ("metrics",)):
        result = cli(*args)
        assert result.code == 0 and "warning" not in result.err, result.err
    listed = {i["id"]: i["status"] for i in cli("list", "--all", "--json").json()}
    assert listed == {closed: "resolved", open_: "investigating"}
    shown = cli("show", closed, "--json")
    assert "the words of a closed incident" in [e.get("text") for e in shown.json()["timeline"]]
    assert shown.err == ""


def test_a_commit_in_sparse_mode_leaves_closed_incidents_alone(cli, two):
    closed, open_, folders = two
    before = cli.git("ls-tree", "HEAD", "--", folders[closed]).split()[2]
    cli("note", open_, "a new finding", env=at(5))
    cli("update", open_, "--status", "identified", "-m", "found it", env=at(6))
    assert cli.git("ls-tree", "HEAD", "--", folders[closed]).split()[2] == before
    assert cli.git("status", "--porcelain") == ""
    assert cli.git("show", "--name-only", "--format=", "HEAD").count("\n") == 1
    cli.git("fsck", "--no-progress")  # raises if not clean
    assert cli("verify").code == 0
    # the index stayed sparse: the closed incident is one sparse-directory entry
    listed = cli.git("ls-files", "--sparse", "--", "incidents/")
    assert f"{folders[closed].rsplit('/', 1)[0]}/" in listed or f"{folders[closed]}/" in listed


def test_a_changed_file_in_a_sparse_work_tree_is_read_as_committed(cli, two):
    _closed, open_, folders = two
    events = sorted((cli.repo / folders[open_] / "events").glob("*.toml"))
    events[0].write_text(events[0].read_text().replace("still burning", "rewritten"))
    result = cli("list", "--json")
    assert "differs from its commit" in result.err
    assert [i["title"] for i in result.json()] == ["still burning"]


def test_an_event_outside_the_work_tree_can_be_corrected(cli, two):
    """corrections find the event in git, not in the work tree, and the write path puts
    its folder in the cone before it writes there."""
    closed, _open, folders = two
    timeline = cli("show", closed, "--json").json()["timeline"]
    note = next(e["id"] for e in timeline if e["type"] == "note_added")
    cli("correct", note[:10], "--text", "the corrected words", env=at(7))
    view = cli("show", closed, "--json").json()
    assert next(e for e in view["timeline"] if e["id"] == note)["text"] == "the corrected words"
    assert (cli.repo / folders[closed]).is_dir()
    assert cli.git("status", "--porcelain") == ""
    assert cli("verify").code == 0
