"""A cache of folded incident states that can never be stale.

Each entry is keyed by the git tree id of its incident folder at HEAD: states are
folded from the committed history (the object store), so the tree id names exactly
what was folded. A folder whose tracked files differ from HEAD (`git status -uno`),
or whose events/ gained an entry (its mtime), is folded again, with the work-tree
differences reported. So after a pull, a checkout of an older commit, a hand edit or
a crash, the entry either matches the folder's exact content or is not used.

The cache lives in the user's cache dir (platformdirs' user_cache_dir, e.g.
~/.cache/incidentctl/states/), one file per repo, named by a hash of the repo's
absolute path: never in the tracked files, and never in the repo at all, so a
read-only repo (a mounted backup, an auditor's copy) is read with a cache too. A
cache file that fails its checksum is reported and rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import pickle
from pathlib import Path
from typing import Any

from incidentctl.store.atomic import write_atomic, write_atomic_with

log = logging.getLogger("incidentctl")

_MAGIC = b"incidentctl-state-cache\n"
_DIGEST = 32
# the shape of an entry (below); a new one makes old cache files unread, not misread
_FORMAT = 6


def _fingerprint() -> str:
    """Changes whenever the code that folds events changes, so old entries die with it."""
    from incidentctl import __version__, domain

    h = hashlib.blake2b(f"{__version__}/{_FORMAT}".encode(), digest_size=16)
    # the fold draws on several domain modules (events, state, review, corrections...)
    for path in sorted(Path(domain.__file__).parent.glob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()


def cache_path(root: Path) -> Path:
    """Where the state cache of the repo whose work tree is `root` lives."""
    from platformdirs import user_cache_dir

    key = hashlib.blake2b(str(Path(root).resolve()).encode(), digest_size=12).hexdigest()
    return Path(user_cache_dir("incidentctl")) / "states" / f"{key}.pickle"


def summary_path(root: Path) -> Path:
    """Where the completion summary of the repo at `root` lives: beside its cache."""
    return summary_path_of(cache_path(root))


def summary_path_of(cache: Path) -> Path:
    return cache.with_suffix(".summary.json")


class StateCache:
    """Four files: the index (`<key>.pickle`: {"years": year trees, "folders": {folder
    name: (tree id, events/ mtime, (brief, problems, None))}}), the states of the open
    incidents (`<key>.open.pickle`) and of the resolved ones (`<key>.states.pickle`):
    {folder name: (tree id, pickled state)}, each read only when one of its states is
    looked at, and the human IDs (`<key>.ids.pickle`: {folder name: (tree id,
    human ID, former IDs)}), small enough for finding INC-... to read on every event
    command. A state is used only if its tree id is the index's: the two files are
    written one after the other, and a reader between them folds that incident again."""

    def __init__(self, root: Path) -> None:
        self.path = cache_path(root)
        self.ids_path = self.path.with_suffix(".ids.pickle")
        self._states: dict[bool, dict[str, tuple[str, bytes]]] = {}
        self._read_index: dict[str, Any] | None = None  # the folders of the index read

    def read(self) -> dict[str, Any]:
        """The index; empty if absent, old or corrupt."""
        value = self._read(self.path)
        index = value if isinstance(value, dict) else {}
        self._read_index = index.get("folders") or {}
        return index

    def _unchanged(self, folders: dict[str, Any], open_: bool) -> bool:
        """Whether the open (or resolved) incidents of `folders` bring no new state and
        are those of the index read, under the same tree ids: then their states file
        holds what a rewrite would, and is neither read nor written (an index rewritten
        for a folder's mtime must not read 13 MB of resolved states)."""
        if self._read_index is None:
            return False

        def trees(entries: dict[str, Any]) -> dict[str, str]:
            return {n: e[0] for n, e in entries.items() if _is_open(e[2][0]) == open_}

        new_state = any(e[2][2] is not None for e in folders.values() if _is_open(e[2][0]) == open_)
        return not new_state and trees(folders) == trees(self._read_index)

    def states_path(self, open_: bool) -> Path:
        return self.path.with_suffix(".open.pickle" if open_ else ".states.pickle")

    def states(self, open_: bool) -> dict[str, tuple[str, bytes]]:
        """folder name -> (tree id, pickled state) of the open incidents (a small file:
        what `list` and `status` look at) or of the resolved ones, read once."""
        if open_ not in self._states:
            value = self._read(self.states_path(open_), quiet=True)
            self._states[open_] = value if isinstance(value, dict) else {}
        return self._states[open_]

    def read_ids(self) -> dict[str, tuple[str, str, tuple[str, ...]]]:
        value = self._read(self.ids_path, quiet=True)
        return value if isinstance(value, dict) else {}

    def write(self, entries: dict[str, Any]) -> None:
        """`entries` as the index holds them, each value (brief, problems, pickled
        state or None: the one the states files hold for the same tree id)."""
        folders = entries.get("folders") or {}
        shards: dict[bool, dict[str, tuple[str, bytes]]] = {True: {}, False: {}}
        unchanged = {open_: self._unchanged(folders, open_) for open_ in (True, False)}
        for name, (tree, _mtime, (brief, _problems, pickled)) in folders.items():
            open_ = _is_open(brief)
            if unchanged[open_]:
                continue
            if pickled is None:
                held = self.states(open_).get(name)
                pickled = held[1] if held is not None and held[0] == tree else None
            if pickled is not None:
                shards[open_][name] = (tree, pickled)
        for open_, states in shards.items():
            if not unchanged[open_] and self._states.get(open_) != states:
                if not self._write(self.states_path(open_), states):
                    return
                self._states[open_] = states
        index = {
            "years": entries.get("years", {}),
            "folders": {n: (t, m, (v[0], v[1], None)) for n, (t, m, v) in folders.items()},
        }
        if self._write(self.path, index):
            write_summary(summary_path_of(self.path), folders)

    def write_ids(self, entries: dict[str, tuple[str, str, tuple[str, ...]]]) -> None:
        self._write(self.ids_path, entries)

    def read_part(self, part: str) -> Any:
        """A small side file beside the cache (`<key>.<part>.pickle`), None if absent,
        old or corrupt: what a use case keeps of its own, keyed by tree ids too."""
        return self._read(self.path.with_suffix(f".{part}.pickle"), quiet=True)

    def write_part(self, part: str, value: Any) -> None:
        self._write(self.path.with_suffix(f".{part}.pickle"), value)

    def _read(self, path: Path, quiet: bool = False) -> Any:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            if not quiet:
                log.warning("cannot read the state cache %s (%s); reading the files", path, exc)
            return None
        head, digest, payload = (
            data[: len(_MAGIC)],
            data[len(_MAGIC) : len(_MAGIC) + _DIGEST],
            data[len(_MAGIC) + _DIGEST :],
        )
        if head != _MAGIC or hashlib.blake2b(payload, digest_size=_DIGEST).digest() != digest:
            if not quiet:
                log.warning(
                    "the state cache %s was corrupt; rebuilding it from the event files", path
                )
            return None
        try:
            fingerprint, entries = pickle.loads(payload)
        except Exception as exc:  # a checksummed payload that still fails: treat as corrupt
            if not quiet:
                log.warning("the state cache %s could not be read (%s); rebuilding it", path, exc)
            return None
        return entries if fingerprint == _fingerprint() else None

    def _write(self, path: Path, entries: Any) -> bool:
        value = (_fingerprint(), entries)

        def fill(fh: Any) -> None:
            # streamed: the payload (13 MB of resolved states at N = 10,000) is never
            # held whole, nor copied behind its header; the digest goes in after it
            fh.write(_MAGIC + bytes(_DIGEST))
            hashed = _Hashing(fh)
            pickle.dump(value, hashed, protocol=pickle.HIGHEST_PROTOCOL)
            fh.seek(len(_MAGIC))
            fh.write(hashed.digest.digest())

        try:
            write_atomic_with(path, fill)
        except OSError as exc:  # reads still work, just slower
            log.warning("cannot write the state cache %s (%s)", path, exc.strerror or exc)
            return False
        return True


def _is_open(brief: tuple) -> bool:
    """Whether a brief (store/repo.py `brief_of`) is an open incident's: its state is in
    the open states' file."""
    return brief[4] != "resolved"


class _Hashing:
    """A file that hashes what is written to it (pickle.dump's target)."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.digest = hashlib.blake2b(digest_size=_DIGEST)

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.fh.write(data)


def write_summary(path: Path, folders: dict[str, Any]) -> None:
    """Beside the cache, what shell completion offers of each incident (its ID,
    severity, status, title and open actions) as JSON: a Tab reads this, not the
    pickle (services/completion.py). `folders`: the states part's folder entries,
    each ending in (brief, problems, pickled state): the brief (store/repo.py
    `brief_of`) has all it needs, so no state is unpickled for it."""
    import json

    rows = []
    for name, entry in folders.items():
        value = entry[-1] if isinstance(entry, tuple) and entry else None
        brief = value[0] if isinstance(value, tuple) and value else None
        if not isinstance(brief, tuple) or len(brief) < 9:
            continue
        _uid, human_id, title, severity, status = brief[:5]
        actions = [list(a) for a in brief[8]]
        rows.append([name, human_id, severity, status, title, actions])
    with contextlib.suppress(OSError):  # completion then offers the day's folders
        write_atomic(path, json.dumps(rows, ensure_ascii=False).encode())
