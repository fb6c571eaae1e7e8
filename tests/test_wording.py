"""One wording each: the Slack messages and the review say durations, stamps, slugs and
war-room names alike, because both call the same piece in domain/wording.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from incidentctl.domain import events as ev
from incidentctl.domain import wording
from incidentctl.domain.state import fold
from incidentctl.domain.ulid import new_ulid
from incidentctl.services.comms import message_context
from incidentctl.services.pir import review_context
from incidentctl.services.workspace import load_config

T0 = datetime(2026, 2, 12, 14, 23, tzinfo=UTC)
UID = new_ulid(T0)


def _state(resolved_after: timedelta | None = None):
    declared = ev.Declared(
        id=UID,
        incident=UID,
        at=T0,
        recorded_at=T0,
        author="@sarah",
        human_id="INC-2026-02-12-007",
        title="Scheduler not executing goals",
        severity="P1",
        services=["Plant Scheduler"],
    )
    events: list[ev.EventBase] = [declared]
    if resolved_after is not None:
        at = T0 + resolved_after
        events.append(
            ev.Resolved(
                id=new_ulid(at),
                incident=UID,
                at=at,
                recorded_at=at,
                author="@sarah",
                root_cause="a stuck lock",
                resolution="released it",
            )
        )
    return fold(events)


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "incidentctl.toml"
    path.write_text(
        "[incident]\n"
        'war_room = "#inc-{yyyy}{mm}{dd}-{seq}-{slug}"\n'
        'doc_url = "https://docs.example.com/{yyyy}/{id}"\n',
        encoding="utf-8",
    )
    return load_config(path)


def _both(config, state, key: str) -> tuple[str, str]:
    workspace = SimpleNamespace(config=config, now=lambda: T0 + timedelta(days=30))
    slack = message_context(workspace, state)[key]  # type: ignore[arg-type]
    review = review_context(config, state, [])[key]
    return slack, review


def test_war_room_and_doc_link_are_filled_alike(config):
    state = _state(timedelta(hours=2))
    assert _both(config, state, "war_room") == ("#inc-20260212-007-plant-scheduler",) * 2
    assert (
        _both(config, state, "doc_url") == ("https://docs.example.com/2026/inc-2026-02-12-007",) * 2
    )


@pytest.mark.parametrize(
    ("open_for", "words"),
    [
        (timedelta(days=14), "2 weeks"),
        (timedelta(seconds=40), "less than a minute"),
        (timedelta(days=3, hours=4, minutes=5), "3 days 4 hours"),
        (timedelta(hours=1, minutes=37), "1 hour 37 minutes"),
    ],
)
def test_durations_are_worded_alike(config, open_for, words):
    assert _both(config, _state(open_for), "duration") == (words, words)


def test_stamps_are_worded_alike(config):
    slack, review = _both(config, _state(timedelta(hours=2)), "resolved_at")
    assert slack == review == "2026-02-12 16:23 UTC"


def test_one_line_and_excerpt():
    assert wording.flat("  Pod restarted\n3\ttimes \u2028again ") == "Pod restarted 3 times again"
    assert wording.excerpt("a\nb", 10) == "a b"
    assert wording.excerpt("x" * 30, 10) == "x" * 9 + "…"


def test_slugs():
    assert wording.slugify("Plant Scheduler — Ünïcode!") == "plant-scheduler-unicode"
    assert wording.slugify("a" * 50) == "a" * 40
    assert wording.slugify("🚨") == ""
