"""A team on one incident through a real git server: N clones, each its own process,
record notes into the same two incidents and declare incidents of their own on the same
day, at random moments, for a bounded time; half sync after every event
(`[sync] mode = "auto"`), half run `sync` at random. Then a final round of syncs, and
the guarantees of docs/sharing.md are checked:

- every clone has the identical event set and the identical HEAD (the server's too);
- every event any command reported as recorded is there, none twice;
- human IDs are unique, and every ID a `declare` handed out still resolves;
- `incidentctl verify` passes (clones and server) and `git fsck` is clean;
- no command printed a false error (see `judge`).

    python bench/stress.py [--clones 20] [--seconds 600] [--seed N] [--json FILE]

tests/test_stress.py runs the same code small (8 clones, 35 s by default). Both read
INCIDENTCTL_STRESS_CLONES, INCIDENTCTL_STRESS_SECONDS and INCIDENTCTL_STRESS_SEED. The
server is a `git daemon` with pushes enabled on 127.0.0.1 (tests/gitserver.py); each
incidentctl command is the installed console script in a child process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = str(Path(sys.executable).parent / "incidentctl")
PAUSE = 1.5  # a clone waits up to this long (uniformly) between two commands
DECLARE_SHARE = 0.1  # of a clone's commands; the rest are notes
MANUAL_SYNC_SHARE = 0.4  # after a command, a manual clone syncs this often
COMMAND_TIMEOUT = 300.0


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


# -- one clone's worker: a process of its own -----------------------------------------


def worker(spec: dict) -> None:
    """Run commands against one clone until the deadline; one JSON line per command."""
    rng = random.Random(spec["seed"])
    repo, name, auto = spec["repo"], spec["name"], spec["auto"]
    n = 0
    with open(spec["log"], "a", encoding="utf-8") as log:

        def run(kind: str, *argv: str) -> None:
            began = time.time()
            try:
                done = subprocess.run(
                    [BIN, "--repo", repo, *argv],
                    capture_output=True,
                    text=True,
                    timeout=COMMAND_TIMEOUT,
                    cwd=spec["cwd"],
                )
                code, out, err = done.returncode, done.stdout, done.stderr
            except subprocess.TimeoutExpired as exc:
                code, out, err = -9, str(exc.stdout or ""), f"TIMEOUT {exc.stderr or ''}"
            line = {"clone": name, "auto": auto, "kind": kind, "argv": list(argv)}
            line.update(code=code, out=out, err=err, t0=began, t1=time.time())
            log.write(json.dumps(line) + "\n")
            log.flush()

        while time.time() < spec["deadline"]:
            time.sleep(rng.uniform(0, PAUSE))
            if time.time() >= spec["deadline"]:
                break
            n += 1
            if rng.random() < DECLARE_SHARE:
                run("declare", "declare", f"{name} {n}: disk full on db-{n}", "-s", "P2", "--json")
            else:
                text = f'{name} #{n}: saw "5xx" {{{{ spike }}}} <!here> 🔥'
                run("note", "note", rng.choice(spec["incidents"]), text, "--json")
            if not auto and rng.random() < MANUAL_SYNC_SHARE:
                run("sync", "sync", "--json")


# -- the run --------------------------------------------------------------------------


@dataclass
class Figures:
    clones: int
    seconds: int
    seed: int
    server: str
    wall: float = 0.0  # seconds, set-up to the last check
    busy: float = 0.0  # seconds the clones worked concurrently
    commands: int = 0
    events: int = 0  # events in the final history
    recorded: int = 0  # events the commands reported as recorded
    declared: int = 0
    notes: int = 0
    renumbered: int = 0
    syncs: int = 0  # manual `sync` commands plus automatic syncs after an event
    retries: int = 0
    races: int = 0
    gave_up: int = 0  # syncs that lost more than push_retries races in a row (legitimate)
    final_round: float = 0.0  # seconds for the final syncs
    slowest_command: float = 0.0
    false_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"stress: {self.clones} clones, {self.busy:.0f} s of concurrent work "
            f"({self.wall:.0f} s wall): {self.commands} commands, {self.events} events "
            f"({self.declared} declared, {self.notes} notes, {self.renumbered} renumbered), "
            f"{self.syncs} syncs, {self.races} races lost, {self.retries} retries, "
            f"{self.gave_up} gave up after the retries, final round {self.final_round:.1f} s, "
            f"slowest command {self.slowest_command:.1f} s; "
            f"{len(self.false_errors)} false errors, {len(self.problems)} problems"
        )


def isolated_env(home: Path) -> dict[str, str]:
    """The clones' environment: a HOME, config and git identity of their own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INCIDENTCTL_", "GIT_")) and k not in ("NO_COLOR", "TZ")
    }
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Stress Responder\n\temail = stress@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
        "[gc]\n\tauto = 0\n"
    )
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        NO_COLOR="1",
        COLUMNS="200",
        TERM="dumb",
    )
    return env


def _cli(env: dict, cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIN, *argv], env=env, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT
    )


def _git(path: Path, *argv: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *argv], cwd=path, env=env, capture_output=True, text=True)


def _must(done: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stderr}")
    return done


def run(
    root: Path, url: str, bare: Path, clones: int, seconds: int, seed: int, *, server: str = ""
) -> Figures:
    """The whole stress run in `root`, against the empty bare repo `bare` that the server
    serves at `url`."""
    began = time.monotonic()
    root.mkdir(parents=True, exist_ok=True)
    figures = Figures(clones, seconds, seed, server or url)
    env = isolated_env(root / "home")
    names = [f"c{i:02d}" for i in range(clones)]
    repos = [root / name for name in names]
    # the team: the first clone publishes, declares the two shared incidents, the rest join
    _must(_cli(env, root, "init", str(repos[0]), "--remote", url), "init --remote")
    shared_ids, before = [], set()
    for title in ("Checkout returning 503", "Search latency over 5 s"):
        argv = ("--repo", str(repos[0]), "declare", title, "-s", "P1", "--json")
        data = json.loads(_must(_cli(env, root, *argv), "declare").stdout)
        shared_ids.append(data["id"])
        before.update(e["id"] for e in data["events"])
    _must(_cli(env, root, "--repo", str(repos[0]), "sync"), "sync")
    for repo in repos[1:]:
        _must(_cli(env, root, "clone", url, str(repo)), "clone")
    for i, repo in enumerate(repos):
        _must(_git(repo, "config", "user.name", f"Responder {names[i]}", env=env), "git config")
        if i % 2 == 0:  # a local, uncommitted setting: this clone syncs after every event
            config = repo / "incidentctl.toml"
            text = config.read_text(encoding="utf-8")
            config.write_text(text.replace('mode = "manual"', 'mode = "auto"'), encoding="utf-8")
    logs = root / "logs"
    logs.mkdir()
    start = time.time() + 1.0
    deadline = start + seconds
    procs = []
    for i, (name, repo) in enumerate(zip(names, repos, strict=True)):
        spec = {
            "repo": str(repo),
            "name": name,
            "auto": i % 2 == 0,
            "seed": seed * 1000 + i,
            "deadline": deadline,
            "incidents": shared_ids,
            "log": str(logs / f"{name}.jsonl"),
            "cwd": str(root),
        }
        procs.append(
            subprocess.Popen([sys.executable, __file__, "worker", json.dumps(spec)], env=env)
        )
    for proc in procs:
        proc.wait()
        if proc.returncode != 0:
            figures.problems.append(f"a worker exited with {proc.returncode}")
    figures.busy = time.time() - start

    records = []
    for log in sorted(logs.glob("*.jsonl")):
        records += [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    recorded, handed_out = judge(records, figures)
    recorded |= before

    # the final round: everyone syncs, twice around (the first gathers, the second spreads)
    final = time.monotonic()
    for repo in repos + repos:
        done = _cli(env, root, "--repo", str(repo), "sync", "--json")
        figures.syncs += 1
        if done.returncode != 0:
            figures.problems.append(f"final sync in {repo.name} failed: {done.stderr.strip()}")
        else:
            data = json.loads(done.stdout)
            figures.retries += data["retries"]
            figures.races += data["races"]
    figures.final_round = time.monotonic() - final

    check(root, env, repos, bare, recorded, handed_out, figures)
    figures.wall = time.monotonic() - began
    return figures


# -- what the commands said -----------------------------------------------------------

# Lines a command may print on stderr in this run: what it did, never a complaint.
_TALK = re.compile(
    r"^(INC-\S+: recorded \w+ · commit \w+"
    r"|synced with \S+: .*"
    r"|INC-\S+ was already taken on \S+: your incident INC-\S+ is now INC-\S+"
    r"|taking \d+ commits? from \S+(; replaying \d+ commits? of yours on top)?"
    r"|pushing \d+ commits? to \S+"
    r"|someone pushed first; fetching again \(retry \d+ of \d+\))$"
)
# The one legitimate failure here: contention beyond [sync] push_retries. The events stay
# committed and go out with the next sync; the message says so.
_GAVE_UP = re.compile(r"kept moving: the push lost the race (\d+) times?")
_AUTO_RACES = re.compile(r"after (\d+) lost races?")


def judge(records: list[dict], figures: Figures) -> tuple[set[str], list[tuple[str, str]]]:
    """Count what the commands did, and flag every false error: a non-zero exit, or an
    `error:`/`warning:` line, or any line that is not plain talk, except a sync that gave
    up after push_retries lost races (exit 1 for `sync`, a warning after an event)."""
    recorded: set[str] = set()
    handed_out: list[tuple[str, str]] = []
    for r in records:
        figures.commands += 1
        figures.slowest_command = max(figures.slowest_command, r["t1"] - r["t0"])
        where = f"{r['clone']}: incidentctl {' '.join(r['argv'])} -> {r['code']}"
        lines = [line for line in r["err"].splitlines() if line.strip()]
        gave_up = [m for line in lines if (m := _GAVE_UP.search(line))]
        if gave_up:
            figures.gave_up += 1
            figures.races += int(gave_up[0][1])
            figures.retries += int(gave_up[0][1]) - 1
        if r["kind"] == "sync":
            figures.syncs += 1
            if r["code"] == 0:
                data = json.loads(r["out"])
                figures.retries += data["retries"]
                figures.races += data["races"]
            elif not (r["code"] == 1 and gave_up and lines[-1].startswith("hint: ")):
                figures.false_errors.append(f"{where}: {r['err'].strip()}")
                continue
        else:
            if r["code"] != 0:
                figures.false_errors.append(f"{where}: {r['err'].strip()}")
                continue
            data = json.loads(r["out"])
            recorded.update(e["id"] for e in data["events"])
            if r["kind"] == "declare":
                figures.declared += 1
                handed_out.append((data["id"], data["uid"]))
            else:
                figures.notes += 1
            if r["auto"]:
                figures.syncs += 1
                for line in lines:
                    if line.startswith("synced with") and (m := _AUTO_RACES.search(line)):
                        figures.races += int(m[1])
                        figures.retries += int(m[1])
        for line in lines:
            legit_failure = gave_up and (
                line.startswith(("error: ", "warning: not synced: ")) or line.startswith("hint: ")
            )
            if not legit_failure and not _TALK.match(line):
                figures.false_errors.append(f"{where}: {line}")
    figures.recorded = len(recorded)
    return recorded, handed_out


# -- the guarantees -------------------------------------------------------------------


def check(
    root: Path,
    env: dict,
    repos: list[Path],
    bare: Path,
    recorded: set[str],
    handed_out: list[tuple[str, str]],
    figures: Figures,
) -> None:
    problems = figures.problems
    heads = {_git(repo, "rev-parse", "HEAD", env=env).stdout.strip() for repo in repos}
    heads.add(_git(bare, "--git-dir", str(bare), "rev-parse", "main", env=env).stdout.strip())
    if len(heads) != 1:
        problems.append(f"the clones and the server have {len(heads)} different HEADs")
    sets = []
    for repo in repos:
        files = _git(repo, "ls-files", "incidents", env=env).stdout.split()
        sets.append(frozenset(f for f in files if "/events/" in f))
    if len(set(sets)) != 1:
        problems.append("the clones have different event sets")
    events = sets[0]
    ids = [Path(p).stem.rsplit("-", 1)[-1] for p in events]
    figures.events = len(events)
    if len(ids) != len(set(ids)):
        problems.append("an event is in the history twice")
    lost = recorded - set(ids)
    if lost:
        problems.append(f"{len(lost)} recorded events are missing: {sorted(lost)[:5]}")
    for path in events:  # anything nobody recorded is a renumbering made by sync
        if Path(path).stem.rsplit("-", 1)[-1] not in recorded:
            if 'type = "renumbered"' in (repos[0] / path).read_text(encoding="utf-8"):
                figures.renumbered += 1
            else:
                problems.append(f"an event nobody recorded: {path}")
    problems += _check_ids(repos[0], handed_out)
    for repo in (repos[0], repos[-1]):
        done = _cli(env, root, "--repo", str(repo), "verify")
        if done.returncode != 0:
            problems.append(f"verify in {repo.name}: {done.stdout}{done.stderr}")
    done = _cli(env, root, "--repo", str(bare), "verify")
    if done.returncode != 0:
        problems.append(f"verify on the server: {done.stdout}{done.stderr}")
    for path in [*repos, bare]:
        done = _git(path, "fsck", "--strict", "--no-dangling", env=env)
        said = (done.stdout + done.stderr).strip()
        if done.returncode != 0 or said:
            problems.append(f"git fsck in {path.name}: {said or done.returncode}")


def _check_ids(repo: Path, handed_out: list[tuple[str, str]]) -> list[str]:
    """Human IDs unique; every ID a declare handed out resolves: to its incident, or to the
    one that kept the number when its own was renumbered away (which resolves by its new
    number)."""
    from incidentctl.services.lookup import find_incident
    from incidentctl.services.workspace import open_workspace

    problems = []
    ws = open_workspace(str(repo))
    loaded, bad = ws.repo.load_all()
    if bad:
        problems.append(f"unreadable files: {bad}")
    current = [item.state.human_id for item in loaded]
    if len(current) != len(set(current)):
        problems.append(
            f"human IDs used twice: {sorted(h for h in current if current.count(h) > 1)}"
        )
    states = {item.state.uid: item.state for item in loaded}
    for human_id, uid in handed_out:
        if uid not in states:
            problems.append(f"incident {uid} ({human_id}) is missing")
            continue
        found = find_incident(ws, human_id).incident.state
        if found.uid != uid:
            if human_id not in states[uid].aliases or found.human_id != human_id:
                problems.append(f"{human_id} no longer resolves to {uid} or to its new holder")
            elif find_incident(ws, states[uid].human_id).incident.state.uid != uid:
                problems.append(f"{states[uid].human_id} does not resolve to {uid}")
    return problems


# -- the command line -----------------------------------------------------------------


def main(argv: list[str]) -> int:
    if argv[:1] == ["worker"]:
        worker(json.loads(argv[1]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clones", type=int, default=env_int("INCIDENTCTL_STRESS_CLONES", 20))
    parser.add_argument("--seconds", type=int, default=env_int("INCIDENTCTL_STRESS_SECONDS", 600))
    parser.add_argument("--seed", type=int, default=env_int("INCIDENTCTL_STRESS_SEED", 1))
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the clones and logs")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent / "tests"))
    from gitserver import GitDaemon

    root = Path(tempfile.mkdtemp(prefix="incidentctl-stress-"))
    try:
        with GitDaemon(root / "server") as server:
            hosted = server.new_repo("team.git")
            figures = run(
                root / "team",
                hosted.url,
                hosted.path,
                args.clones,
                args.seconds,
                args.seed,
                server="git daemon on 127.0.0.1",
            )
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(figures.line())
    for item in figures.false_errors[:20] + figures.problems[:20]:
        print(f"  {item}")
    if args.json:
        args.json.write_text(json.dumps(asdict(figures), indent=2) + "\n", encoding="utf-8")
    return 0 if not figures.false_errors and not figures.problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
