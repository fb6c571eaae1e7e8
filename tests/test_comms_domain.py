"""The pure parts of communications, on a fixed clock: wording, next-update times,
war-room names, findings, Block Kit payloads, escaping and the outbox files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incidentctl.adapters.clipboard import osc52_sequence
from incidentctl.domain import comms, wording
from incidentctl.domain import events as ev
from incidentctl.domain.state import fold
from incidentctl.domain.ulid import new_ulid
from incidentctl.templating.blockkit import slack_blocks
from incidentctl.templating.plain import escape_text
from incidentctl.templating.sandbox import escape_slack

T0 = datetime(2026, 2, 12, 14, 23, tzinfo=UTC)
UID = new_ulid(T0)


def _event(cls, minutes: int, **fields):
    at = T0 + timedelta(minutes=minutes)
    return cls(id=new_ulid(at), incident=UID, at=at, recorded_at=at, author="@sarah", **fields)


def _state(*extra):
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
    return fold([declared, *extra])


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(seconds=40), "less than a minute"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=22), "22 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=2, minutes=37), "2 hours 37 minutes"),
        (timedelta(hours=48), "2 days"),
        (timedelta(days=3, hours=4, minutes=5), "3 days 4 hours"),
        (timedelta(weeks=1), "1 week"),
    ],
)
def test_long_duration_uses_the_seeds_words(delta, words):
    assert wording.long_duration(delta) == words


def test_next_update_lands_on_a_quarter_hour_within_the_cadence():
    quarter = timedelta(minutes=15)
    # WAOOAW: declared 14:23, P1 every 30 minutes -> "14:45 UTC (22 minutes)"
    assert comms.next_update_at(T0, timedelta(minutes=30), quarter) == T0.replace(minute=45)
    # White Room: update at 14:45, every 15 minutes -> 15:00
    at = T0.replace(minute=45)
    assert comms.next_update_at(at, quarter, quarter) == T0.replace(hour=15, minute=0)
    # never sooner than one mark: 14:23 + 15m rounds to 14:30, so it stays 14:38
    assert comms.next_update_at(T0, quarter, quarter) == T0.replace(minute=38)
    assert comms.next_update_at(T0, timedelta(minutes=30), timedelta(0)) == T0.replace(minute=53)
    assert comms.next_update_at(T0, None, quarter) is None


def test_times_are_worded_in_the_configured_zone():
    berlin = ZoneInfo("Europe/Berlin")
    assert wording.clock_time(T0, UTC) == "14:23 UTC"
    assert wording.stamp(T0, berlin) == "2026-02-12 15:23 CET"


def test_war_room_placeholders():
    state = _state()
    assert wording.war_room("#incident-inc-{seq}", state, "INC-{yyyy}-{mm}-{dd}-{seq}", 3) == (
        "#incident-inc-007"
    )
    assert wording.war_room("#incident-{id}", state, "INC-{yyyy}-{mm}-{dd}-{seq}", 3) == (
        "#incident-inc-2026-02-12-007"
    )
    assert wording.war_room("#incident-{date}-{slug}", state, "INC-{yyyy}-{mm}-{dd}-{seq}", 3) == (
        "#incident-2026-02-12-plant-scheduler"
    )
    assert wording.war_room("#war-{unknown}", state, "INC-{yyyy}-{mm}-{dd}-{seq}", 3) == (
        "#war-{unknown}"
    )


def test_findings_are_what_happened_since_the_last_update_was_sent():
    state = _state(
        _event(ev.NoteAdded, 5, text="Pod restarted\n3 times", kind="finding"),
        _event(
            ev.CommunicationSent, 10, template="slack/update", channel="#incidents", via="manual"
        ),
        _event(ev.NoteAdded, 12, text="Memory climbing", kind="finding"),
        _event(ev.StatusChanged, 20, status="identified", previous="investigating", message="Leak"),
        _event(ev.SeverityChanged, 21, severity="P0", previous="P1", reason="all customers"),
    )
    assert comms.findings(state, 5) == [
        "Memory climbing",
        "Leak",
        "Severity P1 -> P0: all customers",
    ]
    assert comms.findings(state, 1) == ["Severity P1 -> P0: all customers"]
    assert comms.identified_cause(state) == "Leak"
    assert state.last_communication_at == T0 + timedelta(minutes=10)
    assert [c.template for c in state.communications] == ["slack/update"]


def test_sentence_tail_lowers_only_sentence_case():
    assert comms.sentence_tail("Rolled back the deploy.") == "rolled back the deploy"
    assert comms.sentence_tail("API returning 503") == "API returning 503"
    assert comms.sentence_tail("Service Down - High error rate") == "Service Down - High error rate"
    assert comms.sentence_tail("Memory leak at 12:00 UTC") == "memory leak at 12:00 UTC"
    assert comms.sentence_tail("I/O stalled") == "I/O stalled"


def test_sentence_tail_lowers_a_leading_article():
    # the identified stage read "root cause as A memory leak in the scheduler"
    assert (
        comms.sentence_tail("A memory leak in the scheduler.") == "a memory leak in the scheduler"
    )
    assert comms.sentence_tail("A Memory Leak") == "A Memory Leak"  # title case stays


def test_eta_phrase_does_not_repeat_a_whole_phrase():
    # --set eta="Resolution expected within 1 hour" printed the prefix twice
    assert comms.eta_phrase("Resolution expected within 1 hour") == (
        "Resolution expected within 1 hour"
    )
    assert comms.eta_phrase("1 hour") == "Resolution expected within 1 hour"
    assert comms.eta_phrase("an hour") == "Resolution expected within an hour"
    assert comms.eta_phrase("by 15:00 UTC") == "Resolution expected by 15:00 UTC"
    assert comms.eta_phrase("Within 2 hours") == "Resolution expected within 2 hours"
    assert comms.eta_phrase("Unknown") == "Unknown"
    assert comms.eta_phrase("  ") == ""


def test_block_kit_payload_has_a_header_and_sections_and_keeps_escaping():
    text = "🚨 INCIDENT DECLARED 🚨\n\nID: INC-1\nSummary: &lt;!channel&gt;\n\nImpact: x"
    payload = slack_blocks(text)
    assert payload["text"] == text
    header, first, second = payload["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "🚨 INCIDENT DECLARED 🚨"},
    }
    assert first["text"] == {"type": "mrkdwn", "text": "ID: INC-1\nSummary: &lt;!channel&gt;"}
    assert second["text"]["text"] == "Impact: x"
    long = "x" * 7000
    sections = slack_blocks("title\n\n" + long)["blocks"][1:]
    assert [len(s["text"]["text"]) for s in sections] == [3000, 3000, 1000]


def test_markdown_line_breaks_keep_lines_apart_but_not_lists():
    text = "Title\n\nStatus: x\nTime: y\n\nFindings:\n- a\n- b"
    assert comms.markdown_line_breaks(text) == (
        "Title\n\nStatus: x\\\nTime: y\n\nFindings:\n- a\n- b"
    )


@settings(max_examples=60, deadline=None)
@given(st.text())
def test_slack_escaping_leaves_no_control_characters(text):
    escaped = escape_slack(text)
    assert "<" not in escaped and ">" not in escaped
    assert escaped.replace("&amp;", "").count("&") == escaped.count("&lt;") + escaped.count("&gt;")
    unescaped = escaped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert unescaped == escape_text(text)  # as typed, but no control character


def test_osc52_sequence_carries_the_text_and_survives_tmux():
    import base64

    seq = osc52_sequence("héllo 🚨", {})
    assert seq.startswith("\x1b]52;c;") and seq.endswith("\x07")
    assert base64.b64decode(seq[len("\x1b]52;c;") : -1]).decode() == "héllo 🚨"
    wrapped = osc52_sequence("x", {"TMUX": "/tmp/tmux-0/default,1,0"})
    assert wrapped.startswith("\x1bPtmux;\x1b\x1b]52;c;") and wrapped.endswith("\x1b\\")


def test_outbox_files_claim_release_and_remove(tmp_path):
    from incidentctl.store.outbox import Outbox

    box = Outbox(tmp_path)
    box.add({"id": "01A", "payload": {"text": "one"}})
    box.add({"id": "01B", "payload": {"text": "two"}})
    (box.dir / "junk.json").write_text("{not json")
    entries, bad = box.entries()
    assert [e.id for e in entries] == ["01A", "01B"] and len(bad) == 1
    first = entries[0]
    box.claim(first)
    assert (box.dir / "01A.json.sending").exists() and not (box.dir / "01A.json").exists()
    assert [e.in_doubt for e in box.entries()[0]] == [True, False]
    first.message["attempts"] = 1
    box.release(first)
    again = box.entries()[0][0]
    assert not again.in_doubt and again.message["attempts"] == 1
    # a release cut short leaves both files: the queued copy wins (the post failed)
    box.claim(again)
    (box.dir / "01A.json").write_text(json.dumps({"id": "01A", "attempts": 2}))
    assert [(e.id, e.in_doubt) for e in box.entries()[0]] == [("01A", False), ("01B", False)]
    box.remove(box.entries()[0][1])
    assert [e.id for e in box.entries()[0]] == ["01A"]
