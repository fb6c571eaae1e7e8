"""The sparse work tree new repos get, and full checkouts, behave the same
(docs/storage.md, "The work tree"): every behaviour here runs in both modes."""

from __future__ import annotations

import subprocess

import pytest

from conftest import Cli, run_cli
from teamrepos import bare_origin

OLD = "2026-01-05"  # a day whose resolved incidents are past the 30-day window by NEW
NEW = "2026-03-02"


def when(day: str, minute: int) -> dict[str, str]:
    return {"INCIDENTCTL_NOW": f"{day}T10:{minute:02d}:00Z"}


@pytest.fixture(params=["sparse", "full"])
def checkout_mode(request, monkeypatch) -> str:
    monkeypatch.setenv("INCIDENTCTL_CHECKOUT", request.param)
    return request.param


@pytest.fixture
def made(tmp_path, checkout_mode) -> Cli:
    path = tmp_path / "repo"
    result = run_cli("init", str(path))
    assert result.code == 0, result.err
    return Cli(path)


def _folder(cli: Cli, ref: str) -> str:
    return cli("show", ref, "--json").json()["path"]


def _sparse(cli: Cli) -> bool:
    got = subprocess.run(
        ["git", "config", "--get", "core.sparseCheckout"],
        cwd=cli.repo,
        capture_output=True,
        text=True,
    )
    return got.stdout.strip() == "true"


def _closed_trees(cli: Cli) -> dict[str, str]:
    """The tree id of every closed incident's folder at HEAD."""
    trees = {}
    for item in cli("list", "--all", "--json").json():
        if item["status"] == "resolved":
            path = _folder(cli, item["id"])
            trees[path] = cli.git("rev-parse", f"HEAD:{path}").strip()
    return trees


@pytest.fixture
def history(made):
    """Two incidents resolved long ago, one resolved recently, one open (NEW's)."""
    return _add_history(made)


def _add_history(cli: Cli) -> tuple[Cli, list[str], str, str]:
    old = [cli.declare(f"old outage {i}", env=when(OLD, i)) for i in (1, 2)]
    for i, ref in enumerate(old):
        cli("note", ref, f"the words of old outage {i + 1}", "--kind", "finding", env=when(OLD, 5))
        cli("resolve", ref, "--root-cause", "x", "--resolution", "y", "--force", env=when(OLD, 9))
    recent = cli.declare("last week", env=when("2026-02-24", 1))
    cli("resolve", recent, "--root-cause", "x", "--resolution", "y", "--force", env=when(NEW, 0))
    open_ = cli.declare("burning now", env=when(NEW, 1))  # the first write of NEW
    return cli, old, recent, open_


def test_new_repos_are_sparse_unless_told(made, checkout_mode):
    assert _sparse(made) is (checkout_mode == "sparse")
    if checkout_mode == "sparse":
        # a sparse index too: commits rewrite an index of the cone only
        assert made.git("config", "--get", "index.sparse").strip() == "true"
        cone = made.git("sparse-checkout", "list").split()
        assert {"runbooks", "templates", "oncall", "drills"} <= set(cone)


def test_the_cone_holds_open_and_recent_incidents(history, checkout_mode):
    cli, old, recent, open_ = history
    for ref in old:
        assert (cli.repo / _folder(cli, ref)).is_dir() is (checkout_mode == "full")
    for ref in (recent, open_):
        assert (cli.repo / _folder(cli, ref)).is_dir()
    assert (cli.repo / "incidentctl.toml").is_file()
    assert cli.git("status", "--porcelain") == ""


def test_reads_and_writes_are_the_same_in_both_modes(history):
    cli, old, recent, open_ = history
    env = when(NEW, 10)
    cli("ack", open_, env=env)
    cli("update", open_, "--status", "identified", "-m", "found it", env=when(NEW, 11))
    cli("note", open_, "scaled the pool", env=when(NEW, 12))
    # a note on an old closed incident outside the cone: its folder joins the cone first
    cli("note", old[0], "a late finding", "--kind", "finding", env=when(NEW, 13))
    assert (cli.repo / _folder(cli, old[0])).is_dir()
    listed = {i["id"]: i["status"] for i in cli("list", "--all", "--json").json()}
    assert listed == {
        old[0]: "resolved",
        old[1]: "resolved",
        recent: "resolved",
        open_: "identified",
    }
    shown = cli("show", old[1], "--json")
    assert "the words of old outage 2" in [e.get("text") for e in shown.json()["timeline"]]
    assert shown.err == ""
    for args in (("status",), ("metrics",), ("list",), ("show", old[1]), ("log", old[1])):
        result = cli(*args, env=env)
        assert "warning" not in result.err, (args, result.err)
    cli(
        "resolve",
        open_,
        "--root-cause",
        "pool",
        "--resolution",
        "big",
        "--force",
        env=when(NEW, 14),
    )
    cli("reopen", old[1], "-m", "it came back", env=when(NEW, 15))
    assert (cli.repo / _folder(cli, old[1])).is_dir()
    assert cli("show", old[1], "--json").json()["status"] != "resolved"
    assert cli.git("status", "--porcelain") == ""
    assert cli("verify").code == 0
    cli.git("fsck", "--no-progress")


def test_corrections_and_the_review_of_an_incident_outside_the_cone(history):
    cli, old, _recent, _open = history
    timeline = cli("show", old[0], "--json").json()["timeline"]
    note = next(e["id"] for e in timeline if e["type"] == "note_added")
    cli("correct", note[:12].lower(), "--text", "the corrected words", env=when(NEW, 20))
    view = cli("show", old[0], "--json").json()
    assert next(e for e in view["timeline"] if e["id"] == note)["text"] == "the corrected words"
    cli("retract", note, "-m", "wrong incident", env=when(NEW, 21))
    assert cli("show", old[0], "--json").json()["corrections"][note]["status"] == "retracted"
    cli("pir", "generate", old[1], "--commit", env=when(NEW, 22))
    assert (cli.repo / _folder(cli, old[1]) / "pir.md").is_file()
    assert cli.git("status", "--porcelain") == ""
    assert cli("verify").code == 0


def test_a_commit_leaves_every_closed_incidents_tree_alone_and_fsck_clean(history):
    cli, _old, _recent, open_ = history
    before = _closed_trees(cli)
    assert len(before) == 3
    index_before = cli.git("ls-files", "--sparse").count("\n")
    cli("note", open_, "one more finding", env=when(NEW, 30))
    cli("update", open_, "--status", "monitoring", "-m", "watching", env=when(NEW, 31))
    cli.declare("another one", env=when(NEW, 32))
    assert _closed_trees(cli) == before
    cli.git("fsck", "--no-progress", "--strict")  # raises if not clean
    assert cli.git("status", "--porcelain") == ""
    assert cli.git("show", "--name-only", "--format=", "HEAD").strip().count("\n") == 0
    if _sparse(cli):
        # the index stays the cone's size: closed incidents are sparse-directory entries
        after = cli.git("ls-files", "--sparse").count("\n")
        assert after <= index_before + 4
        assert "/events/" not in "".join(
            line for line in cli.git("ls-files", "--sparse").splitlines() if "old-outage" in line
        )
    assert cli("verify").code == 0


def test_resolved_incidents_leave_the_cone_after_the_window_at_the_next_write(made):
    cli = made
    ref = cli.declare("short one", env=when(OLD, 1))
    cli("resolve", ref, "--root-cause", "x", "--resolution", "y", "--force", env=when(OLD, 2))
    folder = cli.repo / _folder(cli, ref)
    cli("list", env=when(NEW, 0))  # a read never changes the work tree
    assert folder.is_dir()
    cli.declare("next one", env=when(NEW, 1))
    assert folder.is_dir() is not _sparse(cli)
    assert cli("show", ref, "--json").json()["status"] == "resolved"
    assert cli.git("status", "--porcelain") == ""


def test_the_window_is_configurable(made):
    cli = made
    config = cli.repo / "incidentctl.toml"
    text = config.read_text()
    assert 'checkout_window = "30d"' in text  # the default, written by init
    config.write_text(text.replace('checkout_window = "30d"', 'checkout_window = "400d"'))
    cli.git("commit", "-qm", "a long window", "--", "incidentctl.toml")
    ref = cli.declare("short one", env=when(OLD, 1))
    cli("resolve", ref, "--root-cause", "x", "--resolution", "y", "--force", env=when(OLD, 2))
    cli.declare("next one", env=when(NEW, 1))
    assert (cli.repo / _folder(cli, ref)).is_dir()


def test_a_bad_window_is_refused_like_any_config_error(made):
    config = made.repo / "incidentctl.toml"
    config.write_text(
        config.read_text().replace('checkout_window = "30d"', 'checkout_window = "soon"')
    )
    result = made("list", ok=False)
    assert result.code == 1 and "storage.checkout_window" in result.err


def test_checkout_brings_closed_incidents_into_the_work_tree(history):
    cli, old, _recent, _open = history
    sparse = _sparse(cli)
    result = cli("checkout", old[0], "--json").json()
    assert result["sparse"] is sparse
    assert (cli.repo / _folder(cli, old[0])).is_dir()
    assert (cli.repo / _folder(cli, old[1])).is_dir() is not sparse
    # kept past the next day's refresh of the cone
    cli("note", _open, "next day", env=when("2026-03-03", 1))
    assert (cli.repo / _folder(cli, old[0])).is_dir()
    cli("checkout", "--all")
    assert all((cli.repo / _folder(cli, ref)).is_dir() for ref in old)
    if sparse:
        assert cli.git("config", "--get", "index.sparse").strip() == "true"
    cli("checkout", "--done", env=when("2026-03-03", 2))
    assert (cli.repo / _folder(cli, old[1])).is_dir() is not sparse
    assert cli.git("status", "--porcelain") == ""
    assert cli("checkout", ok=False).code == 2


def test_doctor_offers_the_conversion_of_a_full_checkout_and_fix_does_it(tmp_path, monkeypatch):
    monkeypatch.setenv("INCIDENTCTL_CHECKOUT", "full")
    assert run_cli("init", str(tmp_path / "r")).code == 0
    cli = Cli(tmp_path / "r")
    old = cli.declare("old outage", env=when(OLD, 1))
    cli("resolve", old, "--root-cause", "x", "--resolution", "y", "--force", env=when(OLD, 2))
    open_ = cli.declare("burning now", env=when(NEW, 1))
    assert not _sparse(cli)
    report = cli("doctor", "--json", env=when(NEW, 2)).json()
    offered = [f for f in report["findings"] if "full checkout" in f["problem"]]
    assert offered and offered[0]["fixable"] and offered[0]["level"] == "warning", report
    assert report["ok"]
    fixed = cli("doctor", "--fix", "--json", env=when(NEW, 3)).json()
    assert any("sparse checkout" in line for line in fixed["fixed"]), fixed
    assert _sparse(cli)
    assert cli.git("config", "--get", "index.sparse").strip() == "true"
    assert not (cli.repo / _folder(cli, old)).exists()
    assert (cli.repo / _folder(cli, open_)).is_dir()
    assert cli.git("status", "--porcelain") == ""
    again = cli("doctor", "--json", env=when(NEW, 4)).json()
    assert not [f for f in again["findings"] if "full checkout" in f["problem"]]
    cli("note", old, "after the conversion", env=when(NEW, 5))
    assert cli("verify").code == 0


def test_a_full_checkout_with_nothing_to_gain_is_not_offered_the_conversion(tmp_path, monkeypatch):
    monkeypatch.setenv("INCIDENTCTL_CHECKOUT", "full")
    assert run_cli("init", str(tmp_path / "r")).code == 0
    cli = Cli(tmp_path / "r")
    cli.declare("burning now")
    report = cli("doctor", "--json").json()
    assert report["findings"] == [], report


def test_init_leaves_an_existing_git_repo_a_full_checkout(tmp_path, monkeypatch):
    monkeypatch.setenv("INCIDENTCTL_CHECKOUT", "sparse")
    root = tmp_path / "mine"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "a.md").write_text("mine\n")
    Cli(root).git("init", "-q")
    Cli(root).git("add", "docs")
    Cli(root).git("commit", "-qm", "docs")
    assert run_cli("init", str(root)).code == 0
    assert not _sparse(Cli(root))
    assert (root / "docs" / "a.md").is_file()


@pytest.mark.parametrize("first,second", [("sparse", "full"), ("full", "sparse")])
def test_sync_between_a_sparse_and_a_full_clone(tmp_path, monkeypatch, first, second):
    origin = bare_origin(tmp_path)
    monkeypatch.setenv("INCIDENTCTL_CHECKOUT", first)
    assert run_cli("init", str(tmp_path / "a"), "--remote", str(origin)).code == 0
    a = Cli(tmp_path / "a")
    old = a.declare("old outage", env=when(OLD, 1))
    a("resolve", old, "--root-cause", "x", "--resolution", "y", "--force", env=when(OLD, 2))
    a("sync")
    monkeypatch.setenv("INCIDENTCTL_CHECKOUT", second)
    result = run_cli("clone", str(origin), str(tmp_path / "b"), env=when(NEW, 0))
    assert result.code == 0, result.err
    b = Cli(tmp_path / "b")
    assert _sparse(a) is (first == "sparse") and _sparse(b) is (second == "sparse")
    # a clone's cone: the old incident is past the window
    assert (b.repo / _folder(b, old)).is_dir() is (second == "full")
    from_b = b.declare("seen from b", env=when(NEW, 1))
    b("note", old, "b looked again", env=when(NEW, 2))
    b("sync")
    a("sync")
    a("note", from_b, "a joins in", env=when(NEW, 3))
    a("sync")
    b("sync")
    for cli in (a, b):
        listed = {i["id"] for i in cli("list", "--all", "--json").json()}
        assert listed == {old, from_b}
        texts = [e.get("text") for e in cli("show", from_b, "--json").json()["timeline"]]
        assert "a joins in" in texts
        assert "b looked again" in [
            e.get("text") for e in cli("show", old, "--json").json()["timeline"]
        ]
        assert cli.git("status", "--porcelain") == ""
        assert cli("verify").code == 0
        cli.git("fsck", "--no-progress")
        # an open incident that came in by a sync is in the work tree
        assert (cli.repo / _folder(cli, from_b)).is_dir()
    assert a.git("rev-parse", "HEAD") == b.git("rev-parse", "HEAD")


# -- clone ----------------------------------------------------------------------------


@pytest.fixture
def published(tmp_path, monkeypatch):
    """A team origin holding the history above: two incidents resolved long ago, one
    resolved recently, one open; published from a full checkout."""
    origin = bare_origin(tmp_path)
    monkeypatch.setenv("INCIDENTCTL_CHECKOUT", "full")
    assert run_cli("init", str(tmp_path / "a"), "--remote", str(origin)).code == 0
    cli, old, recent, open_ = _add_history(Cli(tmp_path / "a"))
    cli("sync", env=when(NEW, 2))
    return origin, cli, old, recent, open_


def _clone(tmp_path, monkeypatch, origin, mode: str = "sparse") -> Cli:
    monkeypatch.setenv("INCIDENTCTL_CHECKOUT", mode)
    result = run_cli("clone", str(origin), str(tmp_path / "b"), env=when(NEW, 30))
    assert result.code == 0, result.err
    return Cli(tmp_path / "b")


def _wanted_by_load_all(root, window_days: int = 30) -> set[str]:
    """The cone's incident folders as store/sparse.py documents them, from a fold of
    every incident (load_all): open, or resolved within the window of NEW."""
    from datetime import UTC, datetime, timedelta

    from incidentctl.store.repo import IncidentRepo

    repo = IncidentRepo(root)
    since = datetime.fromisoformat(f"{NEW}T10:30:00").replace(tzinfo=UTC) - timedelta(
        days=window_days
    )
    loaded, _ = repo.load_all(use_cache=False)
    return {
        repo.rel(item.folder)
        for item in loaded
        if item.state.status != "resolved"
        or item.state.resolved_at is None
        or item.state.resolved_at >= since
    }


def test_a_clones_cone_is_the_open_and_recent_incidents_exactly(tmp_path, monkeypatch, published):
    origin, a, old, recent, open_ = published
    b = _clone(tmp_path, monkeypatch, origin)
    assert _sparse(b) and b.git("config", "--get", "index.sparse").strip() == "true"
    incidents = {f for f in b.git("sparse-checkout", "list").split() if f.startswith("incidents/")}
    assert incidents == {_folder(b, recent), _folder(b, open_)}
    assert incidents == _wanted_by_load_all(a.repo)  # the fold's answer, in the full origin
    assert set(b.git("sparse-checkout", "list").split()) - incidents == {
        "runbooks",
        "templates",
        "oncall",
        "drills",
    }
    for ref in old:
        assert not (b.repo / _folder(b, ref)).exists()
    for ref in (recent, open_):
        assert (b.repo / _folder(b, ref) / "events").is_dir()
    assert (b.repo / "incidentctl.toml").is_file()
    assert b.git("status", "--porcelain") == ""
    assert b("verify").code == 0
    listed = {i["id"] for i in b("list", "--all", "--json").json()}
    assert listed == {*old, recent, open_}


def test_a_clone_never_writes_an_index_of_every_file(tmp_path, monkeypatch, published):
    """The clone checks nothing out before the cone is set with a sparse index: no git
    it runs reads or writes an index entry for the files of the incidents outside the
    cone (at N = 10,000, an index of 180,000 entries cost git 500 MB)."""
    origin, a, old, _recent, _open = published
    trace = tmp_path / "trace2.json"
    monkeypatch.setenv("GIT_TRACE2_EVENT", str(trace))
    b = _clone(tmp_path, monkeypatch, origin)
    monkeypatch.delenv("GIT_TRACE2_EVENT")
    import json

    sizes = [
        int(event["value"])
        for event in map(json.loads, trace.read_text().splitlines())
        if event.get("event") == "data" and event.get("key") in ("read/cache_nr", "write/cache_nr")
    ]
    assert sizes, "git wrote no index"
    every = len(b.git("ls-tree", "-r", "--name-only", "HEAD").split())
    outside = sum(
        len(b.git("ls-tree", "-r", "--name-only", "HEAD", _folder(a, ref)).split()) for ref in old
    )
    assert outside > len(old)
    # the cone's files, and at most one entry (a sparse directory) per folder outside it
    assert max(sizes) <= every - outside + len(old)


def test_a_clone_leaves_the_state_cache_warm(tmp_path, monkeypatch, published):
    """Every incident is in the state cache under its folder's tree id, and each folder
    the cone checked out with its events/ noted: the first read after a clone folds
    nothing and writes no cache."""
    import os

    from incidentctl.store.cache import StateCache, cache_path

    origin, _a, old, recent, open_ = published
    b = _clone(tmp_path, monkeypatch, origin)
    folders = StateCache(b.repo).read()["folders"]
    for ref in (*old, recent, open_):
        path = _folder(b, ref)
        entry = folders[path.rsplit("/", 1)[-1]]
        assert entry[0] == b.git("rev-parse", f"HEAD:{path}").strip()
        events = b.repo / path / "events"
        if events.is_dir():  # -1: noted too close to its change, looked at again next time
            assert entry[1] in (os.stat(events).st_mtime_ns, -1)
        else:
            assert entry[1] is None
    index = cache_path(b.repo)
    before = index.stat().st_mtime_ns
    if all(e[1] != -1 for e in folders.values()):
        b("list", "--all")
        assert index.stat().st_mtime_ns == before


def test_a_full_clone_checks_everything_out(tmp_path, monkeypatch, published):
    origin, _a, old, recent, open_ = published
    b = _clone(tmp_path, monkeypatch, origin, mode="full")
    assert not _sparse(b)
    for ref in (*old, recent, open_):
        assert (b.repo / _folder(b, ref) / "events").is_dir()
    assert b.git("status", "--porcelain") == ""


@pytest.mark.parametrize("cached", [False, True])
def test_the_wanted_folders_are_the_folds_answer(history, cached):
    """Chosen from the briefs (open) and the resolution times (resolved), one state at
    a time, from a cold read or from the cache: the same folders as a fold of all."""
    from datetime import UTC, datetime, timedelta

    from incidentctl.store import sparse
    from incidentctl.store.cache import cache_path
    from incidentctl.store.repo import IncidentRepo

    cli, old, recent, open_ = history
    index = cache_path(cli.repo)
    for path in index.parent.glob(index.name.split(".")[0] + ".*"):
        path.unlink()
    if cached:
        IncidentRepo(cli.repo).load_all()
    now = datetime.fromisoformat(f"{NEW}T10:30:00").replace(tzinfo=UTC)
    got = sparse.wanted_folders(IncidentRepo(cli.repo), timedelta(days=30), now)
    assert got == _wanted_by_load_all(cli.repo) == {_folder(cli, recent), _folder(cli, open_)}
    # a window long enough takes the old ones in too
    got = sparse.wanted_folders(IncidentRepo(cli.repo), timedelta(days=365), now)
    assert (
        got
        == _wanted_by_load_all(cli.repo, 365)
        == {_folder(cli, ref) for ref in (*old, recent, open_)}
    )


@pytest.mark.parametrize("mode", ["sparse", "full"])
def test_a_clone_writes_a_commit_graph_with_changed_paths(tmp_path, monkeypatch, published, mode):
    """git's clone writes no commit-graph; a path-limited `log` (incidentctl log, pir
    generate) would then parse every commit of a long history (store/commitgraph.py)."""
    from incidentctl.store import commitgraph
    from incidentctl.store.git import Git

    origin, _a, old, _recent, _open = published
    b = _clone(tmp_path, monkeypatch, origin, mode=mode)
    assert commitgraph.has_changed_paths(Git(b.repo))
    assert b.git("config", "fetch.writeCommitGraph").strip() == "true"
    assert b("log", old[0]).code == 0
