"""A cache of folded incident states that can never be stale.

Each entry is keyed by the git tree id of its incident folder at HEAD. A folder
that differs from HEAD in the work tree or the index (a new, changed or removed
file, committed or not) has no key and is always read from its files. So after a
pull, a checkout of an older commit, a hand edit or a crash, the entry either
matches the folder's exact content or is not used.

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

from incidentctl.store.atomic import write_atomic

log = logging.getLogger("incidentctl")

_MAGIC = b"incidentctl-state-cache\n"
_DIGEST = 32


def _fingerprint() -> str:
    """Changes whenever the code that folds events changes, so old entries die with it."""
    from incidentctl import __version__, domain

    h = hashlib.blake2b(__version__.encode(), digest_size=16)
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
    def __init__(self, root: Path) -> None:
        self.path = cache_path(root)

    def read(self) -> dict[str, tuple[str, Any]]:
        """folder name -> (tree id, cached value); empty if absent, old or corrupt."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("cannot read the state cache %s (%s); reading the files", self.path, exc)
            return {}
        head, digest, payload = (
            data[: len(_MAGIC)],
            data[len(_MAGIC) : len(_MAGIC) + _DIGEST],
            data[len(_MAGIC) + _DIGEST :],
        )
        if head != _MAGIC or hashlib.blake2b(payload, digest_size=_DIGEST).digest() != digest:
            log.warning(
                "the state cache %s was corrupt; rebuilding it from the event files", self.path
            )
            return {}
        try:
            fingerprint, entries = pickle.loads(payload)
        except Exception as exc:  # a checksummed payload that still fails: treat as corrupt
            log.warning("the state cache %s could not be read (%s); rebuilding it", self.path, exc)
            return {}
        return entries if fingerprint == _fingerprint() else {}

    def write(self, entries: dict[str, tuple[str, Any]]) -> None:
        payload = pickle.dumps((_fingerprint(), entries), protocol=pickle.HIGHEST_PROTOCOL)
        digest = hashlib.blake2b(payload, digest_size=_DIGEST).digest()
        try:
            write_atomic(self.path, _MAGIC + digest + payload)
        except OSError as exc:  # a read-only clone still works, just slower
            log.warning("cannot write the state cache %s (%s)", self.path, exc.strerror or exc)
            return
        write_summary(summary_path_of(self.path), entries)


def write_summary(path: Path, entries: dict[str, tuple[str, Any]]) -> None:
    """Beside the cache, what shell completion offers of each incident (its ID,
    severity, status, title and open actions) as JSON: a Tab reads this, not the
    pickle (services/completion.py)."""
    import json

    rows = []
    for name, (_key, value) in entries.items():
        state = value[0] if isinstance(value, tuple) else None
        if state is None:
            continue
        actions = [[a.number, a.title] for a in state.actions if a.is_open]
        rows.append([name, state.human_id, state.severity, state.status, state.title, actions])
    with contextlib.suppress(OSError):  # completion then offers the day's folders
        write_atomic(path, json.dumps(rows, ensure_ascii=False).encode())
