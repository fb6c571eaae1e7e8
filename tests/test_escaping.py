"""One escaping layer per output format (issue: user text is data in every format), its
contract per module, the render budget, and the defects each layer fixes."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from conftest import Cli
from incidentctl.domain.textsafety import clip_message, has_unsafe, terminal_safe
from incidentctl.templating import blockkit, gfm
from incidentctl.templating.mrkdwn import escape_mrkdwn, unescape_mrkdwn
from incidentctl.templating.plain import escape_text
from incidentctl.templating.sandbox import (
    RenderBudget,
    TemplateError,
    TemplateSource,
    render_source,
)


def _parse(markdown: str):
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(markdown)


def _types(tokens) -> list[str]:
    out = []
    for tok in tokens:
        out.append(tok.type)
        out.extend(_types(tok.children or []))
    return out


def _render(tmp_path: Path, body: str, ext: str, budget: RenderBudget | None = None, **ctx):
    path = tmp_path / f"t.{ext}.j2"
    path.write_text(body, encoding="utf-8")
    return render_source(TemplateSource("t", ext, path, "repo"), ctx, budget=budget)


# -- plain text and mrkdwn ------------------------------------------------------------


def test_plain_text_is_as_typed_but_without_control_characters():
    assert escape_text("*a* <b> & {{ x }}\tz\r\ny") == "*a* <b> & {{ x }}\tz\ny"
    assert escape_text("a\x1b[31mb\x07") == "a\ufffd[31mb\ufffd"


def test_mrkdwn_escapes_exactly_slacks_three_characters():
    text = "<!channel> & <@U1> > *bold* &copy;"
    escaped = escape_mrkdwn(text)
    assert escaped == "&lt;!channel&gt; &amp; &lt;@U1&gt; &gt; *bold* &amp;copy;"
    assert unescape_mrkdwn(escaped) == text


# -- GitHub Markdown -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["---", "===", "- item", "+ item", "* item", "2) second", "1. first", "# Heading",
     "    indented code", "> quote", "```", "~~~", "| a | b |"],
)  # fmt: skip
def test_markdown_value_at_a_line_start_starts_no_block(value):
    # defect 2: root cause, resolution and summary keep their lines, and user text at
    # the start of one became a heading, a list, a rule or a code block
    text = gfm.escape_markdown("Some words\n" + value)
    types = _types(_parse("**Immediate Cause**:\n" + text))
    assert types.count("paragraph_open") == 1, (value, types)
    block = {"heading_open", "bullet_list_open", "ordered_list_open", "hr", "code_block",
             "fence", "blockquote_open", "table_open"}  # fmt: skip
    assert not block & set(types), (value, types)


def test_markdown_inline_constructs_and_entities_stay_text():
    text = gfm.escape_markdown("~~x~~ &copy; &#169; *b* _i_ `c` [l](u) <b> a|b R&D x & y")
    tokens = _parse(text)
    assert set(_types(tokens)) <= {"paragraph_open", "inline", "text", "paragraph_close"}
    shown = "".join(t.content for t in tokens[1].children)
    assert shown == "~~x~~ &copy; &#169; *b* _i_ `c` [l](u) <b> a|b R&D x & y"
    assert "R\\&D x & y" in text  # an & that cannot begin an entity is left alone


def test_markdown_multi_line_values_stay_in_their_list_item_or_table_cell(tmp_path):
    body = "- **Lesson**: {{ v }}\n   - {{ v }}\n\n| a | b |\n|---|---|\n| {{ v }} | x |\n"
    out = _render(tmp_path, body, "md", v="1. Lesson\n- nested?\n\n    code\n===")
    types = _types(_parse(out))
    assert types.count("list_item_open") == 2  # the template's own two items, no more
    assert "ordered_list_open" not in types and "code_block" not in types
    assert types.count("tr_open") == 2 and "heading_open" not in types
    assert "| 1\\. Lesson<br>- nested?<br><br>    code<br>===<br>" not in out  # not at a start
    assert "| 1. Lesson<br>- nested?<br><br>    code<br>=== | x |" in out


def test_white_room_lesson_numbered_by_the_user_is_no_nested_ordered_list(tmp_path):
    # defect 2: White Room's `- {{ lesson }}` with "1. Lesson" nested an ordered list
    out = _render(tmp_path, "3. Lessons\n   - {{ lesson }}\n", "md", lesson="1. Keep backups")
    assert out == "3. Lessons\n   - 1\\. Keep backups\n"
    assert _types(_parse(out)).count("ordered_list_open") == 1


def test_markdown_marker_characters_in_user_text_cannot_forge_a_value(tmp_path):
    forged = f"{gfm.VALUE_START}- x{gfm.LINE_BREAK}# y{gfm.VALUE_END}"
    out = _render(tmp_path, "{{ v }}\n", "md", v=forged)
    assert gfm.VALUE_START not in out and "\ufffd" in out
    assert "heading_open" not in _types(_parse(out))


# -- Block Kit ---------------------------------------------------------------------


def test_block_kit_never_cuts_inside_an_entity():
    # defect 1: '&' * 1000 became sections ending `&amp;&amp;&a` and starting `mp;&amp;`
    payload = blockkit.slack_blocks("Title\n\nImpact: " + escape_mrkdwn("&" * 1000), "INC-1")
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert len(sections) >= 2
    for text in sections:
        assert re.fullmatch(r"Impact:|(&amp;)+", text), text[-12:]


def test_block_kit_splits_between_words_outside_formatting():
    # defect 1: real text ended one section with `see *er` and began the next `rors*`
    words = "see *bad errors* now " * 400
    payload = blockkit.slack_blocks("Title\n\n" + words, "INC-1")
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert len(sections) > 1
    for text in sections:
        assert text.count("*") % 2 == 0, text[-30:]
        assert set(text.split()) <= {"see", "*bad", "errors*", "now"}


def test_block_kit_truncates_visibly_past_slacks_limits():
    # defect 1: a 60 KB impact gave 75 blocks and a 210,344-character text
    impact = "\n\n".join(f"paragraph {i} " + "word " * 150 for i in range(80))
    payload = blockkit.slack_blocks("Title\n\n" + impact, "INC-2026-02-12-001")
    blocks = payload["blocks"]
    assert len(blocks) <= blockkit.BLOCKS_LIMIT
    assert sum(len(b["text"]["text"]) for b in blocks[1:]) <= blockkit.BLOCKS_TEXT_LIMIT
    assert blocks[-1]["text"]["text"].endswith("incidentctl show INC-2026-02-12-001)")
    assert len(payload["text"]) <= blockkit.TEXT_LIMIT
    assert payload["text"].endswith("incidentctl show INC-2026-02-12-001)")
    many = "\n\n".join(f"p{i}" for i in range(120))
    assert len(blockkit.slack_blocks("Title\n\n" + many)["blocks"]) == blockkit.BLOCKS_LIMIT


def test_block_kit_counts_as_slack_does():
    assert blockkit.units("🔥") == 2 and blockkit.units("é") == 1
    header = "🔥" * 76  # 152 units: too long for a header, so it is a section
    assert blockkit.slack_blocks(header)["blocks"][0]["type"] == "section"


def test_render_blocks_from_the_cli_keeps_entities_whole(cli: Cli):
    inc = cli.declare()
    out = cli("render", "slack/update", inc, "-f", "blocks", "--set", "impact=" + "&" * 1000).out
    for block in json.loads(out)["blocks"]:
        assert not re.search(r"&(?!amp;|lt;|gt;)", block["text"]["text"])


# -- terminal ---------------------------------------------------------------------


def test_terminal_escaping_neutralises_controls_and_bidi():
    text = "a\x1b[2Jb\u202ec\u2066d\x9be\rf\tg\nh"
    assert terminal_safe(text) == "a\ufffd[2Jb\ufffdc\ufffdd\ufffde\ufffdf\tg\nh"
    assert terminal_safe(text, one_line=True).count("\ufffd") == 7
    assert not has_unsafe(terminal_safe(text))


def test_bidi_controls_are_refused_in_names_and_text(cli: Cli):
    # defect 9: U+202E reached the terminal raw while ESC was refused
    for args in (
        ["declare", "invoice\u202etxt.exe", "-s", "P1"],
        ["declare", "ok", "-s", "P1", "--ic", "@a\u2066b"],
        ["declare", "ok", "-s", "P1", "--service", "api\u202a"],
    ):
        result = cli(*args, ok=False)
        assert result.code == 2 and "control character" in result.err


def test_bidi_in_a_hand_edited_file_never_reaches_the_terminal(cli: Cli):
    inc = cli.declare("API down")
    path = next(cli.repo.glob("incidents/*/*/events/*.toml"))
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"API down"', '"API \u202edown"'), encoding="utf-8")
    cli.git("commit", "-qam", "hand edit")
    for args in (["show", inc], ["list"], ["log", inc]):
        shown = cli(*args).out
        assert "\u202e" not in shown, args


def test_a_huge_bad_id_is_not_echoed_in_full(cli: Cli):
    # defect 9: a 100 KB bad ID was echoed in full in the error
    result = cli("show", "X" * 100_000, ok=False)
    assert result.code != 0
    assert len(result.err) < 600 and "more characters" in result.err


def test_clip_message_keeps_short_words_and_cuts_long_runs():
    assert clip_message("no incident 'INC-2026-02-12-001'") == "no incident 'INC-2026-02-12-001'"
    clipped = clip_message("no incident '" + "Y" * 5000 + "'")
    assert clipped.startswith("no incident 'YYYY") and clipped.endswith("more characters)")
    assert len(clipped) < 400
    # a long repo path, as errors name them, is kept whole
    path = "incidents/2026/01KH8MQYV0E2DQ23X9BN3JMQST-api-returning-503/events/" + "x" * 120
    assert clip_message(f"{path}: a folder in events/") == f"{path}: a folder in events/"


# -- small wording defects ------------------------------------------------------------


def test_eta_set_as_a_whole_phrase_is_not_repeated(cli: Cli):
    inc = cli.declare()
    out = cli(
        "render", "statuspage/identified", inc, "--set", "eta=Resolution expected within 1 hour"
    ).out
    assert "ETA: Resolution expected within 1 hour\n" in out
    out = cli("render", "statuspage/identified", inc, "--set", "eta=2 hours").out
    assert "ETA: Resolution expected within 2 hours\n" in out


def test_identified_stage_after_resolve_reads_as_one_sentence(cli: Cli):
    inc = cli.declare()
    cli("resolve", inc, "--root-cause", "A memory leak in the scheduler.", "--resolution", "Fixed")
    out = cli("render", "statuspage/identified", inc).out
    assert "the root cause as a memory leak in the scheduler." in out


def test_text_format_carries_no_mrkdwn_entities(cli: Cli):
    inc = cli.declare(severity="P1")
    cli("update", inc, "--severity", "P3", "-m", "calmer & <quieter>")
    out = cli("render", "slack/update", inc, "-f", "text").out
    assert "- Severity P1 -> P3: calmer & <quieter>\n" in out
    assert "&gt;" not in out and "&amp;" not in out


# -- the PIR and the monthly report, through the CLI ------------------------------------


HOSTILE_LINES = "---\n=== \n- dash\n+ plus\n2) two\n# hash\n    four spaces\n~~x~~ &copy;"


def test_pir_markdown_keeps_hostile_lines_as_text(cli: Cli):
    inc = cli.declare()
    cli("pir", "add", inc, "--section", "summary", "Summary line\n" + HOSTILE_LINES)
    cli("pir", "add", inc, "--section", "lesson", "1. Lesson")
    cli("resolve", inc, "--root-cause", "Cause\n" + HOSTILE_LINES,
        "--resolution", "Fix\n" + HOSTILE_LINES)  # fmt: skip
    for template in ("waooaw", "white-room"):
        text = cli("pir", "generate", inc, "--template", template).out
        tokens = _parse(text)
        types = _types(tokens)
        assert "s_open" not in types and "code_block" not in types
        headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
        assert not any("hash" in h or h in ("Cause", "Fix", "Summary line") for h in headings)
        assert "hr" not in types
        shown = " ".join(
            c.content for t in tokens if t.type == "inline" for c in t.children if c.type == "text"
        )
        assert "~~x~~ &copy;" in shown
        assert "ordered_list_open" not in types or template == "white-room"


def test_monthly_report_escapes_categories(cli: Cli):
    inc = cli.declare()
    cli("resolve", inc, "--root-cause", "x", "--resolution", "y", "--category", "~~db~~ &copy; *x*")
    out = cli("metrics", "--format", "markdown").out
    assert "\\~\\~db\\~\\~ \\&copy; \\*x\\*" in out
    assert "s_open" not in _types(_parse(out))


# -- the render budget --------------------------------------------------------------


NESTED = "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}x"


def test_nested_loops_end_at_the_render_budget(tmp_path):
    # defect 4: two nested range(99999) loops hung render, declare and update
    started = time.monotonic()
    with pytest.raises(TemplateError) as caught:
        _render(tmp_path, NESTED, "txt", budget=RenderBudget(seconds=0.3))
    assert time.monotonic() - started < 3
    assert "t.txt.j2" in caught.value.message and "longer than 0.3 s" in caught.value.message


@pytest.mark.parametrize(
    "body",
    [
        "{{ 'a' * 100000000 }}",
        "{{ 10 ** 100000000 }}",
        "{% for i in range(99999) %}{{ 'x' * 99 }}{% endfor %}",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    ],
)
def test_other_runaway_templates_end_at_the_budget(tmp_path, body):
    started = time.monotonic()
    with pytest.raises(TemplateError, match="the render"):
        _render(tmp_path, body, "txt", budget=RenderBudget(seconds=0.3, max_chars=100_000))
    assert time.monotonic() - started < 3


def test_a_hanging_team_template_fails_render_and_update_keeps_its_event(cli: Cli):
    inc = cli.declare()
    config = cli.repo / "incidentctl.toml"
    config.write_text(
        config.read_text().replace("[comms]\n", '[comms]\nrender_timeout = "1s"\n', 1)
    )
    template = cli.repo / "templates" / "slack" / "update.slack.j2"
    template.parent.mkdir(parents=True, exist_ok=True)
    template.write_text(NESTED)
    cli.git("add", "-A")
    cli.git("commit", "-qm", "a slow template")
    started = time.monotonic()
    rendered = cli("render", "slack/update", inc, ok=False)
    assert rendered.code == 1 and "update.slack.j2" in rendered.err
    assert "longer than 1 s" in rendered.err
    before = cli.commits()
    updated = cli("update", inc, "-m", "still digging", ok=False)
    assert time.monotonic() - started < 30
    assert cli.commits() == before + 1  # the event stays recorded
    assert "update.slack.j2" in updated.err and "recorded" in updated.err
