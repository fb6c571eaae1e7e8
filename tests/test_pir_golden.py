"""`pir generate` against golden files: both seed templates, a complete and a sparse incident.

Regenerate the golden files after an intended change with:
    INCIDENTCTL_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_pir_golden.py
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from conftest import Cli, git, run_cli
from incidentctl.domain import events as ev
from review_support import EventWriter, utc

GOLDEN = Path(__file__).parent / "golden" / "pir"
UPDATE = os.environ.get("INCIDENTCTL_UPDATE_GOLDEN") == "1"
M = timedelta(minutes=1)


def build(repo: Path) -> dict[str, Path]:
    """A complete (resolved, reviewed) incident with nasty text, and a sparse open one."""
    w = EventWriter(repo)
    t = utc("2026-02-12T14:23")
    uid = w.declare(
        "INC-2026-02-12-001",
        'API returning 503 | <!channel> {{ config }} "quoted" *bold*',
        "P0",
        t,
        services=["api", "auth_svc"],
        impact="All logins fail",
        commander="@sarah-sre",
        responders=["@mike-backend"],
        detected_at=t - 8 * M,
        author="@sarah-sre",
    )
    w.write(ev.Acknowledged, uid, t + 3 * M, author="@mike-backend")
    w.write(ev.RoleAssigned, uid, t + 4 * M, role="comms-lead", user="@ops-lead")
    w.write(
        ev.StatusChanged,
        uid,
        t + 7 * M,
        status="identified",
        previous="investigating",
        message="Memory leak in v2.3.1 `heap` <@U123>",
    )
    w.write(ev.NoteAdded, uid, t + 12 * M, text="Rollback deployment", kind="decision")
    w.write(ev.Mitigated, uid, t + 19 * M, message="Rollback complete; errors back to 0.1%")
    w.write(
        ev.Resolved,
        uid,
        t + 97 * M,
        root_cause="A memory leak in v2.3.1's request cache\nexhausted pod memory.",
        resolution="Rolled back to v2.3.0 & restarted the pods.",
        category="deploy",
    )
    day2 = utc("2026-02-13T10:00")
    review = [
        ("summary", "A deploy leaked memory; the API returned 503 for 97 minutes.\n\nRolled back."),
        ("customers-affected", "87 (12% of total)"),
        ("revenue-impact", "₹45,000 in SLA credits"),
        ("why", "Why did the API fail? → Pods ran out of memory"),
        ("why", "Why? → {{ 7*7 }} {% raw %} a cache without a bound"),
        ("why", "Why?\n→ no memory test in CI"),
        ("factor", "Staging has 1/10th of prod traffic"),
        ("went-well", "Fast rollback 🚀"),
        ("went-well", "Clear escalation path"),
        ("went-wrong", "Customer comms took 25 min (should be <15)"),
        ("lesson", "Staging missed it → Action: replay prod traffic"),
        ("attendee", "@sarah-sre (IC)"),
        ("attendee", "@mike-backend (TL)"),
    ]
    for n, (section, text) in enumerate(review):
        w.write(ev.PirEntry, uid, day2 + n * M, section=section, text=text)
    w.write(ev.PirScheduled, uid, day2 + 30 * M, review_at=utc("2026-02-14T10:00"))
    a1 = w.write(
        ev.ActionAdded,
        uid,
        day2 + 31 * M,
        number=1,
        title="Add memory leak detection to CI | pipeline",
        owner="@mike-backend",
        due=date(2026, 2, 20),
        priority="P0",
    )
    w.write(
        ev.ActionAdded,
        uid,
        day2 + 32 * M,
        number=2,
        title="Automate deployment rollback",
        owner="@devops-team",
        due=date(2026, 2, 28),
        priority="P1",
        kind="corrective",
    )
    w.write(ev.ActionUpdated, uid, day2 + 40 * M, action=a1, number=1, status="in-progress")
    w.write(ev.PirCompleted, uid, utc("2026-02-14T11:00"))

    sparse_at = utc("2026-02-15T09:00")
    sparse = w.declare("INC-2026-02-15-001", "Scheduler slow", "P2", sparse_at)
    w.write(ev.Acknowledged, sparse, sparse_at + 20 * M)
    w.commit()
    return {"complete": w.folders[uid], "sparse": w.folders[sparse]}


def normalise(text: str, repo: Path, folder: Path) -> str:
    """Commit IDs depend on when the fixture was committed: name them instead."""
    commits = git(repo, "log", "--format=%H", "--", str(folder / "events")).split()
    return text.replace(commits[-1][:12], "<first-commit>").replace(
        commits[0][:12], "<last-commit>"
    )


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"missing golden file {path}: run with INCIDENTCTL_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "template", ["waooaw", "white-room", "waooaw-extended", "white-room-extended"]
)
def test_pir_generate_matches_golden_files(tmp_path, template):
    repo = tmp_path / "repo"
    assert run_cli("init", str(repo), "--example", "waooaw").code == 0
    folders = build(repo)
    cli = Cli(repo)

    complete = cli("pir", "generate", "INC-2026-02-12-001", "--template", template)
    assert complete.err == ""
    check_golden(f"complete-{template}.md", normalise(complete.out, repo, folders["complete"]))
    again = cli("pir", "generate", "INC-2026-02-12-001", "--template", template)
    assert again.out == complete.out  # same events, same bytes

    sparse = cli("pir", "generate", "INC-2026-02-15-001", "-t", template)
    assert (
        "warning: INC-2026-02-15-001 is still investigating: this review is a draft" in sparse.err
    )
    check_golden(f"sparse-{template}.md", normalise(sparse.out, repo, folders["sparse"]))
