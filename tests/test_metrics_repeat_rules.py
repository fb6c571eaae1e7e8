"""The repeat rules compare normalised facts built once per incident (domain/metrics.py
`_Facts`): they say what comparing the two states' texts directly says."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from incidentctl.domain.metrics import REPEAT_RULES, _match


@dataclass
class _Texts:  # the fields the rules read
    category: str = ""
    services: list[str] = field(default_factory=list)
    root_cause: str = ""


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


# the rules as they were written against the states, for reference
def _same_category(earlier, later) -> str:
    category = _norm(later.category)
    return f"category {category}" if category and category == _norm(earlier.category) else ""


def _shared_service(earlier, later) -> str:
    earlier_services = {_norm(x) for x in earlier.services}
    for service in later.services:
        if _norm(service) in earlier_services:
            return f"service {_norm(service)}"
    return ""


def _same_root_cause(earlier, later) -> str:
    by_category = _same_category(earlier, later)
    if by_category:
        return f"root cause: {by_category}"
    if later.category.strip() or earlier.category.strip():
        return ""
    cause = _norm(later.root_cause)
    return "root cause: same text" if cause and cause == _norm(earlier.root_cause) else ""


def _same_incident(earlier, later) -> str:
    service = _shared_service(earlier, later)
    cause = _same_root_cause(earlier, later) if service else ""
    return f"same incident: {service}, {cause.removeprefix('root cause: ')}" if cause else ""


REFERENCE = {
    "category-or-service": lambda e, s: _same_category(e, s) or _shared_service(e, s),
    "root-cause": _same_root_cause,
    "same-incident": _same_incident,
}

words = st.sampled_from(["", " ", "Deploy", "deploy ", "DB  pool", "db pool", "\t", "api", "API"])
texts = st.builds(
    _Texts,
    category=words,
    services=st.lists(words, max_size=3),
    root_cause=st.lists(words, max_size=3).map(" ".join),
)


@given(earlier=texts, later=texts, rule=st.sampled_from(sorted(REPEAT_RULES)))
def test_each_repeat_rule_says_what_comparing_the_texts_says(earlier, later, rule):
    assert _match(earlier, later, rule) == REFERENCE[rule](earlier, later)
