"""Reading the whole git history for `verify`: every commit with its parents, trailers,
signature status and the files it changed (git log --raw), and blob contents."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from incidentctl.store.commits import LOG_FORMAT, parse_trailers

if TYPE_CHECKING:
    from incidentctl.store.git import Git

_RECORD, _FIELD = "\x1e", "\x1f"


@dataclass(frozen=True)
class Change:
    status: str  # A, M, D, R, C, T (first letter of git's status); "merge" for --cc entries
    path: str
    old_path: str = ""  # the source of a rename or copy
    blob: str = ""  # the new blob ("" when deleted)
    mode: str = ""  # the new git mode: 100644 a file, 120000 a symbolic link ("" when deleted)


@dataclass
class CommitRecord:
    commit: str
    parents: list[str]
    signature: str  # git's %G? letter, or "" when not asked
    trailers: dict[str, list[str]]  # lower-case key -> its values, in order
    changes: list[Change] = field(default_factory=list)

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    def trailer(self, key: str) -> list[str]:
        return self.trailers.get(key.lower(), [])


def _trailers_by_key(text: str) -> dict[str, list[str]]:
    trailers: dict[str, list[str]] = {}
    for key, value in parse_trailers(text):
        trailers.setdefault(key.lower(), []).append(value)
    return trailers


def _parse_changes(raw: str) -> list[Change]:
    """The NUL-separated `--raw -z` part of one commit."""
    tokens = raw.split("\0")
    changes: list[Change] = []
    i = 0
    while i < len(tokens):
        meta = tokens[i].lstrip("\n")
        i += 1
        if not meta.startswith(":"):
            continue
        colons = len(meta) - len(meta.lstrip(":"))
        parts = meta[colons:].split()
        status = parts[-1]
        new_blob = parts[-2] if len(parts) >= 2 else ""
        if colons > 1:  # combined diff of a merge: a path that differs from every parent
            changes.append(Change("merge", tokens[i] if i < len(tokens) else "", blob=new_blob))
            i += 1
            continue
        letter = status[:1]
        new_mode = "" if letter == "D" or len(parts) < 2 else parts[1]
        if letter in ("R", "C"):
            old, new = tokens[i], tokens[i + 1]
            i += 2
            changes.append(Change(letter, new, old_path=old, blob=new_blob, mode=new_mode))
        else:
            path = tokens[i] if i < len(tokens) else ""
            i += 1
            blob = "" if letter == "D" else new_blob
            changes.append(Change(letter, path, blob=blob, mode=new_mode))
    return changes


def walk(git: Git, revisions: list[str], signatures: bool) -> Iterator[CommitRecord]:
    """Every commit reachable from `revisions`, oldest first, with its changes.

    Renames are detected (-M); merges show only what differs from all their parents
    (dense combined diff), so an honest merge of two clones' events shows nothing.
    """
    sig = "%G?" if signatures else ""
    fmt = f"{_RECORD}%H{_FIELD}%P{_FIELD}{sig}{_FIELD}{LOG_FORMAT}{_FIELD}"
    out = git.run(
        "log",
        "--reverse",
        "--topo-order",
        f"--format={fmt}",
        "--raw",
        "-z",
        "-M",
        "--no-abbrev",
        "--diff-merges=dense-combined",
        *revisions,
        "--",
        keep_newline=True,
    )
    for record in out.split(_RECORD):
        if not record.strip("\0\n"):
            continue
        commit, parents, signature, trailers, raw = record.split(_FIELD, 4)
        yield CommitRecord(
            commit=commit,
            parents=parents.split(),
            signature=signature,
            trailers=_trailers_by_key(trailers),
            changes=_parse_changes(raw),
        )


def read_blob(git: Git, blob: str) -> bytes:
    """A blob's bytes, through GitPython's persistent `git cat-file --batch`: one git for
    all the blobs `verify` reads, where the runner would start one per blob."""
    return git.repo.odb.stream(bytes.fromhex(blob)).read()


def verify_commit(git: Git, commit: str) -> tuple[bool, str]:
    """`git verify-commit`: (passes, git's last line about it)."""
    done = git.call("verify-commit", commit)
    lines = [line for line in f"{done.out}\n{done.err}".splitlines() if line.strip()]
    return done.ok, (lines[-1].strip() if lines else "")
