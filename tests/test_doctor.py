"""doctor finds what is wrong in the repo, and --fix repairs what can be repaired safely."""

import tomllib
from pathlib import Path

from conftest import Cli, git


def folder_of(cli: Cli, inc: str) -> Path:
    return cli.repo / cli("show", inc, "--json").json()["path"]


def test_clean_repo_is_ok(cli):
    cli.declare()
    result = cli("doctor")
    assert result.code == 0 and "ok: 1 incidents, 1 events" in result.err
    assert cli("doctor", "--json").json()["ok"] is True


def test_uncommitted_event_is_reported_then_committed_by_fix(cli):
    inc = cli.declare()
    events = folder_of(cli, inc) / "events"
    declared = next(events.glob("*.toml"))
    record = tomllib.loads(declared.read_text())
    # an event written by a command that died before its commit
    orphan = events / "20990101T000000.000Z-01ZZZZZZZZZZZZZZZZZZZZZZZX.toml"
    orphan.write_text(
        declared.read_text()
        .replace('type = "declared"', 'type = "note_added"')
        .split("human_id")[0]
        .replace(f'id = "{record["id"]}"', 'id = "01ZZZZZZZZZZZZZZZZZZZZZZZX"')
        + 'text = "left behind"\nkind = "finding"\n'
    )
    result = cli("doctor", ok=False)
    assert result.code == 1
    assert f"{orphan.relative_to(cli.repo)}: event file is not committed" in result.out
    before = cli.commits()
    fixed = cli("doctor", "--fix")
    assert "committed" in fixed.err
    assert cli.commits() == before + 1
    assert cli.git("show", "--name-only", "--format=", "HEAD").strip() == str(
        orphan.relative_to(cli.repo)
    )
    assert "Recovered: true" in cli.git("show", "-s", "--format=%B", "HEAD")
    assert cli("doctor").code == 0


def test_changed_deleted_and_malformed_files_are_named(cli):
    a = cli.declare("a")
    b = cli.declare("b")
    cli("note", a, "n")
    a_events = sorted((folder_of(cli, a) / "events").glob("*.toml"))
    a_events[-1].write_text(a_events[-1].read_text().replace('text = "n"', 'text = "rewritten"'))
    b_events = sorted((folder_of(cli, b) / "events").glob("*.toml"))
    b_events[0].unlink()
    bad = folder_of(cli, a) / "events" / "20260101T000000.000Z-01ZZZZZZZZZZZZZZZZZZZZZZZY.toml"
    bad.write_bytes(b"\xff\xfe not text")
    (cli.repo / "incidentctl.toml").write_text('[severity.P0]\nack_within = "soon"\n')
    report = cli("doctor", "--json", ok=False).json()
    problems = {(f["path"], f["problem"].split(" (")[0]) for f in report["findings"]}
    rel = lambda p: str(p.relative_to(cli.repo))  # noqa: E731
    assert (rel(a_events[-1]), "committed file changed") in problems
    assert (rel(b_events[0]), "committed file deleted") in problems
    assert any(path == rel(bad) and "not UTF-8" in problem for path, problem in problems)
    assert any(path == "incidentctl.toml" and "ack_within" in problem for path, problem in problems)
    assert report["ok"] is False


def test_init_writes_a_commit_graph_with_changed_paths_that_git_keeps(cli):
    from incidentctl.store import commitgraph
    from incidentctl.store.git import Git

    repo = Git(cli.repo)
    assert commitgraph.has_changed_paths(repo)
    assert git(cli.repo, "config", "fetch.writeCommitGraph").strip() == "true"
    for n in range(3):
        cli.declare(f"incident {n}")
    git(cli.repo, "gc", "-q")  # git's own maintenance rewrites the graph, filters kept
    assert commitgraph.has_changed_paths(repo)
    assert "commit-graph" not in cli("doctor").out + cli("doctor").err


def test_doctor_names_a_long_history_without_a_commit_graph_and_fix_writes_it(cli, monkeypatch):
    import shutil

    from incidentctl.store import commitgraph
    from incidentctl.store.git import Git

    cli.declare()
    info = cli.repo / ".git" / "objects" / "info"
    (info / "commit-graph").unlink(missing_ok=True)
    shutil.rmtree(info / "commit-graphs", ignore_errors=True)
    assert not commitgraph.has_changed_paths(Git(cli.repo))
    assert "commit-graph" not in cli("doctor").out  # a short history: nothing to say
    monkeypatch.setattr(commitgraph, "WORTH_IT_AFTER", 2)
    said = cli("doctor")
    assert "no commit-graph with changed-path filters" in said.out
    assert "doctor --fix repairs this" in said.out
    assert "commit-graph" in cli("doctor", "--fix").err
    assert commitgraph.has_changed_paths(Git(cli.repo))
    assert any((info / "commit-graphs").glob("graph-*.graph"))
    assert "commit-graph" not in cli("doctor").out


def test_stale_temp_file_is_removed_by_fix(cli):
    inc = cli.declare()
    tmp = folder_of(cli, inc) / "events" / ".x.toml.123.incidentctl-tmp"
    tmp.write_text("half")
    assert "stale temp file" in cli("doctor").out
    cli("doctor", "--fix")
    assert not tmp.exists()
    assert cli.git("status", "--porcelain") == ""


def test_journal_recovery_by_next_command(cli):
    """A command killed between writing its event and committing it leaves a journal
    entry; the next command commits that event before its own."""
    inc = cli.declare()
    events = folder_of(cli, inc) / "events"
    declared = next(events.glob("*.toml"))
    uid = tomllib.loads(declared.read_text())["incident"]
    event_id = "01ZZZZZZZZZZZZZZZZZZZZZZZW"
    path = events / f"20990101T000000.000Z-{event_id}.toml"
    path.write_text(
        f'type = "note_added"\nid = "{event_id}"\nincident = "{uid}"\n'
        'at = "2026-01-01T00:00:00+00:00"\nrecorded_at = "2026-01-01T00:00:00+00:00"\n'
        'author = "x"\nschema = 1\ntext = "from the crash"\nkind = "finding"\n'
    )
    journal = cli.repo / ".git" / "incidentctl" / "pending" / event_id
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_text(
        f"{path.relative_to(cli.repo)}\n{inc}: finding: from the crash\n\nEvent: {event_id}"
    )
    result = cli("note", inc, "after the crash")
    assert "recovered" in result.err
    assert not journal.exists()
    subjects = cli.git("log", "--format=%s", "-2").splitlines()
    assert subjects == [f"{inc}: note: after the crash", f"{inc}: finding: from the crash"]
    assert cli.git("status", "--porcelain") == ""
