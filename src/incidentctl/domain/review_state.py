"""What an incident's folded state says of its review: section texts and deadlines.

Apart from domain/review.py, whose vocabulary and action items the folded state is made
of: the state imports that module, so that module cannot import the state."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from incidentctl.domain.incident import IncidentState
    from incidentctl.domain.policy import SeverityPolicy


# -- sections ------------------------------------------------------------------


def section_value(state: IncidentState, section: str) -> str:
    """The current text of a single-value section (the latest entry), or ''."""
    entries = state.pir.get(section, [])
    return entries[-1] if entries else ""


def section_list(state: IncidentState, section: str) -> list[str]:
    return list(state.pir.get(section, []))


# -- deadlines -------------------------------------------------------------------


def review_deadline(state: IncidentState, policy: SeverityPolicy) -> datetime | None:
    """When the review is due: resolution + the severity's `pir_within`. None when the
    policy sets no deadline or the incident is not resolved."""
    if policy.pir_within is None or state.resolved_at is None:
        return None
    return state.resolved_at + policy.pir_within


def review_on_time(state: IncidentState, policy: SeverityPolicy) -> bool | None:
    """Whether the review was held by its deadline; None if there is no deadline or no review."""
    deadline = review_deadline(state, policy)
    if deadline is None or state.pir_completed_at is None:
        return None
    return state.pir_completed_at <= deadline


def review_due(state: IncidentState, policy: SeverityPolicy, now: datetime) -> bool:
    """A required review counts against the on-time rate once held or once its deadline passed."""
    deadline = review_deadline(state, policy)
    if deadline is None:
        return False
    return state.pir_completed_at is not None or now > deadline
