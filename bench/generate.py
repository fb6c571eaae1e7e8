"""Build a benchmark incident repo of N incidents, ~20 events each, committed the way
incidentctl commits them (one event file per commit, same message and trailers),
through `git fast-import` so that N = 10,000 takes about a minute, not hours.

    python bench/generate.py N PATH [--seed S]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from incidentctl.domain import events as ev
from incidentctl.domain import ids
from incidentctl.domain.ulid import new_ulid
from incidentctl.store.commits import event_message
from incidentctl.store.config import default_config_text
from incidentctl.store.repo import IncidentRepo, event_file_name, serialise_event

PEOPLE = ["@sarah-sre", "@mike-backend", "@ops-lead", "@dana", "@lee", "@priya", "@tom"]
SERVICES = ["api", "scheduler", "auth", "payments", "search", "web", "db"]
CATEGORIES = ["deploy", "capacity", "config", "dependency", "database", "network"]
SEVERITIES = ["P0", "P1", "P1", "P2", "P2", "P2", "P3", "P3"]


def incident_events(rng: random.Random, declared_at: datetime, seq_by_day: dict) -> list:
    uid = new_ulid(declared_at, rng.randbytes(10))
    day = declared_at.date()
    seq_by_day[day] = seq_by_day.get(day, 0) + 1
    human_id = ids.format_id(ids.DEFAULT_ID_FORMAT, day, seq_by_day[day])
    t = declared_at

    def at(minutes: float) -> datetime:
        nonlocal t
        t = t + timedelta(minutes=minutes)
        return t

    def base(when: datetime) -> dict:
        return dict(
            id=new_ulid(when, rng.randbytes(10)),
            incident=uid,
            at=when,
            recorded_at=when + timedelta(seconds=rng.randint(0, 30)),
            author=rng.choice(PEOPLE),
        )

    severity = rng.choice(SEVERITIES)
    title = f"{rng.choice(SERVICES)} {rng.choice(['errors', 'latency', 'outage', 'degraded'])} #{seq_by_day[day]}"
    events: list = [
        ev.Declared(
            id=uid,
            incident=uid,
            at=declared_at,
            recorded_at=declared_at,
            author=rng.choice(PEOPLE),
            human_id=human_id,
            title=title,
            severity=severity,
            services=rng.sample(SERVICES, 2),
            impact="Some customers see errors",
            commander=rng.choice(PEOPLE),
            responders=rng.sample(PEOPLE, 2),
            detected_at=declared_at - timedelta(minutes=rng.randint(1, 15)),
        )
    ]
    events.append(ev.Acknowledged(**base(at(rng.uniform(1, 20)))))
    events.append(ev.RoleAssigned(**base(at(1)), role="scribe", user=rng.choice(PEOPLE)))
    for n in range(rng.randint(6, 10)):
        kind = rng.choice(["finding", "hypothesis", "update", "action"])
        events.append(
            ev.NoteAdded(
                **base(at(rng.uniform(1, 10))), text=f"{kind} {n}: checked logs", kind=kind
            )
        )
    events.append(
        ev.StatusChanged(
            **base(at(5)), status="identified", previous="investigating", message="found it"
        )
    )
    events.append(ev.ImpactChanged(**base(at(2)), impact="About 40% of requests fail"))
    if rng.random() < 0.3:
        events.append(
            ev.SeverityChanged(
                **base(at(1)), severity="P1", previous=severity, reason="wider than thought"
            )
        )
    for n in range(rng.randint(2, 4)):
        events.append(
            ev.NoteAdded(**base(at(rng.uniform(2, 15))), text=f"update {n}", kind="update")
        )
    events.append(ev.Mitigated(**base(at(rng.uniform(5, 60))), message="rolled back"))
    if rng.random() < 0.98:
        events.append(
            ev.Resolved(
                **base(at(rng.uniform(10, 600))),
                root_cause="bad deploy",
                resolution="rollback and fix",
                category=rng.choice(CATEGORIES),
            )
        )
    return events


def write_stream(out, events, repo: IncidentRepo, folder: Path, mark: int, human_id: str) -> int:
    for event in events:
        data = serialise_event(event)
        path = repo.rel(folder / "events" / event_file_name(event))
        digest = hashlib.sha256(data).hexdigest()
        message = event_message(human_id, event, digest, f"{event.type}").encode()
        stamp = int(event.recorded_at.timestamp())
        who = f"{event.author.lstrip('@')} <{event.author.lstrip('@')}@example.com> {stamp} +0000"
        mark += 1
        out.write(f"commit refs/heads/main\nmark :{mark}\nauthor {who}\ncommitter {who}\n".encode())
        out.write(f"data {len(message)}\n".encode() + message + b"\n")
        out.write(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
    return mark


def generate(n: int, target: Path, seed: int = 1) -> None:
    rng = random.Random(seed)
    target.mkdir(parents=True, exist_ok=False)
    subprocess.run(["git", "init", "-q", "-b", "main", str(target)], check=True)
    repo = IncidentRepo(target)
    config = default_config_text().encode()
    start = datetime(2026, 11, 1, tzinfo=UTC) - timedelta(days=max(30, n // 8))
    span = (datetime(2026, 11, 1, tzinfo=UTC) - start).total_seconds()
    stamps = sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in range(n))
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"], cwd=target, stdin=subprocess.PIPE
    )
    out = proc.stdin
    assert out is not None
    message = b"incidentctl: initialise incident repo"
    who = f"bench <bench@example.com> {int(start.timestamp())} +0000"
    out.write(f"commit refs/heads/main\nmark :1\nauthor {who}\ncommitter {who}\n".encode())
    out.write(f"data {len(message)}\n".encode() + message + b"\n")
    out.write(f"M 100644 inline incidentctl.toml\ndata {len(config)}\n".encode() + config + b"\n")
    mark = 1
    seq_by_day: dict = {}
    for declared_at in stamps:
        events = incident_events(rng, declared_at, seq_by_day)
        declared = events[0]
        folder = repo.new_folder(declared.incident, declared.title)
        mark = write_stream(out, events, repo, folder, mark, declared.human_id)
    out.write(b"done\n")
    out.close()
    if proc.wait() != 0:
        sys.exit("git fast-import failed")
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=target, check=True)
    # what a repo incidentctl made has by now: `init` writes the first commit-graph with
    # changed-path filters, and git's gc keeps them (store/commitgraph.py)
    subprocess.run(["git", "config", "fetch.writeCommitGraph", "true"], cwd=target, check=True)
    subprocess.run(
        ["git", "commit-graph", "write", "--reachable", "--changed-paths", "--split"],
        cwd=target,
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("path", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.n, args.path, args.seed)


if __name__ == "__main__":
    main()
