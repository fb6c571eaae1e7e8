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
NOTE_KINDS = ("note", "finding", "hypothesis", "decision", "action", "update")
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


def _cached(root: Path) -> dict[str, _Incident]:
    """What the state cache last held, from the summary written beside it
    (store/cache.py): JSON, not the pickle, so a Tab costs milliseconds at any size."""
    import json

    from incidentctl.store.locate import git_dir_of

    path = git_dir_of(root) / "incidentctl" / "cache" / "summary.json"
    try:
        rows = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    found = {}
    for row in rows if isinstance(rows, list) else []:
        try:
            name, human_id, severity, status, title, actions = row
            found[name] = _Incident(
                str(human_id),
                str(title),
                str(severity),
                str(status),
                str(name)[:26],
                tuple((int(n), str(t)) for n, t in actions),
            )
        except (TypeError, ValueError):
            continue
    return found


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


def _incidents(root: Path) -> list[_Incident]:
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
                found[name] = item
    return list(found.values())


def _ordered(items: list[_Incident]) -> list[_Incident]:
    open_ = sorted((i for i in items if i.status != "resolved"), key=lambda i: i.declared)
    closed = sorted((i for i in items if i.status == "resolved"), key=lambda i: i.declared)
    return open_[::-1] + closed[::-1]


def incidents(explicit_repo: str | None, incomplete: str = "") -> list[Choice]:
    """`-`, then the open incidents, newest first, then the resolved ones; each with
    its severity, status and title as the help."""
    choices = [Choice("-", "the current incident")]
    root = _root(explicit_repo)
    if root is None:
        return choices
    for i in _ordered(_incidents(root)):
        if i.human_id.startswith(incomplete.upper()) or not incomplete:
            choices.append(Choice(i.human_id, f"{i.severity} {i.status}: {i.title}"))
    return choices


def action_ids(explicit_repo: str | None) -> list[Choice]:
    """INC-...#A<n> for every open action item the cache knows of."""
    root = _root(explicit_repo)
    if root is None:
        return []
    return [
        Choice(f"{i.human_id}#A{number}", title)
        for i in _ordered(list(_cached(root).values()))
        for number, title in i.actions
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
