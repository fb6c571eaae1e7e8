"""`verify` proves the history append-only, and names the file and the commit of every
tampering: a rewritten, deleted, renamed or amended event, extra files, bad trailers,
unparseable files, evil merges, and (with --signatures) unsigned or badly signed commits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import Cli, git, run_cli
from teamrepos import at, bare_origin, human_id, install_verify_hook


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """init, declare, two notes: built once, copied for each test."""
    home = tmp_path_factory.mktemp("verify-home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test Responder\n\temail = responder@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
    )
    env = {
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    repo = tmp_path_factory.mktemp("verify-template") / "repo"
    assert run_cli("init", str(repo), env=env).code == 0
    for args in (
        ("declare", "API returning 503", "-s", "P1"),
        ("note", human_id(1), "first note"),
        ("note", human_id(1), "second note"),
    ):
        result = run_cli("--repo", str(repo), *args, env={**env, **at(1)})
        assert result.code == 0, result.err
    return repo


@pytest.fixture
def vcli(template, tmp_path) -> Cli:
    repo = tmp_path / "repo"
    shutil.copytree(template, repo)
    return Cli(repo)


def _events(cli: Cli) -> list[Path]:
    """The event files in the order they were committed (declared, first note, second)."""
    out = cli.git(
        "log", "--reverse", "--format=", "--name-only", "--diff-filter=A", "--", "incidents"
    )
    return [cli.repo / line for line in out.splitlines() if line.strip()]


def _commit_of(cli: Cli, path: Path) -> str:
    return cli.git("log", "-1", "--format=%H", "--", str(path.relative_to(cli.repo))).strip()


def _failed(cli: Cli, *args: str) -> list[str]:
    result = cli("verify", *args, ok=False)
    assert result.code == 1, result.err
    assert "history NOT ok" in result.err
    assert "Traceback" not in result.err
    return result.out.splitlines()


def _rel(cli: Cli, path: Path) -> str:
    return path.relative_to(cli.repo).as_posix()


def test_a_clean_history_verifies(vcli):
    result = vcli("verify", "--json")
    data = result.json()
    assert data["ok"] is True and data["problems"] == []
    assert data["commits"] == 4 and data["event_files"] == 3
    assert "history ok: 4 commits, 3 event files checked" in result.err


def test_modifying_deleting_and_renaming_events_are_named(vcli):
    declared, note1, note2 = _events(vcli)
    added_in = {path: _commit_of(vcli, path)[:12] for path in (declared, note1, note2)}
    note1.write_text(note1.read_text().replace("first note", "edited note"))
    vcli.git("commit", "-qam", "tidy up")
    modified = vcli.git("rev-parse", "HEAD").strip()
    vcli.git("rm", "-q", str(note2))
    vcli.git("commit", "-qm", "drop a note")
    deleted = vcli.git("rev-parse", "HEAD").strip()
    moved = declared.with_name("renamed.toml")
    vcli.git("mv", str(declared), str(moved))
    vcli.git("commit", "-qm", "rename")
    renamed = vcli.git("rev-parse", "HEAD").strip()

    lines = _failed(vcli)

    assert lines == [
        f"{modified[:12]} {_rel(vcli, note1)}: event file modified after it was added"
        f" (added in {added_in[note1]})",
        f"{deleted[:12]} {_rel(vcli, note2)}: event file deleted (added in {added_in[note2]})",
        f"{renamed[:12]} {_rel(vcli, declared)}: event file renamed to {_rel(vcli, moved)}"
        f" (added in {added_in[declared]})",
    ]


def test_rewriting_an_event_in_history_is_named(vcli):
    _declared, note1, _note2 = _events(vcli)
    target = _commit_of(vcli, note1)
    # rewrite the note's own commit: edit the file and amend it, mid-history
    script = f"sed -i 's/^pick {target[:7]}/edit {target[:7]}/'"
    env = dict(os.environ, GIT_SEQUENCE_EDITOR=script)
    subprocess.run(
        ["git", "rebase", "-q", "-i", f"{target}~1"],
        cwd=vcli.repo,
        env=env,
        check=True,
        capture_output=True,
    )
    note1.write_text(note1.read_text().replace("first note", "it was never down"))
    vcli.git("commit", "-q", "--amend", "--no-edit", "-a")
    rewritten = vcli.git("rev-parse", "HEAD").strip()
    vcli.git("rebase", "--continue")

    lines = _failed(vcli)

    [line] = lines
    assert line.startswith(f"{rewritten[:12]} {_rel(vcli, note1)}: trailer Event-Sha256: '")
    assert line.endswith("' does not match the file's content")


def test_amending_a_commit_is_named(vcli):
    declared, _note1, note2 = _events(vcli)
    extra = note2.with_name(note2.name.replace(note2.stem[-4:], "ZZZZ"))
    extra.write_text(note2.read_text().replace(note2.stem[-26:], extra.stem[-26:]))
    vcli.git("add", str(extra))
    vcli.git("commit", "-q", "--amend", "-m", "just one note\n\nEvent: 01ARZ3NDEKTSV4RRFFQ69G5FAV")
    amended = vcli.git("rev-parse", "HEAD").strip()

    lines = _failed(vcli)

    assert lines == [
        f"{amended[:12]} {_rel(vcli, note2)}: commit adds 2 event files: {note2.name}, {extra.name}"
    ]
    assert declared.exists()


def test_amending_trailers_and_odd_files_are_named(vcli):
    _declared, _note1, note2 = _events(vcli)
    message = vcli.git("log", "-1", "--format=%B").replace(
        "Event-Type: note_added", "Event-Type: resolved"
    )
    vcli.git("commit", "-q", "--amend", "-m", message)
    amended = vcli.git("rev-parse", "HEAD").strip()
    folder = note2.parent.parent
    broken = note2.parent / f"20260212T100100.000Z-{'0' * 26}.toml"
    broken.write_text('type = "note_added"\ntext = """never closed\n')
    vcli.git("add", str(broken))
    vcli.git("commit", "-qm", "hand-written")
    unparseable = vcli.git("rev-parse", "HEAD").strip()
    stray = folder / "notes.txt"
    stray.write_text("scratch")
    vcli.git("add", str(stray))
    vcli.git("commit", "-qm", "scratch")
    scratch = vcli.git("rev-parse", "HEAD").strip()

    lines = _failed(vcli, "--json")  # problems in JSON go to stdout as one document
    problems = json.loads("\n".join(lines))["problems"]
    assert {(p["commit"], p["path"]) for p in problems} == {
        (amended, _rel(vcli, note2)),
        (unparseable, _rel(vcli, broken)),
        (scratch, _rel(vcli, stray)),
    }
    by_commit = {p["commit"]: p["problem"] for p in problems}
    assert by_commit[amended] == "trailer Event-Type: 'resolved' does not match 'note_added'"
    assert by_commit[unparseable].startswith("event file is not valid TOML")
    assert by_commit[scratch].startswith("unexpected file under incidents/")


def test_an_honest_merge_passes_and_an_evil_one_is_named(vcli):
    vcli.git("checkout", "-q", "-b", "side", "HEAD~1")
    vcli("note", human_id(1), "written on a branch", env=at(2))
    vcli.git("checkout", "-q", "main")
    vcli.git("merge", "-q", "--no-edit", "side")
    assert vcli("verify").code == 0

    vcli.git("checkout", "-q", "-b", "evil", "HEAD~1")
    vcli("note", human_id(1), "another branch", env=at(3))
    vcli.git("checkout", "-q", "main")
    vcli.git("merge", "-q", "--no-commit", "evil")
    _declared, note1, *_ = _events(vcli)
    note1.write_text(note1.read_text().replace("first note", "merged away"))
    vcli.git("commit", "-qam", "merge evil")
    merge = vcli.git("rev-parse", "HEAD").strip()

    lines = _failed(vcli)

    assert lines == [
        f"{merge[:12]} {_rel(vcli, note1)}: merge commit changes this file beyond what its parents had"
    ]


def test_verify_takes_revision_ranges_and_refuses_bad_ones(vcli):
    first = vcli.git("rev-list", "--max-parents=0", "HEAD").strip()
    ranged = vcli("verify", f"{first}..HEAD", "--json").json()
    assert ranged["commits"] == 3 and ranged["ok"]
    for bad in ("no-such-branch", "--oops"):
        result = vcli("verify", "--", bad, ok=False)
        assert result.code == 2 and result.err.startswith("error: ") and "hint: " in result.err


def _signing_gitconfig(home: Path, key: Path, allowed: Path) -> Path:
    config = home / "signing.gitconfig"
    config.write_text(
        "[user]\n\tname = Test Responder\n\temail = responder@example.com\n"
        f"\tsigningkey = {key}.pub\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = true\n"
        f'[gpg]\n\tformat = ssh\n[gpg "ssh"]\n\tallowedSignersFile = {allowed}\n'
    )
    return config


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_signatures_are_checked(tmp_path, monkeypatch, isolated_env):
    key, stranger = tmp_path / "key", tmp_path / "stranger"
    for path in (key, stranger):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"responder@example.com {(key.with_suffix('.pub')).read_text()}")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(_signing_gitconfig(isolated_env, key, allowed)))
    repo = tmp_path / "signed"
    assert run_cli("init", str(repo)).code == 0
    cli = Cli(repo)
    cli.declare(env=at(1))
    assert cli("verify", "--signatures").code == 0

    cli.git("-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty", "-m", "unsigned")
    unsigned = cli.git("rev-parse", "HEAD").strip()
    cli.git(
        "-c", f"user.signingkey={stranger}.pub", "commit", "-q", "--allow-empty", "-m", "stranger"
    )
    strange = cli.git("rev-parse", "HEAD").strip()

    lines = _failed(cli, "--signatures")

    assert lines[0] == f"{unsigned[:12]}: commit is not signed"
    assert lines[1].startswith(f"{strange[:12]}: signature from an unknown or untrusted key")
    assert len(lines) == 2
    assert cli("verify").code == 0  # without --signatures, only the files count


@pytest.mark.process
def test_a_pre_receive_hook_rejects_tampered_pushes(tmp_path):
    origin = bare_origin(tmp_path)
    install_verify_hook(origin)
    repo = tmp_path / "a"
    assert run_cli("init", str(repo), "--remote", str(origin)).code == 0
    cli = Cli(repo)
    cli.declare(env=at(1))
    cli("sync")
    [event] = sorted(repo.glob("incidents/*/*/events/*.toml"))
    event.write_text(event.read_text().replace("API returning 503", "Nothing happened"))
    cli.git("commit", "-qam", "quiet fix")
    tampered = cli.git("rev-parse", "HEAD").strip()

    refused = cli("sync", ok=False)

    assert refused.code == 1
    assert "origin refused the push" in refused.err
    assert f"{tampered[:12]} {_rel(cli, event)}: event file modified" in refused.err
    assert git(origin, "rev-parse", "main") != tampered


def test_incidentctl_s_own_extra_files_are_allowed_and_stray_evidence_is_not(vcli):
    _declared, note1, _note2 = _events(vcli)
    folder = note1.parent.parent
    # a step's captured output is committed together with its one event
    evidence = folder / "evidence" / "01KH8MQYV0S05BCS4KNAFKEVID.txt"
    evidence.parent.mkdir()
    evidence.write_text("$ kubectl get pods\nNAME READY\n")
    vcli.git("add", str(evidence))
    vcli.git("commit", "-q", "--amend", "--no-edit")
    # a generated review is committed once
    pir = folder / "pir.md"
    pir.write_text("# PIR\n")
    vcli.git("add", str(pir))
    vcli.git("commit", "-qm", "PIR")
    assert vcli("verify").code == 0

    stray = folder / "evidence" / "01KH8MQYV0S05BCS4KNAFKSTRY.txt"
    stray.write_text("no event")
    vcli.git("add", str(stray))
    vcli.git("commit", "-qm", "evidence alone")
    alone = vcli.git("rev-parse", "HEAD").strip()

    assert _failed(vcli) == [
        f"{alone[:12]} {_rel(vcli, stray)}: evidence added without its one step event"
    ]


def test_a_rewritten_review_is_reported(vcli):
    _declared, note1, _note2 = _events(vcli)
    pir = note1.parent.parent / "pir.md"
    for text in ("# PIR\n", "# PIR\n\nrewritten\n"):
        pir.write_text(text)
        vcli.git("add", str(pir))
        vcli.git("commit", "-qm", "PIR")
    head = vcli.git("rev-parse", "HEAD").strip()
    lines = _failed(vcli)
    assert any(
        line.startswith(f"{head[:12]} {_rel(vcli, pir)}: pir.md modified after it was added")
        for line in lines
    ), lines
