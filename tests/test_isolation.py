"""Bad entries are isolated, and tampering is visible where it is read.

One entry in one incident's events/ that is not an event file incidentctl can vouch for
(a symbolic link, a folder, a FIFO, malformed TOML, an unknown type or schema) is named
with its path; the other incidents go on being read and written; that incident takes
no new events until doctor (or a commit) removes it. A committed event file changed in
the work tree is read as committed, with a warning naming it (docs/storage.md)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from conftest import Cli, git, run_cli
from teamrepos import at, bare_origin, install_verify_hook

BAD_NAME = "20260101T000000.000Z-01ZZZZZZZZZZZZZZZZZZZZZZZX.toml"


def folder_of(cli: Cli, inc: str) -> Path:
    return cli.repo / cli("show", inc, "--json").json()["path"]


def note_record(uid: str, text: str, **extra) -> str:
    fields = {
        "type": "note_added",
        "id": "01ZZZZZZZZZZZZZZZZZZZZZZZX",
        "incident": uid,
        "at": "2026-01-01T00:00:00+00:00",
        "recorded_at": "2026-01-01T00:00:00+00:00",
        "author": "x",
        "text": text,
        "kind": "finding",
        **extra,
    }
    return "".join(
        f"{k} = {v}\n" if isinstance(v, int) else f'{k} = "{v}"\n' for k, v in fields.items()
    )


def _uid(folder: Path) -> str:
    return folder.name[:26]


def _dangling_symlink(entry: Path, tmp: Path) -> None:
    entry.symlink_to(tmp / "nowhere.toml")


def _symlink_to_an_event(entry: Path, tmp: Path) -> None:
    # a link to a well-formed event outside the repo: following it would fold a file
    # nobody committed, and read anything on the reader's disk
    outside = tmp / "outside.toml"
    outside.write_text(note_record(_uid(entry.parent.parent), "from outside the repo"))
    entry.symlink_to(outside)


def _folder(entry: Path, tmp: Path) -> None:
    entry.mkdir()
    (entry / "inside.toml").write_text("x = 1\n")


def _fifo(entry: Path, tmp: Path) -> None:
    os.mkfifo(entry)


def _malformed(entry: Path, tmp: Path) -> None:
    entry.write_text("type = [not toml")


def _unknown_type(entry: Path, tmp: Path) -> None:
    entry.write_text(
        note_record(_uid(entry.parent.parent), "x").replace("note_added", "teleported")
    )


def _unknown_schema(entry: Path, tmp: Path) -> None:
    entry.write_text(note_record(_uid(entry.parent.parent), "from the future", schema=99))


BAD_ENTRIES = {
    "dangling symlink": (_dangling_symlink, "a symbolic link"),
    "symlink to an event": (_symlink_to_an_event, "a symbolic link"),
    "folder": (_folder, "a folder"),
    "fifo": (_fifo, "not a regular file"),
    "malformed": (_malformed, "invalid TOML"),
    "unknown type": (_unknown_type, "unknown event type 'teleported'"),
    "unknown schema": (_unknown_schema, "unknown schema version 99"),
}


@pytest.mark.parametrize("kind", list(BAD_ENTRIES))
def test_a_bad_entry_is_named_and_stops_nothing_but_writes_to_its_incident(cli, tmp_path, kind):
    make, problem = BAD_ENTRIES[kind]
    bad_inc = cli.declare("has the bad entry", env=at(1))
    good_inc = cli.declare("a healthy incident", env=at(2))
    entry = folder_of(cli, bad_inc) / "events" / BAD_NAME
    rel = entry.relative_to(cli.repo).as_posix()
    make(entry, tmp_path)

    # writes to the other incidents, and new incidents, are not affected
    cli("note", good_inc, "still writable", env=at(3))
    cli.declare("declared after the bad entry", env=at(4))
    shown = cli("show", good_inc, "--json")
    assert [e["type"] for e in shown.json()["timeline"]] == ["declared", "note_added"]

    # every read names the entry, with its path, and shows the rest
    listing = cli("list", "--json", ok=False)
    assert listing.code == 1
    assert f"error: {rel}: {problem}" in listing.err
    assert "Traceback" not in listing.err
    assert len(listing.json()) == 3
    bad_view = cli("show", bad_inc, "--json", ok=False)
    assert f"{rel}: {problem}" in bad_view.err
    assert "from outside the repo" not in bad_view.out  # never read through the link

    # that incident takes no event until the entry is gone: path and fix named
    before = cli.commits()
    refused = cli("note", bad_inc, "must not land", env=at(5), ok=False)
    assert refused.code == 1, refused.err
    assert rel in refused.err and "incidentctl doctor" in refused.err
    assert cli.commits() == before

    # doctor names it; --fix moves the uncommitted entry aside, and commits nothing
    report = cli("doctor", "--json", ok=False).json()
    assert any(f["path"] == rel and problem in f["problem"] for f in report["findings"])
    fixed = cli("doctor", "--fix")
    assert cli.commits() == before
    assert rel in fixed.err and "quarantine" in fixed.err
    assert not os.path.lexists(entry)
    assert cli("doctor").code == 0
    cli("note", bad_inc, "writable again", env=at(6))


def test_doctor_fix_commits_no_file_it_cannot_validate(cli):
    inc = cli.declare()
    events = folder_of(cli, inc) / "events"
    uid = _uid(events.parent)
    before = cli.commits()
    # left uncommitted: a newer schema, an event of another incident, a name that
    # does not carry the event's ID
    future = events / BAD_NAME
    future.write_text(note_record(uid, "from the future", schema=99))
    stranger = events / "20260101T000000.000Z-01ZZZZZZZZZZZZZZZZZZZZZZZY.toml"
    stranger.write_text(
        note_record("01ZZZZZZZZZZZZZZZZZZZZZZZA", "elsewhere", id="01ZZZZZZZZZZZZZZZZZZZZZZZY")
    )
    misnamed = events / "20260101T000000.000Z-01ZZZZZZZZZZZZZZZZZZZZZZZW.toml"
    misnamed.write_text(note_record(uid, "misnamed", id="01ZZZZZZZZZZZZZZZZZZZZZZZV"))
    # and one a killed command's journal names
    journal = cli.repo / ".git" / "incidentctl" / "pending" / "01ZZZZZZZZZZZZZZZZZZZZZZZX"
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_text(f"{future.relative_to(cli.repo).as_posix()}\n{inc}: finding\n")

    report = cli("doctor", "--json", ok=False).json()
    named = {f["path"]: f["problem"] for f in report["findings"]}
    assert "unknown schema version 99" in named[future.relative_to(cli.repo).as_posix()]
    assert "belongs to incident" in named[stranger.relative_to(cli.repo).as_posix()]
    assert cli("doctor", "--fix", ok=False).code == 1  # the misnamed file stays, named
    assert cli.commits() == before
    assert "schema = 99" not in cli.git("log", "-p", "--format=")
    assert "misnamed" not in cli.git("log", "-p", "--format=")
    assert "does not end with its event ID" in named[misnamed.relative_to(cli.repo).as_posix()]
    cli("note", inc, "a later command commits it neither", env=at(9))
    assert cli.commits() == before + 1
    assert cli.git("show", "--name-only", "--format=", "HEAD").count("\n") == 1


@pytest.mark.parametrize("kind", ["symlink", "folder"])
def test_verify_and_the_hook_refuse_a_symlink_or_folder_in_events(tmp_path, kind):
    origin = bare_origin(tmp_path)
    install_verify_hook(origin)
    repo = tmp_path / "a"
    assert run_cli("init", str(repo), "--remote", str(origin)).code == 0
    cli = Cli(repo)
    inc = cli.declare(env=at(1))
    cli("sync")
    entry = folder_of(cli, inc) / "events" / BAD_NAME
    if kind == "symlink":
        entry.symlink_to("/etc/passwd")
        rel = entry.relative_to(repo).as_posix()
        expected = f"{rel}: a symbolic link, not a file"
    else:
        entry.mkdir()
        (entry / "x.toml").write_text(note_record(_uid(entry.parent.parent), "hidden"))
        rel = (entry / "x.toml").relative_to(repo).as_posix()
        expected = f"{rel}: a folder in events/ ({BAD_NAME}/), not an event file"
    cli.git("add", "--", rel)
    cli.git("commit", "-qm", "sneak it in")
    bad = cli.git("rev-parse", "HEAD").strip()

    verified = cli("verify", ok=False)
    assert verified.code == 1
    assert f"{bad[:12]} {expected}" in verified.out
    refused = cli("sync", ok=False)
    assert "origin refused the push" in refused.err
    assert expected in refused.err
    assert git(origin, "rev-parse", "main").strip() != bad


def test_a_committed_symlink_pulled_by_sync_stops_only_its_incident(tmp_path):
    # no hook on this origin: the link reaches the second clone
    origin = bare_origin(tmp_path)
    a_root, b_root = tmp_path / "a", tmp_path / "b"
    assert run_cli("init", str(a_root), "--remote", str(origin)).code == 0
    a = Cli(a_root)
    linked = a.declare("gets a link", env=at(1))
    other = a.declare("stays healthy", env=at(2))
    entry = folder_of(a, linked) / "events" / BAD_NAME
    entry.symlink_to("/etc/passwd")
    a.git("add", "--", entry.relative_to(a_root).as_posix())
    a.git("commit", "-qm", "a link")
    a.git("push", "-q", "origin", "HEAD:main")
    assert run_cli("clone", str(origin), str(b_root)).code == 0
    b = Cli(b_root)

    rel = entry.relative_to(a_root).as_posix()
    listing = b("list", "--json", ok=False)
    assert len(listing.json()) == 2 and f"{rel}: a symbolic link" in listing.err
    b("note", other, "b writes to the healthy one", env=at(3))
    b.declare("and declares", env=at(4))
    refused = b("note", linked, "no", env=at(5), ok=False)
    assert refused.code == 1 and rel in refused.err
    doctor = b("doctor", ok=False)
    assert f"{rel}: a symbolic link, not a file (committed: remove it with git rm" in doctor.out


# -- tampering ---------------------------------------------------------------------------


@pytest.fixture
def tampered(cli):
    """An incident whose committed note was rewritten in the work tree."""
    inc = cli.declare("API returning 503", "--at", "-20m")
    cli("note", inc, "the committed words", "--kind", "finding")
    note = sorted((folder_of(cli, inc) / "events").glob("*.toml"))[-1]
    note.write_text(note.read_text().replace("the committed words", "words nobody committed"))
    return inc, note


@pytest.mark.parametrize(
    "args",
    [
        ("show", "{inc}", "--json"),
        ("list", "--all"),
        ("status",),
        ("status", "--json"),
        ("metrics",),
        ("pir", "generate", "{inc}"),
    ],
)
def test_a_changed_committed_file_is_read_as_committed_with_a_warning(cli, tampered, args):
    inc, note = tampered
    rel = note.relative_to(cli.repo).as_posix()
    for _ in range(2):  # the second run would come from the cache, if it were allowed to
        result = cli(*(a.format(inc=inc) for a in args))
        assert result.code == 0
        assert f"warning: {rel}: differs from its commit" in result.err
        assert "words nobody committed" not in result.out
    if args[0] == "show":
        texts = [e.get("text") for e in result.json()["timeline"]]
        assert "the committed words" in texts


def test_a_deleted_committed_file_is_still_read(cli):
    inc = cli.declare("API returning 503")
    cli("note", inc, "kept by git", "--kind", "finding")
    note = sorted((folder_of(cli, inc) / "events").glob("*.toml"))[-1]
    note.unlink()
    result = cli("show", inc, "--json")
    assert "kept by git" in [e.get("text") for e in result.json()["timeline"]]
    assert f"{note.relative_to(cli.repo).as_posix()}: is missing from the work tree" in result.err


def test_writes_fold_the_committed_content_too(cli):
    inc = cli.declare("API returning 503")
    declared = next((folder_of(cli, inc) / "events").glob("*.toml"))
    record = tomllib.loads(declared.read_text())
    declared.write_text(declared.read_text().replace('severity = "P1"', 'severity = "P3"'))
    result = cli("note", inc, "still P1", "--json")
    assert result.json()["severity"] == record["severity"] == "P1"
    assert "differs from its commit" in result.err
    # the tampered copy stays as it was: never swept into a commit
    assert cli.git("status", "--porcelain").strip().startswith("M ")
