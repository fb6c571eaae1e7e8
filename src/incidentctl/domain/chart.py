"""The phases of an incident, for a picture of it: pure, from the folded state.

The marks are the moments the record knows, in the order they happen: detected,
declared, acknowledged, identified, mitigated, resolved. A phase runs from one known
mark to the next; a mark the record lacks is skipped, and a mark earlier than the one
before it (a back-dated detection, say) is moved up to it, so phases never run
backwards. An open incident's last phase runs to `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

MARKS = ("detected", "declared", "acknowledged", "identified", "mitigated", "resolved")
PHASE_NAMES = {  # the phase that ends at each mark
    "declared": "Detection to declaration",
    "acknowledged": "Acknowledgement",
    "identified": "Investigation",
    "mitigated": "Mitigation",
    "resolved": "Resolution",
}


@dataclass(frozen=True)
class Phase:
    id: str  # the mark it ends at, or "ongoing"
    name: str
    start: datetime
    end: datetime
    ongoing: bool = False


def marks(state: Any) -> list[tuple[str, datetime]]:
    """The known marks in order, none earlier than the one before."""
    found: list[tuple[str, datetime]] = []
    for mark in MARKS:
        at = getattr(state, f"{mark}_at", None)
        if at is None:
            continue
        if found and at < found[-1][1]:
            at = found[-1][1]
        found.append((mark, at))
    return found


def phases(state: Any, now: datetime | None = None) -> list[Phase]:
    known = marks(state)
    out = [Phase(b, PHASE_NAMES.get(b, b), start, end) for (_a, start), (b, end) in pairwise(known)]
    if known and known[-1][0] != "resolved" and now is not None and now > known[-1][1]:
        out.append(Phase("ongoing", "Ongoing", known[-1][1], now, ongoing=True))
    return out
