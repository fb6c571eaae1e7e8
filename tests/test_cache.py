"""The state cache is never stale: every way a folder can change bypasses or replaces it."""

import os
from pathlib import Path

import pytest

from conftest import Cli, git, run_cli


def titles(cli: Cli) -> dict[str, str]:
    return {i["id"]: (i["title"], i["status"]) for i in cli("list", "--all", "--json").json()}


def cache_file(repo: Path) -> Path:
    from incidentctl.store.cache import cache_path

    return cache_path(repo)


def folder_reads(monkeypatch) -> list[str]:
    """The incident folders that commands (run in this process) read from their event
    files from now on: what the cache did not answer."""
    from incidentctl.store.repo import IncidentRepo

    reads: list[str] = []
    load = IncidentRepo.load

    def counted(self, folder, *args, **kwargs):
        reads.append(Path(folder).name)
        return load(self, folder, *args, **kwargs)

    monkeypatch.setattr(IncidentRepo, "load", counted)
    return reads


def test_cache_is_written_outside_tracked_files_and_used(cli, monkeypatch):
    inc = cli.declare("first")
    reads = folder_reads(monkeypatch)
    assert titles(cli) == {inc: ("first", "investigating")}
    assert len(reads) == 1  # a cold cache: the folder was read
    assert cache_file(cli.repo).is_file()
    # in the user's cache dir, keyed by the repo's path: never in the repo
    assert cache_file(cli.repo).is_relative_to(Path(os.environ["XDG_CACHE_HOME"]))
    assert not (cli.repo / ".git" / "incidentctl" / "cache").exists()
    assert cli.git("status", "--porcelain") == ""
    # a second read gives the same answer from the cache, without reading the folder
    reads.clear()
    assert titles(cli) == {inc: ("first", "investigating")}
    assert reads == []


def test_new_events_from_a_pull_are_seen(tmp_path):
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli("init", str(a)).code == 0
    git(a, "remote", "add", "origin", str(origin))
    git(a, "push", "-q", "origin", "HEAD:main")
    git(tmp_path, "clone", "-q", str(origin), str(b))
    ca, cb = Cli(a), Cli(b)
    inc = ca.declare("shared")
    git(a, "push", "-q", "origin", "HEAD:main")
    git(b, "pull", "-q", "origin", "main")
    assert titles(cb)[inc] == ("shared", "investigating")  # b's cache now holds it
    ca("update", inc, "--status", "identified")
    git(a, "push", "-q", "origin", "HEAD:main")
    git(b, "pull", "-q", "origin", "main")
    assert titles(cb)[inc] == ("shared", "identified")


def test_checkout_of_an_older_commit_is_seen(cli):
    inc = cli.declare("time travel")
    old = cli.git("rev-parse", "HEAD").strip()
    cli("resolve", inc, "--root-cause", "x", "--resolution", "y")
    assert titles(cli)[inc][1] == "resolved"
    cli.git("checkout", "-q", old)
    assert titles(cli)[inc][1] == "investigating"
    cli.git("checkout", "-q", "-")
    assert titles(cli)[inc][1] == "resolved"


def test_a_hand_edited_file_is_seen(cli):
    inc = cli.declare("original title")
    assert titles(cli)[inc][0] == "original title"
    folder = cli.repo / cli("show", inc, "--json").json()["path"]
    declared = next((folder / "events").glob("*.toml"))
    # rewrite in place: the folder's mtime does not change, only the file's
    with declared.open("r+") as fh:
        text = fh.read().replace("original title", "edited by hand")
        fh.seek(0)
        fh.write(text)
        fh.truncate()
    # seen, and reported: the committed content is what is read (DESIGN invariant 11)
    result = cli("list", "--all", "--json")
    assert "differs from its commit" in result.err
    assert {i["id"]: i["title"] for i in result.json()}[inc] == "original title"
    # committed, the edit is what is shown
    cli.git("commit", "-qam", "hand edit")
    assert titles(cli)[inc][0] == "edited by hand"


def test_a_corrupt_cache_is_reported_and_rebuilt(cli):
    inc = cli.declare("survives")
    titles(cli)
    path = cache_file(cli.repo)
    data = bytearray(path.read_bytes())
    data[-10:] = b"\x00" * 10
    path.write_bytes(bytes(data))
    result = cli("list", "--all", "--json")
    assert [i["id"] for i in result.json()] == [inc]
    assert "warning: the state cache" in result.err and "corrupt" in result.err
    assert "Traceback" not in result.err
    # rebuilt: the next run is quiet
    assert "warning" not in cli("list", "--all", "--json").err
    path.write_bytes(b"garbage")
    result = cli("list", "--all", "--json")
    assert [i["id"] for i in result.json()] == [inc] and "corrupt" in result.err


def test_timeline_of_a_cached_incident_is_read_on_demand(cli, monkeypatch):
    from incidentctl.store.repo import IncidentRepo, LazyTimeline

    inc = cli.declare("lazy")
    cli("note", inc, "a note")
    titles(cli)  # fills the cache
    reads = folder_reads(monkeypatch)
    (item,), _problems = IncidentRepo(cli.repo).load_all()
    # a cache hit: the state came without its timeline, and no file was read for it
    assert isinstance(item.state.timeline, LazyTimeline) and reads == []
    # asked for, the timeline is read from the files, complete
    assert [e.type for e in item.state.timeline] == ["declared", "note_added"]
    assert len(reads) == 1
    assert [e["type"] for e in cli("show", inc, "--json").json()["timeline"]] == [
        "declared",
        "note_added",
    ]


@pytest.mark.parametrize("chunk", [250, 1])
def test_a_cold_read_by_worker_processes_matches_one_process(cli, monkeypatch, chunk):
    # (chunk 1: each incident a chunk of its own, more chunks than workers)
    monkeypatch.setattr("incidentctl.store.repo.CHUNK_INCIDENTS", chunk)
    # a cold cache with many incidents is read by forked workers; the result, problems
    # included, must be what one process reads
    import dataclasses

    from incidentctl.store.repo import IncidentRepo

    incs = [cli.declare(f"incident {i}") for i in range(3)]
    cli("note", incs[0], "a note")
    cli("resolve", incs[1], "--root-cause", "x", "--resolution", "y")
    folder = cli.repo / cli("show", incs[2], "--json").json()["path"]
    (folder / "events" / "2026-01-01T00-00-00Z-broken.toml").write_text("type = [")
    broken = cli.repo / "incidents" / "2026" / "01KAAAAAAAAAAAAAAAAAAAAAAA-empty"
    (broken / "events").mkdir(parents=True)

    def read(parallel_min):
        loaded, problems = IncidentRepo(cli.repo).load_all(
            use_cache=False, parallel_min=parallel_min
        )
        states = [dataclasses.replace(i.state, timeline=list(i.state.timeline)) for i in loaded]
        return states, [str(p) for p in problems]

    one, many = read(10**9), read(1)
    repo = IncidentRepo(cli.repo)
    folders = repo.incident_folder_paths()
    assert set(repo._read_in_parallel(folders)) == set(folders)  # the workers did run
    assert many == one
    assert len(one[0]) == 3 and len(one[1]) == 2  # the broken file and the empty incident
    assert [e.type for e in many[0][0].timeline] == ["declared", "note_added"]


def test_each_repo_has_its_own_cache(tmp_path):
    a, b = Cli(tmp_path / "a"), Cli(tmp_path / "b")
    for cli in (a, b):
        assert run_cli("init", str(cli.repo)).code == 0
    one, two = a.declare("in a"), b.declare("in b")
    assert titles(a) == {one: ("in a", "investigating")}
    assert titles(b) == {two: ("in b", "investigating")}
    assert cache_file(a.repo) != cache_file(b.repo)
    assert cache_file(a.repo).is_file() and cache_file(b.repo).is_file()


def shard_reads(monkeypatch) -> list[bool]:
    """Which of the cache's states files (True: the open incidents', False: the
    resolved ones') commands run in this process read from now on."""
    from incidentctl.store.cache import StateCache

    reads: list[bool] = []
    states = StateCache.states

    def counted(self, open_):
        reads.append(open_)
        return states(self, open_)

    monkeypatch.setattr(StateCache, "states", counted)
    return reads


def test_a_listing_unpickles_only_the_states_it_lists(cli, monkeypatch):
    env = {"INCIDENTCTL_NOW": "2026-02-12T15:00:00Z"}
    burning = cli.declare("still burning", env=env)
    done = cli.declare("put out", env=env)
    cli("resolve", done, "--root-cause", "x", "--resolution", "y", env=env)
    cli("list", "--all")  # the cache
    reads, folds = shard_reads(monkeypatch), folder_reads(monkeypatch)
    listed = cli("list", "--json").json()
    assert [i["id"] for i in listed] == [burning]
    assert False not in reads  # no resolved incident's state was unpickled
    assert folds == []
    every = cli("list", "--all", "--json").json()
    assert {i["id"] for i in every} == {burning, done}
    assert False in reads and folds == []


def test_status_from_its_cache_says_what_a_fresh_read_says(cli, monkeypatch):
    env = {"INCIDENTCTL_NOW": "2026-02-12T15:00:00Z"}
    cli.declare("still burning", severity="P1", env=env)
    owing = []
    for n in range(3):
        inc = cli.declare(f"old P0 number {n}", severity="P0", env=env)
        cli("resolve", inc, "--root-cause", "x", "--resolution", "y", env=env)
        owing.append(inc)
    later = {"INCIDENTCTL_NOW": "2026-03-12T15:00:00Z"}  # every review is overdue by now
    first = cli("status", "--json", env=later).json()
    import incidentctl.services.clocks as clocks

    computed: list[str] = []
    clocks_of = clocks.clocks_of

    def counted(state, config, now):
        computed.append(state.human_id)
        return clocks_of(state, config, now)

    monkeypatch.setattr(clocks, "clocks_of", counted)
    folds = folder_reads(monkeypatch)
    again = cli("status", env=later)
    # the resolved ones' obligations came from the cache: only the open one was computed
    assert len(computed) == 1 and computed[0] not in owing
    assert folds == []
    assert again.out.count("old P0 number") == 3
    assert cli("status", "--json", env=later).json() == first
    # never stale: recording the review changes the folder's tree id
    cli("pir", "complete", owing[0], "-m", "held", "--at", "2026-02-14T11:00Z", env=later)
    after = cli("status", "--json", env=later).json()
    assert owing[0] not in {i["id"] for i in after["incidents"]}
    assert len(after["incidents"]) == len(first["incidents"]) - 1
    # a clock set back before the cached look looks again, and says the same
    assert cli("status", "--json", env=env).json()["incidents"]


def test_a_warm_status_counts_the_cached_obligations_from_its_own_now(cli):
    """The cached obligations of resolved incidents are counted from the time of the
    report that uses them, not of the one that cached them: warm and cold agree."""
    env = {"INCIDENTCTL_NOW": "2026-02-12T15:00:00Z"}
    for n in range(2):
        inc = cli.declare(f"old P0 number {n}", severity="P0", env=env)
        cli("resolve", inc, "--root-cause", "x", "--resolution", "y", env=env)
    cli.declare("still burning", severity="P1", env=env)
    cli("status", "--json", env={"INCIDENTCTL_NOW": "2026-02-13T15:00:00Z"})  # cached here
    later = {"INCIDENTCTL_NOW": "2026-03-12T16:30:00Z"}
    warm = cli("status", "--json", env=later).json()
    for path in cache_file(cli.repo).parent.iterdir():
        path.unlink()
    cold = cli("status", "--json", env=later).json()
    assert warm == cold
    owed = [o for i in warm["incidents"] for o in i["obligations"]]
    assert owed and any(o["overdue"] for o in owed)
    assert warm["overdue"] is True


def test_status_takes_in_an_event_written_but_not_committed(cli):
    """A crash between an event's write and its commit leaves the folder's tree id at
    HEAD as it was: the fold takes the event in, and so must status, not what it cached
    of the incident under that tree id."""
    env = {"INCIDENTCTL_NOW": "2026-02-12T15:00:00Z"}
    inc = cli.declare("old P0", severity="P0", env=env)
    cli("resolve", inc, "--root-cause", "x", "--resolution", "y", env=env)
    later = {"INCIDENTCTL_NOW": "2026-02-13T15:00:00Z"}
    owed = cli("status", "--json", env=later).json()["incidents"]
    assert [i["id"] for i in owed] == [inc]  # it owes a review: cached so
    cli("pir", "complete", inc, "-m", "held", "--at", "2026-02-13T11:00Z", env=later)
    cli.git("reset", "-q", "--soft", "HEAD~1")  # the event file stays, its commit is gone
    assert cli("status", "--json", env=later).json()["incidents"] == []
