"""Every built-in template, in every format, from hostile user text, checked by validators
this project did not write: slack_sdk's Block Kit models, markdown-it-py (CommonMark
with GFM tables, strikethrough and task lists), and the terminal escaping's contract.

Incidents are built in memory (events folded, as the repo would), and rendered
in-process, so a hundred examples take seconds.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from incidentctl.domain import events as ev
from incidentctl.domain.comms import bullet_lines
from incidentctl.domain.state import fold
from incidentctl.domain.textsafety import has_unsafe
from incidentctl.domain.ulid import new_ulid
from incidentctl.services.comms import render_for_state
from incidentctl.services.pir import review_context
from incidentctl.services.workspace import open_workspace
from incidentctl.templating import blockkit
from incidentctl.templating.plain import escape_text
from incidentctl.templating.sandbox import available_templates, find_template, render_source

T0 = datetime(2026, 2, 12, 14, 23, tzinfo=UTC)
UID = new_ulid(T0)
HUMAN_ID = "INC-2026-02-12-001"

PIECES = [
    "\x1b[31m", "\x07", "\x00", "\x9b", "\r", "\t", "\n", "\n\n", "\u202e", "\u202a", "\u2066",
    "\u2069", "&copy;", "&amp;", "&#169;", "&", "<!channel>", "<@U123>", "<b>", "</p>", ">",
    "*bold*", "_it_", "~~x~~", "~", "`code`", "```", "~~~", "# ", "## h", "- ", "+ ", "* ",
    "1. ", "2) ", "===", "---", "***", "    ", "> q", "| a | b |", "|---|", "[a](b)", "![i](x)",
    "\\", "{{ x }}", "{% raw %}", "{# c #}", "[ ] ", "🔥", "é", "漢字", "word", " ", "ok",
]  # fmt: skip
hostile = st.lists(
    st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), min_size=1, max_size=25
).map("".join)
# non-blank, so the template shows the field rather than its placeholder
field_text = hostile.map(lambda s: s + " x")
long_text = st.tuples(st.sampled_from([*PIECES, "see *errors* now"]), st.integers(1, 300)).map(
    lambda t: t[0] * t[1] + " end"
)
any_text = st.one_of(field_text, field_text, field_text, long_text)
# past Slack's limits: up to 60,000 characters (75 blocks and a 210 KB text, before)
huge_text = st.tuples(
    st.sampled_from(["&", "see *errors* now ", "word ", "| a | b |\n", "🔥", "<!channel>\n\n"]),
    st.integers(500, 12000),
).map(lambda t: (t[0] * t[1])[:60000])

STRUCTURE = {
    "heading_open", "bullet_list_open", "ordered_list_open", "list_item_open", "code_inline",
    "code_block", "fence", "link_open", "image", "s_open", "html_block", "html_inline", "hr",
    "blockquote_open", "table_open", "em_open", "strong_open", "tr_open",
}  # fmt: skip


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    repo = tmp_path_factory.mktemp("escaping") / "repo"
    assert run_cli("init", str(repo)).code == 0
    return open_workspace(str(repo))


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _event(cls, minutes: int, **fields):
    at = _at(minutes)
    return cls(id=new_ulid(at), incident=UID, at=at, recorded_at=at, author="@sarah", **fields)


def _state(t: dict[str, str], *, resolved: bool = True):
    events = [
        ev.Declared(
            id=UID, incident=UID, at=T0, recorded_at=T0, author="@sarah", human_id=HUMAN_ID,
            title=t["title"][:1000], severity="P1", services=[t["service"][:200]],
            impact=t["impact"], commander="@ic",
        ),
        _event(ev.NoteAdded, 5, text=t["note"], kind="finding"),
        _event(ev.SeverityChanged, 6, severity="P0", previous="P1", reason=t["note"]),
        _event(ev.StatusChanged, 10, status="identified", previous="investigating", message=t["cause"]),
        _event(ev.PirEntry, 11, section="summary", text=t["summary"]),
        _event(ev.PirEntry, 12, section="why", text=t["why"]),
        _event(ev.PirEntry, 13, section="factor", text=t["why"]),
        _event(ev.PirEntry, 14, section="lesson", text=t["lesson"]),
        _event(ev.PirEntry, 15, section="went-well", text=t["lesson"]),
        _event(ev.PirEntry, 16, section="went-wrong", text=t["why"]),
        _event(ev.ActionAdded, 17, number=1, title=t["title"][:1000], owner="@o", due=date(2026, 3, 1), priority="P1"),
    ]  # fmt: skip
    if resolved:
        events.append(
            _event(
                ev.Resolved, 30, root_cause=t["cause"], resolution=t["resolution"],
                category=t["service"],
            )
        )  # fmt: skip
    return fold(events)


texts = st.fixed_dictionaries(
    {
        k: any_text
        for k in ("title", "service", "impact", "note", "cause", "summary", "why", "lesson")
    }
    | {"resolution": any_text, "set": field_text}
)


def _words(text: str) -> list[str]:
    """What the reader should see of `text`: its words. Controls (and the Markdown
    escaping's private-use markers) are shown as U+FFFD, or were flattened to a space
    before: both count as a space here."""
    return re.sub("[\ue000-\ue003\ufffd]", " ", escape_text(text)).split()


def _literal(text: str, rendered_text: str) -> bool:
    """The value's words, in order, as one run of the rendered text."""
    return " ".join(_words(text)) in rendered_text


def _parse(markdown: str):
    from markdown_it import MarkdownIt
    from mdit_py_plugins.tasklists import tasklists_plugin

    md = MarkdownIt("commonmark").enable(["table", "strikethrough"]).use(tasklists_plugin)
    return md.parse(markdown)


def _structure(tokens) -> dict[str, int]:
    counts: dict[str, int] = {}

    def walk(ts):
        for tok in ts:
            if tok.type == "html_inline" and tok.content == "<br>":
                continue
            if tok.type in STRUCTURE:
                counts[tok.type] = counts.get(tok.type, 0) + 1
            if tok.children:
                walk(tok.children)

    walk(tokens)
    return counts


def _plain_text(tokens) -> str:
    parts: list[str] = []

    def walk(ts):
        for tok in ts:
            if tok.type in ("text", "code_inline"):
                parts.append(tok.content)
            elif tok.type in ("softbreak", "hardbreak") or tok.type.endswith("_close"):
                parts.append(" ")
            if tok.children:
                walk(tok.children)

    walk(tokens)
    return " ".join(" ".join(parts).replace("\ufffd", " ").split())


BENIGN = {
    k: "plain words"
    for k in ("title", "service", "impact", "note", "cause", "summary", "why", "lesson")
} | {"resolution": "plain words", "set": "plain words"}
TEMPLATES = sorted(
    n for n in available_templates(None) if n.split("/")[0] in ("slack", "statuspage", "email")
)
REVIEWS = sorted(n for n in available_templates(None) if n.startswith("pir/"))
# the WAOOAW PIR template, as written, has no resolution (pir/waooaw-extended has)
NOT_IN_TEMPLATE = {("pir/waooaw", "resolution")}


def _render(ws, t, name, fmt):
    return render_for_state(
        ws, _state(t), name, fmt=fmt,
        overrides={"workaround": t["set"], "eta": t["set"], "action_required": t["set"]},
    ).text  # fmt: skip


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(t=texts, huge=st.one_of(st.none(), huge_text))
def test_block_kit_payloads_validate_within_slacks_limits(ws, t, huge):
    from slack_sdk.models.blocks import Block

    if huge is not None:
        t = t | {"impact": huge}
    for name in TEMPLATES:
        payload = json.loads(_render(ws, t, name, "blocks"))
        blocks = payload["blocks"]
        assert 1 <= len(blocks) <= blockkit.BLOCKS_LIMIT
        assert 0 < blockkit.units(payload["text"]) <= blockkit.TEXT_LIMIT
        total = 0
        for raw in blocks:
            Block.parse(raw).validate_json()  # slack_sdk's own limits (3000, 150)
            text = raw["text"]["text"]
            limit = blockkit.HEADER_LIMIT if raw["type"] == "header" else blockkit.SECTION_LIMIT
            assert blockkit.units(text) <= limit
            if raw["type"] == "section":
                total += blockkit.units(text)
                # every & begins a whole entity: no section starts or ends inside one
                assert not re.search(r"&(?!amp;|lt;|gt;)", text), text[-20:]
        assert total <= blockkit.BLOCKS_TEXT_LIMIT
        mrkdwn = [b["text"]["text"] for b in blocks if b["type"] == "section"]
        for chunk in (payload["text"], *mrkdwn):  # a plain_text header pings no one
            assert "<!channel>" not in chunk and "<@U123>" not in chunk


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(t=texts)
def test_markdown_shows_user_text_as_literal_text(ws, t):
    baseline = {}
    for name in REVIEWS:
        source = find_template(name, None)
        for values in (BENIGN, t):
            text = render_source(source, review_context(ws.config, _state(values), []))
            tokens = _parse(text)
            if values is BENIGN:
                baseline[name] = _structure(tokens)
                continue
            assert _structure(tokens) == baseline[name], name
            shown = _plain_text(tokens)
            for key in ("summary", "cause", "resolution", "why", "lesson", "title"):
                if (name, key) in NOT_IN_TEMPLATE:
                    continue
                value = t[key][:1000] if key == "title" else t[key]
                assert _literal(value, shown), (name, key, value)
    # the impact is listed one item per line: the benign twin has as many lines
    lines = max(len(bullet_lines(t["impact"])), 1)
    twin = BENIGN | {"impact": "\n".join(["plain words"] * lines)}
    # the resolution is shown as written, or (White Room) one item per line: the twin
    # keeps its lines, each in plain words
    twin["resolution"] = "\n".join(
        "plain words" if line.strip() else line for line in re.split(r"\r\n|\r|\n", t["resolution"])
    )
    for name in TEMPLATES:
        tokens = _parse(_render(ws, t, name, "markdown"))
        benign = _structure(_parse(_render(ws, twin, name, "markdown")))
        assert _structure(tokens) == benign, name


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(t=texts)
def test_terminal_output_holds_no_control_or_bidi_character(ws, t):
    from rich.console import Console

    from incidentctl.cli.terminal import _neutralising
    from incidentctl.cli.views.incident import describe
    from incidentctl.cli.views.messages import message_panel

    state = _state(t)
    for name in TEMPLATES[:3]:
        for fmt in ("text", "slack"):
            buffer = io.StringIO()
            console = _neutralising(Console(file=buffer, force_terminal=True, width=100))
            rendered = render_for_state(ws, state, name, fmt=fmt)
            console.print(message_panel(rendered))
            for event in state.timeline:
                console.print(describe(event))
            shown = re.sub(r"\x1b\[[0-9;]*m", "", buffer.getvalue())  # Rich's own styling
            assert not has_unsafe(shown.replace("\n", ""))
