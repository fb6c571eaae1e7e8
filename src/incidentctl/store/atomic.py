"""Atomic file writes: temp file in the same folder, fsync, rename."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

TMP_SUFFIX = ".incidentctl-tmp"


def temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")


def write_atomic(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write `data` to `path` so that readers see the old state or the whole new file.

    With `exclusive`, refuse to replace an existing file (event files are written once).
    """
    write_atomic_with(path, lambda fh: fh.write(data), exclusive=exclusive)


def write_atomic_with(
    path: Path, fill: Callable[[BinaryIO], object], *, exclusive: bool = False
) -> None:
    """`write_atomic`, the bytes written by `fill` into the open file (a large pickle
    is streamed, not built in memory first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with os.fdopen(fd, "w+b") as fh:
            fill(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive and path.exists():
            # callers hold the repo lock, so this check cannot race another writer
            raise FileExistsError(path)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in `folder` durable."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def stale_temp_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith(TMP_SUFFIX))
