"""Turning what a responder types (INC-..., a ULID prefix, `-` or `last`) into an incident."""

from __future__ import annotations

from dataclasses import dataclass

from incidentctl.domain import ids
from incidentctl.domain.ulid import ALPHABET
from incidentctl.errors import BadFileError, NotFoundError, UsageError
from incidentctl.services.workspace import Workspace
from incidentctl.store.repo import LoadedIncident

LAST = ("-", "last")


@dataclass
class Found:
    incident: LoadedIncident
    note: str = ""  # e.g. "INC-...-001 is now INC-...-003 (renumbered)"


def find_incident(ws: Workspace, ref: str) -> Found:
    text = ref.strip()
    if not text:
        raise UsageError("empty incident reference", hint="give an ID like INC-2026-02-12-001")
    if text.lower() in LAST:
        return Found(_last_open(ws))
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
        hint="see the IDs with: incidentctl list --all (an ID, a ULID prefix, or - for the last)",
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


def _last_open(ws: Workspace) -> LoadedIncident:
    for folder in reversed(ws.repo.incident_folders()):
        try:
            loaded = ws.repo.load(folder)
        except BadFileError:
            continue
        if loaded.state.is_open:
            return loaded
    raise NotFoundError(
        "no open incident", hint="declare one with: incidentctl declare TITLE -s P1"
    )
