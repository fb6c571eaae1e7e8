"""Arbitrary text survives an event file byte for byte."""

import tomllib
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from incidentctl.domain import events as ev
from incidentctl.domain.ulid import new_ulid
from incidentctl.store.repo import serialise_event

AT = datetime(2026, 2, 12, 14, 23, tzinfo=UTC)
UID = new_ulid(AT, bytes(10))
# any Unicode text except lone surrogates, which no UTF-8 file (or argv) can carry
TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=300)


@settings(max_examples=300, deadline=None)
@given(
    text=TEXT,
    title=TEXT.filter(lambda t: len(t) <= 1000),
    author=TEXT.filter(lambda t: len(t) < 50),
)
def test_text_round_trips_through_an_event_file(text, title, author):
    note = ev.NoteAdded(
        id=new_ulid(AT), incident=UID, at=AT, recorded_at=AT, author=author, text=text
    )
    declared = ev.Declared(
        id=UID, incident=UID, at=AT, recorded_at=AT, author=author,
        human_id="INC-2026-02-12-001", title=title, severity="P1", impact=text,
    )  # fmt: skip
    for event in (note, declared):
        data = serialise_event(event)
        back = ev.parse_event(tomllib.loads(data.decode("utf-8")))
        assert back == event
