"""Two ways to commit one event file, timed in the same repo: porcelain `git add F &&
git commit` (what incidentctl does) and a plumbing path (hash-object, mktree up from
the file's folder to the root, commit-tree, update-ref compare-and-swap, and
update-index --add --cacheinfo so that `git status` stays clean).

    python bench/commit_paths.py REPO [--runs 7]

The plumbing path here is a prototype for the measurement only: it runs no hooks and
signs nothing. Prints the medians (ms) and the median of the porcelain/plumbing ratio
over interleaved pairs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from pathlib import Path


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, input=stdin, capture_output=True, text=True, check=True
    ).stdout


def target_folder(repo: Path) -> str:
    """An incident's events/ folder inside the cone (checked out), to write into."""
    tracked = git(repo, "ls-files", "--", "incidents/").split("\n")
    for path in reversed(tracked):
        if "/events/" in path and (repo / path).exists():
            return path.rsplit("/", 1)[0]
    raise SystemExit("no checked-out incident folder")


def new_file(repo: Path, folder: str, tag: str) -> str:
    rel = f"{folder}/zz-bench-{tag}-{os.getpid()}-{time.time_ns()}.toml"
    (repo / rel).write_text(f'type = "bench"\nnote = "{os.urandom(8).hex()}"\n')
    return rel


def porcelain(repo: Path, folder: str) -> float:
    rel = new_file(repo, folder, "p")
    start = time.perf_counter()
    git(repo, "add", "--", rel)
    git(repo, "commit", "-q", "-m", "bench: porcelain")
    return time.perf_counter() - start


def plumbing(repo: Path, folder: str) -> float:
    rel = new_file(repo, folder, "q")
    start = time.perf_counter()
    blob = git(repo, "hash-object", "-w", "--", rel).strip()
    head = git(repo, "rev-parse", "HEAD").strip()
    # new trees from the file's folder up to the root: one ls-tree + mktree per level
    parts = rel.split("/")
    child_name, child_mode, child_type, child_oid = parts[-1], "100644", "blob", blob
    for depth in range(len(parts) - 1, -1, -1):
        here = "/".join(parts[:depth])
        listing = git(repo, "ls-tree", "-z", f"HEAD:{here}" if here else "HEAD^{tree}")
        entries = [e for e in listing.split("\0") if e and e.split("\t", 1)[1] != child_name]
        entries.append(f"{child_mode} {child_type} {child_oid}\t{child_name}")
        tree = git(repo, "mktree", "-z", stdin="\0".join(entries) + "\0").strip()
        if depth == 0:
            break
        child_name, child_mode, child_type, child_oid = parts[depth - 1], "040000", "tree", tree
    commit = git(repo, "commit-tree", tree, "-p", head, "-m", "bench: plumbing").strip()
    git(repo, "update-ref", "HEAD", commit, head)  # compare-and-swap on the old value
    git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{rel}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    repo = args.repo.resolve()
    folder = target_folder(repo)
    por, plu, ratios = [], [], []
    for n in range(args.runs + 1):
        a, b = porcelain(repo, folder), plumbing(repo, folder)
        if n:  # the first pair warms the page cache
            por.append(a)
            plu.append(b)
            ratios.append(a / b)
    clean = git(repo, "status", "--porcelain", "-uno", "--", folder) == ""
    print(
        f"{repo.name}: porcelain {statistics.median(por) * 1000:.0f} ms, "
        f"plumbing {statistics.median(plu) * 1000:.0f} ms, "
        f"porcelain/plumbing {statistics.median(ratios):.2f}, status clean after: {clean}"
    )
    # leave the repo as it was apart from history: take the files out again
    tracked = git(repo, "ls-files", "--", f"{folder}/").split("\n")
    bench_files = [p for p in tracked if "/zz-bench-" in p]
    if bench_files:
        git(repo, "rm", "-q", "--", *bench_files)
        git(repo, "commit", "-q", "-m", "bench: drop commit-path files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
