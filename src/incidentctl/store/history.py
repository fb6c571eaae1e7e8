"""Reading the whole git history for `verify`: every commit with its parents, trailers,
signature status and the files it changed (git log --raw), and blob contents."""

from __future__ import annotations

import weakref
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
    from incidentctl.store.git import BULK_READ

    sig = "%G?" if signatures else ""
    fmt = f"{_RECORD}%H{_FIELD}%P{_FIELD}{sig}{_FIELD}{LOG_FORMAT}{_FIELD}"
    out = git.run(
        *BULK_READ,
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


# -- the object store, read without GitPython -------------------------------------------

# What a folder holds in git: entry name -> (git mode, object id)
TreeEntries = dict[str, tuple[str, str]]


class _Gone(Exception):
    """The cat-file process is not there to answer."""


class Objects:
    """One long-lived `git cat-file --batch` for this command: trees and blobs by id or
    by `<tree>:<path>`, one round trip each, no process started per read. Reads the
    committed history, never the work tree (a sparse checkout has no files for most
    incidents; a hand edit is not the truth)."""

    def __init__(self, git: Git) -> None:
        self._git = git
        self._proc = None
        _OPEN.add(self)

    def _ask(self, spec: str) -> tuple[str, str, bytes] | None:
        """(object id, type, bytes) of `spec`, or None if git has no such object. A
        cat-file that has gone (a Ctrl-C reaches the whole process group: a runbook
        walk goes on after one) is started again, once."""
        try:
            return self._ask_once(spec)
        except _Gone:
            self.close()
            try:
                return self._ask_once(spec)
            except _Gone:
                from incidentctl.errors import GitError

                self.close()
                raise GitError("git cat-file stopped while reading the object store") from None

    def _ask_once(self, spec: str) -> tuple[str, str, bytes] | None:
        if self._proc is None:
            self._proc = self._git.start("cat-file", "--batch", stdin=True)
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(spec.encode("utf-8", "surrogateescape") + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline()
        except (BrokenPipeError, OSError):
            header = b""
        if not header:
            raise _Gone
        parts = header.split()
        if len(parts) != 3:  # "<spec> missing" / "ambiguous"
            return None
        oid, kind, size = parts[0].decode(), parts[1].decode(), int(parts[2])
        data = proc.stdout.read(size)
        if len(data) != size or proc.stdout.read(1) != b"\n":  # killed half way
            raise _Gone
        return oid, kind, data

    def root(self, rev: str = "HEAD") -> str | None:
        """The id of the tree of `rev` (None before the first commit)."""
        got = self._ask(f"{rev}^{{tree}}")
        return got[0] if got is not None and got[1] == "tree" else None

    def tree(self, spec: str) -> TreeEntries | None:
        """The entries of a tree (None if there is no such tree)."""
        got = self._ask(spec)
        if got is None or got[1] != "tree":
            return None
        return parse_tree(got[2], len(got[0]) // 2)

    def blob(self, spec: str) -> bytes | None:
        got = self._ask(spec)
        return got[2] if got is not None and got[1] == "blob" else None

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                if proc.stdin is not None:
                    proc.stdin.close()
                proc.wait(timeout=5)
            except Exception:  # already gone
                proc.kill()
            if proc.stdout is not None:
                proc.stdout.close()
            if proc.stderr is not None:
                proc.stderr.close()


_OPEN: weakref.WeakSet[Objects] = weakref.WeakSet()


def close_all() -> None:
    """End every `git cat-file` this process started (at the end of a command: one
    process may run many, as the tests do; and doctor counts the repo's git processes)."""
    for objects in list(_OPEN):
        objects.close()


def parse_tree(data: bytes, id_bytes: int = 20) -> TreeEntries:
    """A raw git tree object: `<mode> <name>\\0<binary id>` entries."""
    entries: TreeEntries = {}
    pos, end = 0, len(data)
    while pos < end:
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        mode = data[pos:space].decode()
        name = data[space + 1 : nul].decode("utf-8", "surrogateescape")
        oid = data[nul + 1 : nul + 1 + id_bytes].hex()
        entries[name] = (mode.rjust(6, "0"), oid)
        pos = nul + 1 + id_bytes
    return entries


def read_blobs(git: Git, oids: list[str]) -> dict[str, bytes]:
    """Many blobs through one `git cat-file --batch --buffer` (a cold read of every
    event: one git, its output split here)."""
    if not oids:
        return {}
    from incidentctl.store.git import BULK_READ

    wanted = list(dict.fromkeys(oids))
    proc = git.start(*BULK_READ, "cat-file", "--batch", "--buffer", stdin=True)
    out, _err = proc.communicate(("\n".join(wanted) + "\n").encode())
    found: dict[str, bytes] = {}
    pos, end = 0, len(out)
    view = memoryview(out)
    while pos < end:
        nl = out.index(b"\n", pos)
        parts = out[pos:nl].split()
        pos = nl + 1
        if len(parts) != 3:
            continue
        size = int(parts[2])
        found[parts[0].decode()] = bytes(view[pos : pos + size])
        pos += size + 1
    return found
