"""The picture of an incident: the phases (domain/chart.py), the Mermaid gantt text
(templating/mermaid.py) checked against the grammar from Mermaid's gantt docs and,
when installed, by Mermaid's own parser (mermaid-parser-py), and `show --chart`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidentctl.domain.chart import marks, phases
from incidentctl.templating.mermaid import escape_mermaid, gantt

T = datetime(2026, 2, 12, 14, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def state(**times):
    fields = ("detected", "declared", "acknowledged", "identified", "mitigated", "resolved")
    return SimpleNamespace(**{f"{f}_at": times.get(f) for f in fields})


# --- a strict parser of the gantt grammar (mermaid.js.org/syntax/gantt.html) ------

DATE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"  # what "dateFormat YYYY-MM-DD HH:mm:ss" reads
TASK = re.compile(
    rf"^    (?P<name>[^:#;%\n`<>]+(?:#\d+;[^:#;%\n`<>]*)*) "
    rf":(?P<tags>(?:(?:active|done|crit|milestone), )*)(?P<id>[A-Za-z][\w-]*), "
    rf"(?P<start>{DATE}), (?P<end>{DATE})$"
)


def parse_gantt(text: str) -> dict:
    """Every line must be one the grammar allows, in order; returns what it read."""
    lines = text.rstrip("\n").split("\n")
    assert lines[0] == "gantt", lines[0]
    seen: dict = {"tasks": [], "sections": []}
    for line in lines[1:]:
        if m := re.fullmatch(r"    title (?P<t>[^\n%]*)", line):
            assert "title" not in seen and not seen["tasks"]
            seen["title"] = m["t"]
        elif m := re.fullmatch(r"    dateFormat (?P<f>[YMDHms:\- ]+)", line):
            seen["dateFormat"] = m["f"]
        elif m := re.fullmatch(r"    axisFormat (?P<f>(%[a-zA-Z]|[ :\-/])+)", line):
            seen["axisFormat"] = m["f"]
        elif m := re.fullmatch(r"    section (?P<s>[^:#;%\n]+)", line):
            seen["sections"].append(m["s"])
        elif m := TASK.fullmatch(line):
            assert seen["sections"], "a task before any section"
            start = datetime.strptime(m["start"], "%Y-%m-%d %H:%M:%S")
            end = datetime.strptime(m["end"], "%Y-%m-%d %H:%M:%S")
            assert end >= start, line
            seen["tasks"].append(m.groupdict())
        else:
            raise AssertionError(f"not a gantt line: {line!r}")
    assert seen.get("dateFormat") == "YYYY-MM-DD HH:mm:ss"
    ids = [t["id"] for t in seen["tasks"]]
    assert len(ids) == len(set(ids))
    return seen


def unescape(text: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m[1])), text)


def mermaid_parse(text: str) -> None:
    """Mermaid's own parser (mermaid.js in an embedded engine), if installed."""
    mermaid_parser = pytest.importorskip("mermaid_parser")
    result = mermaid_parser.MermaidParser().parse(text)
    assert result["graph_type"] == "gantt"


# --- the phases --------------------------------------------------------------------


def test_phases_of_a_resolved_incident():
    s = state(detected=T, declared=T + 8 * M, acknowledged=T + 11 * M, resolved=T + 60 * M)
    got = [(p.id, p.start, p.end) for p in phases(s)]
    assert got == [
        ("declared", T, T + 8 * M),
        ("acknowledged", T + 8 * M, T + 11 * M),
        ("resolved", T + 11 * M, T + 60 * M),
    ]


def test_an_open_incidents_last_phase_runs_to_now_and_marks_never_go_back():
    s = state(detected=T + 5 * M, declared=T, identified=T + 2 * M)
    assert [m for m, _ in marks(s)] == ["detected", "declared", "identified"]
    assert [at for _, at in marks(s)] == [T + 5 * M] * 3  # moved up, never backwards
    got = phases(s, now=T + 30 * M)
    assert got[-1].ongoing and got[-1].end == T + 30 * M
    assert phases(state(declared=T)) == []


def test_the_gantt_text_follows_the_grammar_and_keeps_the_title():
    s = state(detected=T, declared=T + 8 * M, identified=T + 20 * M)
    title = 'INC-1: API 503 | <!channel> {{ config }} "q" *b* 100% #1; a:b `x`'
    text = gantt(title, phases(s, now=T + 40 * M))
    read = parse_gantt(text)
    assert unescape(read["title"]) == title
    assert [t["name"] for t in read["tasks"]] == [
        "Detection to declaration",
        "Investigation",
        "Ongoing",
    ]
    assert read["tasks"][-1]["tags"] == "active, "
    mermaid_parse(text)


@given(st.text(max_size=60))
def test_escaped_text_stays_on_its_line_and_reads_back(text):
    escaped = escape_mermaid(text)
    assert "\n" not in escaped and "\r" not in escaped
    assert not re.search(r"[:;%`<>]", re.sub(r"#\d+;", "", escaped))
    assert "#" not in re.sub(r"#\d+;", "", escaped)
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    assert unescape(escaped) == flat
    parse_gantt(gantt(text, phases(state(declared=T, resolved=T + M))))


def test_show_chart_draws_the_phases(cli):
    inc = cli.declare("Checkout failing", "-s", "P1")
    cli("ack", inc)
    cli("update", inc, "--status", "identified", "-m", "Found it")
    out = cli("show", inc, "--chart").out
    assert out.startswith("phases (UTC ")
    assert "Acknowledgement" in out and "Investigation" in out and "█" in out


def test_pir_generate_has_the_mermaid_gantt_after_the_timeline(cli):
    inc = cli.declare("API 503: <!here> `x`", "-s", "P1")
    cli("ack", inc)
    cli("resolve", inc, "--root-cause", "x", "--resolution", "y")
    text = cli("pir", "generate", inc).out
    assert text.index("## Timeline") < text.index("```mermaid\ngantt\n")
    block = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    read = parse_gantt(block)
    assert unescape(read["title"]) == f"{inc}: API 503: <!here> `x`"
    mermaid_parse(block)
