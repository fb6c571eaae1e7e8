"""Time incidentctl as whole processes at N = 10, 1,000 and 10,000 incidents, against
baselines measured in the same run, and check the ratio targets.

    python bench/run.py [--sizes 10,1000,10000] [--modes full,sparse] [--runs 5]
                        [--markdown FILE] [--only completion]

Each figure is the median wall time of RUNS runs after one warm-up, with peak RSS from
the kernel's accounting of each child (wait4). Each target ratio is the median of RUNS
interleaved pairs (command, baseline, command, baseline, ...), so that the shared
machine's drift hits both sides alike; the cold targets, runs of many seconds, divide
the medians. Exits 1 if a target is missed.
Benchmark repos are generated once into bench/out/ (see generate.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
PY = sys.executable
BIN = str(Path(PY).parent / "incidentctl")


@dataclass
class Figure:
    label: str
    times: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def peak_mb(self) -> float:
        return max(self.rss_kb) / 1024


def timed(cmd: list[str], cwd: Path | None, env: dict) -> tuple[float, int, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in (0, 3):  # 3: status --check found something due
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err}")
    return elapsed, usage.ru_maxrss, proc.returncode


def measure(label, cmd, *, runs, cwd=None, env=None, before=None, warmup=True) -> Figure:
    env = env or dict(os.environ)
    fig = Figure(label)
    for n in range(runs + 1 if warmup else runs):
        if before:
            before()
        elapsed, rss, _ = timed(cmd, cwd, env)
        if n or not warmup:  # a warm-up run fills the page cache and pyc files
            fig.times.append(elapsed)
            fig.rss_kb.append(rss)
    return fig


@dataclass
class Side:
    """One side of a paired measurement: a command, where and how it runs."""

    cmd: list[str]
    env: dict | None = None
    cwd: Path | None = None


def paired(a: Side, b: Side, *, runs: int) -> float:
    """The median of A/B over `runs` pairs, run A B A B ... after a warm-up of each.

    A ratio of two medians taken minutes apart on a shared machine measures its
    drift as much as the code; in a pair, both sides run under the same load."""
    ratios = []
    for n in range(runs + 1):
        ta, _, _ = timed(a.cmd, a.cwd, a.env or dict(os.environ))
        tb, _, _ = timed(b.cmd, b.cwd, b.env or dict(os.environ))
        if n:
            ratios.append(ta / tb)
    return statistics.median(ratios)


FLOOR = [PY, "-c", "import typer, pydantic, git, jinja2, rich"]
# one event-sized file, added and committed: the bare cost of a git commit in a repo
GIT_COMMIT = (
    "f=bench-$$-$(date +%s%N).toml; head -c 400 /dev/urandom | base64 > $f; "
    "git add $f && git commit -q -m m"
)


# The stack floor and the tool's own configuration validated (its pydantic models): what
# every command that reads the config pays before it does anything (argv: the config)
FLOOR_CONFIG = [
    PY,
    "-c",
    "import sys, typer, pydantic, git, jinja2, rich\n"
    "from pathlib import Path\n"
    "from incidentctl.services.workspace import load_config\n"
    "load_config(Path(sys.argv[1]))",
]
# one event-sized file committed where an event goes: in an incident's events/ folder
# (a commit there rewrites the trees down to it, and at N = 10,000 costs git more than
# one at the top of the repo). Not named *.toml: no command reads it as an event.
EVENT_COMMIT = (
    "f=$BENCH_EVENTS/bench-$$-$(date +%s%N).floor; head -c 400 /dev/urandom | base64 > $f; "
    "git add $f && git commit -q -m m"
)


def floor_and_commit(repo: Path) -> Side:
    """The stack floor, then a bare git commit in `repo`: one process after the other."""
    return Side(["sh", "-c", f"{shlex.join(FLOOR)} && {GIT_COMMIT}"], cwd=repo)


def floor_config_and_event_commit(repo: Path, events: Path) -> Side:
    """The measured floor of an event command in `repo`: the stack floor with the tool's
    config validated, then a bare commit of one file in `events` (an incident's)."""
    config = shlex.join([*FLOOR_CONFIG, str(repo / "incidentctl.toml")])
    return Side(
        ["sh", "-c", f"{config} && {EVENT_COMMIT}"],
        env=dict(os.environ, BENCH_EVENTS=str(events), PYDANTIC_DISABLE_PLUGINS="__all__"),
        cwd=repo,
    )


def events_folder(repo: Path, inc: str) -> Path:
    """The events/ folder of incident `inc` (in the cone: the event commands write there)."""
    import json

    shown = subprocess.run(
        [BIN, "show", inc, "--json"], env=env_for(repo), capture_output=True, text=True, check=True
    )
    return repo / json.loads(shown.stdout)["path"] / "events"


def has_command(name: str) -> bool:
    return subprocess.run([BIN, name, "--help"], capture_output=True).returncode == 0


def ensure_repo(n: int) -> Path:
    path = OUT / f"n{n}"
    if not (path / "incidentctl.toml").exists():
        shutil.rmtree(path, ignore_errors=True)
        OUT.mkdir(exist_ok=True)
        print(f"generating N={n} ...", file=sys.stderr)
        subprocess.run([PY, str(HERE / "generate.py"), str(n), str(path)], check=True)
    return path


def sparse_copy(n: int) -> Path:
    """A sparse clone of the generated repo of size n: cone-mode sparse checkout with a
    sparse index, the repo's own folders and the open incidents' folders checked out
    (the layout store/sparse.py describes). Made once, beside the full one."""
    full, path = ensure_repo(n), OUT / f"n{n}-sparse"
    if not (path / "incidentctl.toml").exists():
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run(["git", "clone", "-q", "--sparse", str(full), str(path)], check=True)
        env = dict(os.environ, INCIDENTCTL_REPO=str(path), NO_COLOR="1")
        import json

        listed = subprocess.run(
            [BIN, "list", "--json"], env=env, capture_output=True, text=True, check=True
        )
        uids = {i["uid"] for i in json.loads(listed.stdout)} if listed.stdout else set()
        tree = subprocess.run(
            ["git", "ls-tree", "-d", "-r", "--name-only", "HEAD", "incidents/"],
            cwd=path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        folders = sorted((f for f in tree if f.count("/") == 2), key=lambda f: f.split("/")[2])
        # the open incidents, and the newest few as the recently resolved ones (a repo
        # of N = 10 may have no open incident): what the cone of a sparse clone holds
        open_folders = sorted(
            {f for f in folders if f.split("/")[2][:26] in uids} | set(folders[-5:])
        )
        subprocess.run(
            [
                "git",
                "sparse-checkout",
                "set",
                "--cone",
                "--sparse-index",
                "runbooks",
                "templates",
                "oncall",
                "drills",
                *open_folders,
            ],
            cwd=path,
            check=True,
        )
        # as `incidentctl clone` leaves it (store/commitgraph.py): git's clone has none
        subprocess.run(["git", "config", "fetch.writeCommitGraph", "true"], cwd=path, check=True)
        subprocess.run(
            ["git", "commit-graph", "write", "--reachable", "--changed-paths", "--split"],
            cwd=path,
            check=True,
        )
    return path


def drop_cache(repo: Path):
    from incidentctl.store.cache import cache_path  # in the user's cache dir

    def drop():
        index = cache_path(repo)  # and the states, IDs, summary and status files beside it
        for path in index.parent.glob(index.name.split(".")[0] + ".*"):
            path.unlink(missing_ok=True)

    return drop


MODES = ("full", "sparse")


def repo_for(n: int, mode: str) -> Path:
    return ensure_repo(n) if mode == "full" else sparse_copy(n)


def key(n: int, mode: str) -> str:
    return f"N={n}" if mode == "full" else f"N={n} sparse"


def completion_env(repo: Path, line: str) -> dict:
    """The environment bash gives `incidentctl` for a Tab at the end of `line`."""
    env = dict(os.environ, INCIDENTCTL_REPO=str(repo), NO_COLOR="1")
    env.pop("INCIDENTCTL_NOW", None)
    env.update(
        _INCIDENTCTL_COMPLETE="complete_bash",
        COMP_WORDS=line,
        COMP_CWORD=str(len(line.split())),
    )
    return env


COMPLETIONS = {  # what a Tab completes: incident IDs (from the cache's summary), step ids
    "complete show <TAB>": "incidentctl show ",
    "complete runbook step <TAB>": "incidentctl runbook step - api-outage ",
}


def bench_completion(n: int, runs: int, results: dict) -> None:
    repo = ensure_repo(n)
    env = dict(os.environ, INCIDENTCTL_REPO=str(repo), NO_COLOR="1")
    subprocess.run([BIN, "list"], env=env, capture_output=True, check=True)  # the cache
    r = results.setdefault(key(n, "full"), {})
    for label, line in COMPLETIONS.items():
        r[label] = measure(label, [BIN], runs=runs, env=completion_env(repo, line))


def env_for(repo: Path) -> dict:
    env = dict(os.environ, INCIDENTCTL_REPO=str(repo), NO_COLOR="1")
    env.pop("INCIDENTCTL_NOW", None)
    return env


def bench_size(n: int, mode: str, runs: int, results: dict) -> tuple[str, str]:
    """Time every command at size n, in a full or a sparse work tree, into
    results[key(n, mode)]; returns the IDs it used (an incident it records events on,
    and a generated one it shows)."""
    import json

    repo = repo_for(n, mode)
    env = env_for(repo)
    r = results.setdefault(key(n, mode), {})
    base = subprocess.run(
        [BIN, "declare", "bench incident", "-s", "P1", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    if base.returncode == 0:
        inc = json.loads(base.stdout)["id"]
        r["declare"] = measure(
            "declare", [BIN, "declare", "bench", "-s", "P2", "--json"], runs=runs, env=env
        )
    else:  # a sparse work tree without the cone management of `declare`: an incident in it
        print(f"{key(n, mode)}: declare failed, not timed: {base.stderr.strip()[:200]}")
        inc = newest_in_cone(repo, env)
    listed = subprocess.run(
        [BIN, "list", "--all", "--json"], env=env, capture_output=True, text=True, check=True
    )
    sample = json.loads(listed.stdout)[-1]["id"]  # a generated incident with ~20 events
    r["update"] = measure("update", [BIN, "update", inc, "-m", "bench update"], runs=runs, env=env)
    r["note"] = measure("note", [BIN, "note", inc, "bench note"], runs=runs, env=env)
    r["ack"] = measure("ack", [BIN, "ack", inc], runs=runs, env=env)
    r["show"] = measure("show", [BIN, "show", sample], runs=runs, env=env)
    # "cold" means no state cache, not a cold disk: read every event file once first,
    # as the parse-all baseline's own warm-up does (the kernel may have dropped them)
    full = ensure_repo(n)
    subprocess.run([PY, str(HERE / "parse_all.py"), str(full)], capture_output=True, check=True)
    for name, args in (
        ("list", ["list"]),
        ("list --json", ["list", "--json"]),
        ("metrics", ["metrics"]),
        ("status", ["status"]),
    ):
        if not has_command(args[0]):
            continue
        r[name] = measure(name, [BIN, *args], runs=runs, env=env)
        if name != "list --json":  # cold runs read every file: a few are enough
            r[name + " (cold)"] = measure(
                name + " (cold)",
                [BIN, *args],
                runs=max(1, runs // 2),
                env=env,
                before=drop_cache(repo),
                warmup=False,
            )
        subprocess.run([BIN, *args], env=env, capture_output=True)  # the cache again
    if has_command("pir"):
        r["pir generate"] = measure(
            "pir generate", [BIN, "pir", "generate", sample], runs=runs, env=env
        )
    # baselines in the same repo (the parse-all baseline reads the full work tree: a
    # sparse one has only its cone's files)
    r["git add+commit"] = measure("git add+commit", ["sh", "-c", GIT_COMMIT], runs=runs, cwd=repo)
    events = events_folder(repo, inc)
    r["git add+commit in events/"] = measure(
        "git add+commit in events/",
        ["sh", "-c", EVENT_COMMIT],
        runs=runs,
        cwd=repo,
        env=dict(os.environ, BENCH_EVENTS=str(events)),
    )
    r["parse all events"] = measure(
        "parse all events", [PY, str(HERE / "parse_all.py"), str(full)], runs=max(1, runs // 2)
    )
    drop_baseline_files(repo, events)
    if mode == "full":
        r["clone (sparse)"] = bench_clone(full)
    return inc, sample


def bench_clone(source: Path) -> Figure:
    """`incidentctl clone` of the generated repo, sparse (the default), once: into
    bench/out/, with a config and cache dir of its own (a clone points the user config
    at itself), all removed after. Its peak is the largest process of the clone: git's
    included."""
    target, dirs = OUT / f"{source.name}-clone", OUT / f"{source.name}-clone-dirs"
    for path in (target, dirs):
        shutil.rmtree(path, ignore_errors=True)
    env = dict(
        env_for(source),
        INCIDENTCTL_CHECKOUT="sparse",
        XDG_CONFIG_HOME=str(dirs / "config"),
        XDG_CACHE_HOME=str(dirs / "cache"),
    )
    env.pop("INCIDENTCTL_REPO", None)
    try:
        return measure(
            "clone (sparse)",
            [BIN, "clone", str(source), str(target)],
            runs=1,
            env=env,
            warmup=False,
        )
    finally:
        for path in (target, dirs):
            shutil.rmtree(path, ignore_errors=True)


def newest_in_cone(repo: Path, env: dict) -> str:
    """The newest incident whose folder is checked out."""
    import json

    listed = subprocess.run(
        [BIN, "list", "--all", "--json"], env=env, capture_output=True, text=True, check=True
    )
    for item in json.loads(listed.stdout):  # newest first
        if any((repo / "incidents").glob(f"*/{item['uid']}*/events")):
            return item["id"]
    raise SystemExit(f"no incident is checked out in {repo}")


def drop_baseline_files(repo: Path, events: Path | None = None) -> None:
    """Leave the repo as generated apart from events: remove the baseline's files (at the
    top, and in `events`, the folder the event-folder commits went to)."""
    folders = [repo] + ([events] if events is not None else [])
    for folder in folders:
        rel = folder.relative_to(repo).as_posix()
        name = "bench-*.toml" if rel == "." else "bench-*.floor"
        pattern = name if rel == "." else f"{rel}/{name}"
        subprocess.run(
            ["git", "rm", "-q", "--cached", "-r", "--ignore-unmatch", "--", pattern], cwd=repo
        )
        for f in folder.glob(name):
            f.unlink()
    subprocess.run(
        ["git", "commit", "-q", "-m", "bench: drop baseline files", "--allow-empty"], cwd=repo
    )


def compile_bytecode() -> None:
    """Compile incidentctl to bytecode first, as an installed package is. A source
    checkout run with PYTHONDONTWRITEBYTECODE set would otherwise compile every module
    on every start (about 40 ms), and the figures would measure the compiler."""
    import incidentctl

    subprocess.run(
        [PY, "-m", "compileall", "-q", str(Path(incidentctl.__file__).parent)], check=True
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,1000,10000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--modes", default="full,sparse", help="Work trees: full, sparse or both.")
    parser.add_argument(
        "--only", choices=["completion"], help="Time only these targets (and --help)."
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    runs = args.runs
    compile_bytecode()

    common = {
        "stack floor": measure("stack floor", FLOOR, runs=runs),
        "floor + one pydantic model": measure(
            "floor + one pydantic model",
            [PY, str(HERE / "one_model.py")],
            runs=runs,
            env=dict(os.environ, PYDANTIC_DISABLE_PLUGINS="__all__"),  # as incidentctl runs
        ),
        "floor + incidentctl's config": measure(
            "floor + incidentctl's config",
            [*FLOOR_CONFIG, str(ensure_repo(min(sizes)) / "incidentctl.toml")],
            runs=runs,
            env=dict(os.environ, PYDANTIC_DISABLE_PLUGINS="__all__"),
        ),
        "bare typer --help": measure(
            "bare typer --help", [PY, str(HERE / "bare_typer.py"), "--help"], runs=runs
        ),
        "--help": measure("--help", [BIN, "--help"], runs=runs),
        "update --help": measure("update --help", [BIN, "update", "--help"], runs=runs),
    }
    results: dict[str, dict[str, Figure]] = {}
    only_completion = args.only == "completion"
    modes = [] if only_completion else args.modes.split(",")
    ids = {(n, m): bench_size(n, m, runs, results) for m in modes for n in sizes}
    for n in sizes:
        bench_completion(n, runs, results)
    commits = [] if only_completion else commit_paths(sizes, runs)

    # The targets are ratios; each is the median of interleaved pairs (see paired)
    checks: list[tuple[str, float, float, bool]] = []
    floors: list[tuple[str, float]] = []

    def check(name: str, value: float, limit: float) -> None:
        checks.append((name, value, limit, value <= limit))

    def side(n: int, mode: str, *args: str) -> Side:
        return Side([BIN, *args], env=env_for(repo_for(n, mode)))

    big = max(sizes)
    for label, line in COMPLETIONS.items():  # a Tab against the tool's own --help
        check(
            f"{label} @N={big} / --help",
            paired(
                Side([BIN], env=completion_env(OUT / f"n{big}", line)),
                Side([BIN, "--help"]),
                runs=runs,
            ),
            1.3,
        )
    if only_completion:
        return report(args, runs, [key(n, "full") for n in sizes], common, results, checks, [])
    bare = Side([PY, str(HERE / "bare_typer.py"), "--help"])
    check("--help / bare Typer --help", paired(Side([BIN, "--help"]), bare, runs=runs), 1.2)
    check(
        "update --help / bare Typer --help",
        paired(Side([BIN, "update", "--help"]), bare, runs=runs),
        1.2,
    )
    small = min(sizes)
    for mode in modes:
        # the event commands' baseline: the stack floor and a bare commit at the
        # smallest N, in the same mode, run back to back as one process
        baseline = floor_and_commit(repo_for(small, mode))
        for n in sizes:
            if n < 1000:
                continue
            inc, _ = ids[n, mode]
            for cmd, cmd_args in (
                ("update", ["update", inc, "-m", "bench update"]),
                ("note", ["note", inc, "bench note"]),
                ("ack", ["ack", inc]),
            ):
                ratio = paired(side(n, mode, *cmd_args), baseline, runs=runs)
                check(f"{cmd} @{key(n, mode)} / (floor + git commit @N={small})", ratio, 1.3)
        drop_baseline_files(repo_for(small, mode))
        if big != small:
            check(
                f"note @{key(big, mode)} / note @N={small}",
                paired(
                    side(big, mode, "note", ids[big, mode][0], "bench note"),
                    side(small, mode, "note", ids[small, mode][0], "bench note"),
                    runs=runs,
                ),
                1.5,
            )
            check(
                f"show @{key(big, mode)} / show @N={small}",
                paired(
                    side(big, mode, "show", ids[big, mode][1]),
                    side(small, mode, "show", ids[small, mode][1]),
                    runs=runs,
                ),
                1.2,
            )
        # not targets: each event command against its measured floor at the same N
        for n in sizes:
            inc = ids[n, mode][0]
            repo = repo_for(n, mode)
            events = events_folder(repo, inc)
            floors.append(
                (
                    f"note @{key(n, mode)} / (floor + config + commit in events/ @N={n})",
                    paired(
                        side(n, mode, "note", inc, "bench note"),
                        floor_config_and_event_commit(repo, events),
                        runs=runs,
                    ),
                )
            )
            drop_baseline_files(repo, events)
        rb = results[key(big, mode)]
        measured = {
            name: fig
            for name, fig in rb.items()
            if not name.startswith(("git add+commit", "parse all"))
        }
        heaviest = max(measured, key=lambda name: measured[name].peak_mb)
        checks.append(
            (
                f"peak memory @{key(big, mode)}, every command (largest: {heaviest}) (MB)",
                measured[heaviest].peak_mb,
                150.0,
                measured[heaviest].peak_mb <= 150,
            )
        )
        for cmd in ("list", "status", "metrics"):
            if cmd in rb:
                check(
                    f"{cmd} @{key(big, mode)} warm / floor",
                    paired(side(big, mode, cmd), Side(FLOOR), runs=runs),
                    2.0,
                )
                check(
                    f"{cmd} @{key(big, mode)} cold / parse all events",
                    rb[cmd + " (cold)"].median / rb["parse all events"].median,
                    1.3,
                )
        if "list" in rb:
            checks.append(
                (
                    f"list @{key(big, mode)} peak memory (MB)",
                    rb["list"].peak_mb,
                    150.0,
                    rb["list"].peak_mb <= 150,
                )
            )
    columns = [key(n, m) for m in modes for n in sizes]
    return report(args, runs, columns, common, results, checks, commits, floors)


def commit_paths(sizes: list[int], runs: int) -> list[str]:
    """Porcelain against plumbing commits in each sparse copy (bench/commit_paths.py)."""
    lines = []
    for n in sizes:
        done = subprocess.run(
            [PY, str(HERE / "commit_paths.py"), str(sparse_copy(n)), "--runs", str(runs)],
            capture_output=True,
            text=True,
        )
        lines.append(done.stdout.strip() or f"n{n}-sparse: failed: {done.stderr.strip()[:200]}")
    return lines


def report(args, runs, columns, common, results, checks, commits, floors=()) -> int:
    lines = [
        f"Machine: {platform.node() and 'this'} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
        f"{runs} runs after one warm-up, medians; target ratios are medians of {runs} "
        "interleaved pairs (cold: ratios of medians).",
        "",
        "| command | " + " | ".join(f"{c} median (peak MB)" for c in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for label, fig in common.items():
        lines.append(
            f"| {label} | {fig.median * 1000:.0f} ms ({fig.peak_mb:.0f}) |"
            + " |" * (len(columns) - 1)
        )
    names = list(dict.fromkeys(k for c in columns for k in results.get(c, {})))
    for name in names:
        cells = []
        for c in columns:
            fig = results.get(c, {}).get(name)
            cells.append(f"{fig.median * 1000:.0f} ms ({fig.peak_mb:.0f})" if fig else "-")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if commits:
        lines += ["", "One-event commit, porcelain against plumbing (bench/commit_paths.py):", ""]
        lines += [f"- {line}" for line in commits]
    lines += ["", "| target | measured | limit | met |", "|---|---|---|---|"]
    for name, value, limit, ok in checks:
        lines.append(f"| {name} | {value:.2f} | {limit:.2f} | {'yes' if ok else '**no**'} |")
    if floors:
        lines += ["", "| against its measured floor (not a target) | ratio |", "|---|---|"]
        lines += [f"| {name} | {value:.2f} |" for name, value in floors]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0 if all(ok for *_, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
