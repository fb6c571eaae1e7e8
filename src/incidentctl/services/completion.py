"""What shell completion offers: incident IDs, runbooks and their steps, templates,
roles, severities, statuses, note kinds and action IDs.

A completion runs on every Tab, so it reads only what it needs, and nothing it need
not: the summary the state cache writes beside itself (no git, no check that it is
current: a suggestion may be as old as the last `list` or `status`), the event files of incidents declared in the last
two days that the cache does not hold yet, and the runbook, template and config files
with tomllib. No event model, no GitPython, no Jinja2. Nothing here raises: a
completion that cannot read something offers less.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# the domain's names, kept here so that completing them imports no event model;
# tests/test_completion.py checks they are the domain's
STATUSES = ("investigating", "identified", "monitoring", "resolved")
NOTE_KINDS = ("note", "finding", "hypothesis", "decision", "action", "update", "runbook", "inject")
ACTION_STATUSES = ("not-started", "in-progress", "done", "wont-do")
RECENT = timedelta(days=2)  # uncached incidents declared this recently are read


@dataclass(frozen=True)
class Choice:
    value: str
    help: str = ""


def _root(explicit: str | None) -> Path | None:
    from incidentctl.store.locate import CONFIG_NAME, locate

    try:
        root = locate(explicit).root
    except Exception:
        return None
    return root if (root / CONFIG_NAME).is_file() else None


def _toml(path: Path) -> dict:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}


@dataclass
class _Incident:
    human_id: str
    title: str
    severity: str
    status: str
    declared: str  # sortable: the folder's ULID
    actions: tuple[tuple[int, str], ...] = ()


def _cached(root: Path) -> dict[str, list]:
    """What the state cache last held, from the summary written beside it
    (store/cache.py): JSON rows [folder, ID, severity, status, title, actions], not the
    pickle, so a Tab costs milliseconds at any size."""
    import json

    from incidentctl.store.cache import summary_path

    path = summary_path(root)
    try:
        rows = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(rows, list):
        return {}
    return {row[0]: row for row in rows if isinstance(row, list) and len(row) == 6}


def _row(i: _Incident) -> list:
    return [i.declared, i.human_id, i.severity, i.status, i.title, list(i.actions)]


def _from_files(folder: Path) -> _Incident | None:
    """An uncached incident from its event files, read as TOML, not folded: its
    human ID, title, severity and whether its last resolve was undone."""
    try:
        files = sorted((folder / "events").glob("*.toml"))
    except OSError:
        return None
    incident = None
    for path in files:
        data = _toml(path)
        kind = data.get("type")
        if kind == "declared":
            incident = _Incident(
                str(data.get("human_id", "")),
                str(data.get("title", "")),
                str(data.get("severity", "")),
                str(data.get("status", "investigating")),
                folder.name[:26],
            )
        elif incident is None:
            continue
        elif kind == "status_changed":
            incident.status = str(data.get("status", incident.status))
        elif kind == "severity_changed":
            incident.severity = str(data.get("severity", incident.severity))
        elif kind == "resolved":
            incident.status = "resolved"
        elif kind in ("reopened", "mitigated") and data.get("status"):
            incident.status = str(data["status"])
        elif kind == "reopened":
            incident.status = "investigating"
        elif kind == "renumbered":
            incident.human_id = str(data.get("human_id", incident.human_id))
    return incident if incident and incident.human_id else None


def _incidents(root: Path) -> list[list]:
    """Rows as in the summary, the last two days' uncached folders added."""
    from incidentctl.domain.ulid import is_ulid, ulid_time

    found = _cached(root)
    now = datetime.now(UTC)
    years = {now.year, (now - RECENT).year}
    for year in sorted(years):
        try:
            entries = list(os.scandir(root / "incidents" / f"{year:04d}"))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name in found or not is_ulid(name[:26]):
                continue
            if now - ulid_time(name[:26]) > RECENT:
                continue
            item = _from_files(Path(entry.path))
            if item is not None:
                found[name] = _row(item)
    return list(found.values())


RESOLVED_OFFERED = 20  # resolved incidents offered before a prefix narrows them


def _ordered(rows: list[list]) -> list[list]:
    """Open incidents newest first, then resolved ones newest first (the folder name
    starts with the declaration's ULID, so it sorts by time)."""
    rows = sorted(rows, key=lambda r: str(r[0]), reverse=True)
    return [r for r in rows if r[3] != "resolved"] + [r for r in rows if r[3] == "resolved"]


def incidents(explicit_repo: str | None, incomplete: str = "") -> list[Choice]:
    """`-`, then the open incidents, newest first, then the resolved ones; each with
    its severity, status and title as the help. Of the resolved, the newest
    RESOLVED_OFFERED, until the prefix typed names a day (INC-2026-02-12) or more."""
    choices = [Choice("-", "the current incident")]
    root = _root(explicit_repo)
    if root is None:
        return choices
    prefix = incomplete.upper()
    resolved_left = RESOLVED_OFFERED if len(prefix) < len("INC-YYYY-MM-DD") else None
    for _name, human_id, severity, status, title, _actions in _ordered(_incidents(root)):
        if not str(human_id).startswith(prefix):
            continue
        if status == "resolved" and resolved_left is not None:
            if resolved_left == 0:
                continue
            resolved_left -= 1
        choices.append(Choice(str(human_id), f"{severity} {status}: {title}"))
    return choices


def action_ids(explicit_repo: str | None) -> list[Choice]:
    """INC-...#A<n> for every open action item the cache knows of."""
    root = _root(explicit_repo)
    if root is None:
        return []
    return [
        Choice(f"{row[1]}#A{number}", str(title))
        for row in _ordered(list(_cached(root).values()))
        for number, title in row[5]
    ]


def _runbook_files(root: Path | None) -> dict[str, Path]:
    import incidentctl

    files = {p.stem: p for p in (Path(incidentctl.__file__).parent / "runbooks").glob("*.toml")}
    if root is not None:
        files.update({p.stem: p for p in (root / "runbooks").glob("*.toml")})
    return files


def runbooks(explicit_repo: str | None) -> list[Choice]:
    files = _runbook_files(_root(explicit_repo))
    return [Choice(name, str(_toml(path).get("title", ""))) for name, path in sorted(files.items())]


def runbook_steps(explicit_repo: str | None, name: str | None) -> list[Choice]:
    path = _runbook_files(_root(explicit_repo)).get(name or "")
    if path is None:
        return []
    choices = []
    for phase in _toml(path).get("phases", []) or []:
        for step in phase.get("steps", []) or [] if isinstance(phase, dict) else []:
            if isinstance(step, dict) and step.get("id"):
                choices.append(Choice(str(step["id"]), str(step.get("text", ""))[:80]))
    return choices


def templates(explicit_repo: str | None) -> list[Choice]:
    """Template names as `comms render` takes them: slack/declared, email/customer..."""
    import incidentctl

    bases = [Path(incidentctl.__file__).parent / "templates"]
    root = _root(explicit_repo)
    if root is not None:
        bases.append(root / "templates")
    names: dict[str, str] = {}
    for base in bases:
        for path in base.glob("*/*.j2"):
            stem = path.name.split(".", 1)[0]
            names[f"{path.parent.name}/{stem}"] = "repo" if base != bases[0] else "built-in"
    return [Choice(name, origin) for name, origin in sorted(names.items())]


def _config(explicit_repo: str | None) -> dict:
    import incidentctl

    defaults = _toml(Path(incidentctl.__file__).parent / "defaults" / "incidentctl.toml")
    root = _root(explicit_repo)
    team = _toml(root / "incidentctl.toml") if root is not None else {}
    return {**defaults, **team}


def roles(explicit_repo: str | None) -> list[Choice]:
    table = _config(explicit_repo).get("roles", {})
    return [Choice(k, str(v)) for k, v in table.items()] if isinstance(table, dict) else []


def severities(explicit_repo: str | None) -> list[Choice]:
    table = _config(explicit_repo).get("severity", {})
    if not isinstance(table, dict):
        return []
    return [
        Choice(k, str(v.get("label", "")) if isinstance(v, dict) else "") for k, v in table.items()
    ]


def statuses() -> list[Choice]:
    return [Choice(s) for s in STATUSES]


def note_kinds() -> list[Choice]:
    return [Choice(k) for k in NOTE_KINDS]


def action_statuses() -> list[Choice]:
    return [Choice(s) for s in ACTION_STATUSES]
