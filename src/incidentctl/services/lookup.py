"""Turning what a responder types (INC-..., a ULID prefix, or `-`) into an incident.

`-` means one thing everywhere: this clone's current incident. `declare` makes the new
incident current and `use INC` chooses one (store/current.py keeps it in the git dir);
naming an incident explicitly never changes it, and it stays current after it is
resolved. With none set (or one that is not in this repo), `-` is the only open
incident; with several open, or none, it is a usage error listing them. `last` is the
old spelling of `-` and means the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from incidentctl.domain import ids
from incidentctl.domain.ulid import ALPHABET
from incidentctl.errors import BadFileError, NotFoundError, RepoError, UsageError
from incidentctl.services.workspace import Workspace
from incidentctl.store.repo import LoadedIncident

CURRENT = ("-", "last")
LISTED = 10  # open incidents named in the error when `-` is ambiguous


@dataclass
class Found:
    incident: LoadedIncident
    note: str = ""  # e.g. "INC-...-001 is now INC-...-003 (renumbered)"


def find_incident(ws: Workspace, ref: str) -> Found:
    text = ref.strip()
    if not text:
        raise UsageError("empty incident reference", hint="give an ID like INC-2026-02-12-001")
    if text.lower() in CURRENT:
        return current_incident(ws).found
    fmt = ws.config.incident.id_format
    parsed = ids.parse_id(fmt, text)
    if parsed is not None:
        return _by_human_id(ws, text, parsed)
    prefix = text.upper()
    if len(prefix) >= 4 and all(c in ALPHABET for c in prefix):
        matches = ws.repo.folders_with_prefix(prefix)
        if len(matches) == 1:
            return Found(ws.repo.load(matches[0]))
        if len(matches) > 1:
            raise UsageError(
                f"{text!r} matches {len(matches)} incidents",
                hint="give more characters of the ULID, or the INC-... ID",
            )
    raise NotFoundError(
        f"no incident {text!r}",
        hint="see the IDs with: incidentctl list --all (an ID, a ULID prefix, or - for the current one)",
    )


def _by_human_id(ws: Workspace, text: str, parsed: tuple) -> Found:
    day, seq = parsed
    fmt, width = ws.config.incident.id_format, ws.config.incident.id_seq_width
    wanted = ids.format_id(fmt, day, seq, width)
    holder = old_holder = None
    for folder in ws.repo.folders_declared_on(day):
        try:
            current, former = ws.repo.human_ids(folder)
        except BadFileError:
            continue
        if ids.normalise_id(fmt, current, width) == wanted:
            holder = folder
        elif any(ids.normalise_id(fmt, a, width) == wanted for a in former):
            old_holder = folder
    if holder is not None:
        note = ""
        if old_holder is not None:
            # sync renumbered another incident away from this number: say where it went
            moved, _ = ws.repo.human_ids(old_holder)
            note = f"{wanted} is also the old number of {moved} (renumbered on sync)"
        return Found(ws.repo.load(holder), note=note)
    if old_holder is not None:
        loaded = ws.repo.load(old_holder)
        return Found(loaded, note=f"{wanted} was renumbered; it is now {loaded.state.human_id}")
    raise NotFoundError(f"no incident {text!r}", hint="see the IDs with: incidentctl list --all")


@dataclass
class Current:
    """What `-` is, and why: "set" (by declare or use) or "only open" (none set)."""

    found: Found
    how: str

    @property
    def state(self):
        return self.found.incident.state

    def to_dict(self) -> dict:
        s = self.state
        return {
            "id": s.human_id,
            "uid": s.uid,
            "title": s.title,
            "severity": s.severity,
            "status": s.status,
            "how": self.how,
            "notes": [self.found.note] if self.found.note else [],
        }


def current_incident(ws: Workspace) -> Current:
    """The incident `-` means. Raises UsageError when it cannot tell."""
    from incidentctl.store.current import read_current

    uid, problem = read_current(ws.repo.git_dir)
    note = problem
    if uid is not None:
        folders = [f for f in ws.repo.folders_with_prefix(uid) if f.name[:26] == uid]
        if folders:
            return Current(Found(ws.repo.load(folders[0])), "set")
        note = f"the current incident {uid} is not in this repo"
    return _only_open(ws, note)


def _only_open(ws: Workspace, note: str) -> Current:
    loaded, _problems = ws.repo.load_all()
    open_ = sorted(
        (item for item in loaded if item.brief.is_open),  # no closed state is unpickled
        key=lambda item: (item.brief.declared_at, item.brief.uid),
        reverse=True,
    )
    if len(open_) == 1:
        only = open_[0]
        said = f"{note}: - is {only.state.human_id}, the only open incident" if note else ""
        # read like an incident named by its ID (load_all may have it from the cache)
        return Current(Found(ws.repo.load(only.folder), note=said), "only open")
    lead = f"{note}, and" if note else "no current incident is set, and"
    if not open_:
        raise UsageError(
            f"- names no incident: {lead} no incident is open",
            hint="declare one with: incidentctl declare TITLE -s P1, "
            "or choose one with: incidentctl use INC",
        )
    names = [f"{i.state.human_id} ({i.state.severity} {i.state.title})" for i in open_[:LISTED]]
    if len(open_) > LISTED:
        names.append(f"and {len(open_) - LISTED} more (incidentctl list)")
    raise UsageError(
        f"- is ambiguous: {lead} {len(open_)} incidents are open: " + ", ".join(names),
        hint="choose one with: incidentctl use INC (then - means it), or give its ID",
    )


def use_incident(ws: Workspace, ref: str) -> Current:
    """Make the incident `ref` names current: `-` means it from now on, in this clone."""
    from incidentctl.store.current import write_current

    found = find_incident(ws, ref)
    try:
        write_current(ws.repo.git_dir, found.incident.state.uid)
    except OSError as exc:
        raise RepoError(
            f"cannot write the current incident in {ws.repo.git_dir}: {exc.strerror or exc}",
            hint="check the permissions of the repo's .git directory",
        ) from None
    return Current(found, "set")


def make_current(ws: Workspace, uid: str) -> str:
    """After `declare`: the new incident is current. Returns a note if it could not be
    saved (the declaration itself is committed either way)."""
    from incidentctl.store.current import write_current

    try:
        write_current(ws.repo.git_dir, uid)
    except OSError as exc:
        return f"could not make it the current incident ({exc.strerror or exc}): name its ID"
    return ""


def forget_current(ws: Workspace) -> bool:
    """`use --clear`: no current incident; False if none was set."""
    from incidentctl.store.current import clear_current

    return clear_current(ws.repo.git_dir)
