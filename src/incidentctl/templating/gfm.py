"""GitHub Flavored Markdown: the escaping for `.md` templates and `--format markdown`.

Contract: every value renders as literal text in GFM (github.github.com/gfm), wherever
the template puts it: in a paragraph, a list item, a table cell or a heading.

- Inline: a backslash goes before each of `\\`, `` ` ``, `*`, `_`, `~`, `[`, `]`, `<`,
  `>`, `|` and `#`, and before an `&` that could begin an entity (one followed by a
  letter, digit or `#`), so no emphasis, strikethrough, code span, link, image,
  autolink, raw HTML, table pipe or entity (`&copy;`) comes from a value.
- Block starts: where a value line begins a block (at the start of a line, or right
  after a list marker), a leading `-`, `+` or `=` and the `.` or `)` of a leading
  number get a backslash too, and leading spaces and tabs become no-break spaces, so
  no list, setext heading, thematic break or indented code block comes from a value.
  (`#`, `>`, `*`, fences and `|` are escaped everywhere already.)
- Lines: a multi-line value keeps its lines where it stands. In a paragraph its lines
  stay lines of that paragraph (a blank line stays a paragraph break); in a list item
  a line ends with a hard break (`\\`) and the next is indented to the item's text, so
  it stays in that item; in a table cell or a heading each line break is `<br>`.
  Trailing spaces are dropped. (`--format markdown` messages then end each line that
  is followed by another with a hard break, domain/comms.py `markdown_line_breaks`.)
- Bare URLs (`https://...`, `www.`) stay as typed; GitHub links them, as it would in
  anything a person wrote.

How: `mark_value` (the sandbox's finalize for Markdown) escapes a value inline and
wraps it, with its line breaks, in private-use marker characters; after the template
has rendered, `finish` sees where each value stands and writes its block-start escapes
and line breaks for that place. Marker characters in user text are replaced first.
"""

from __future__ import annotations

import re

from incidentctl.domain.textsafety import REPLACEMENT
from incidentctl.templating.plain import escape_text

VALUE_START = "\ue000"
VALUE_END = "\ue001"
LINE_BREAK = "\ue002"
PARAGRAPH_BREAK = "\ue003"
_MARKERS = re.compile("[\ue000-\ue003]")
_SPAN = re.compile(f"{VALUE_START}([^{VALUE_START}{VALUE_END}]*){VALUE_END}")
_BREAKS = re.compile(f"[{LINE_BREAK}{PARAGRAPH_BREAK}]")

_INLINE = re.compile(r"([\\`*_~\[\]<>|#]|&(?=[#A-Za-z0-9]))")
_NUMBER_MARKER = re.compile(r"^(\d{1,9})([.)])")
_LEADING_SPACE = re.compile(r"^[ \t]+")
# what may stand before a value on its line for the value to begin a block
_BLOCK_PREFIX = re.compile(
    r"^[ \t]*(?:>[ \t]?)*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)*(?:\[[ xX]\][ \t]+)?$"
)
_LIST_ITEM = re.compile(r"^([ \t]*)((?:[-*+]|\d{1,9}[.)])[ \t]+)")
_QUOTE = re.compile(r"^([ \t]*(?:>[ \t]?)+)")


def escape_inline(text: str) -> str:
    """A backslash before every character GFM may read as inline markup."""
    return _INLINE.sub(r"\\\1", text)


def mark_value(text: str) -> str:
    """One value, escaped inline, its line breaks as markers, wrapped for `finish`."""
    text = _MARKERS.sub(REPLACEMENT, escape_text(text))
    parts: list[str] = []
    blank = False
    for line in text.split("\n"):
        if not line.strip():
            blank = bool(parts)
            continue
        if parts:
            parts[-1] = parts[-1].rstrip()
            parts.append(PARAGRAPH_BREAK if blank else LINE_BREAK)
        parts.append(escape_inline(line))
        blank = False
    return VALUE_START + "".join(parts) + VALUE_END


def block_start(line: str) -> str:
    """A value line that begins a block: no list marker, setext line or indent."""
    line = _LEADING_SPACE.sub(lambda m: "\u00a0" * len(m.group(0).expandtabs(4)), line)
    if line[:1] in ("-", "+", "="):
        return "\\" + line
    return _NUMBER_MARKER.sub(r"\1\\\2", line)


def _breaks_for(line: str) -> tuple[str, str] | None:
    """How a value breaks its lines on this template line: (line break, paragraph
    break), or None for a paragraph (a hard break and a blank line)."""
    stripped = line.lstrip()
    if stripped.startswith(("|", "#")):
        return "<br>", "<br><br>"
    item = _LIST_ITEM.match(line)
    if item:
        indent = " " * len(item.group(0).expandtabs(4))
        return "\\\n" + indent, "\n\n" + indent
    quote = _QUOTE.match(line)
    if quote:
        prefix = quote.group(1)
        return "\\\n" + prefix, "\n" + prefix.rstrip() + "\n" + prefix
    return None


def _finish_line(line: str) -> str:
    if VALUE_START not in line:
        return line
    breaks = _breaks_for(_SPAN.sub("x", line))
    line_break, paragraph_break = breaks or ("\n", "\n\n")
    in_block = breaks is None or not line.lstrip().startswith(("|", "#"))
    out: list[str] = []
    pos = 0
    for span in _SPAN.finditer(line):
        out.append(line[pos : span.start()])
        before = "".join(out).rsplit("\n", 1)[-1]
        pieces = _BREAKS.split(span.group(1))
        seps = _BREAKS.findall(span.group(1))
        first = pieces[0]
        out.append(block_start(first) if _BLOCK_PREFIX.match(before) else first)
        for sep, piece in zip(seps, pieces[1:], strict=True):
            out.append(line_break if sep == LINE_BREAK else paragraph_break)
            out.append(block_start(piece) if in_block else piece)
        pos = span.end()
    out.append(line[pos:])
    return "".join(out)


def finish(text: str) -> str:
    """The rendered template with each marked value written for where it stands."""
    if VALUE_START not in text:
        return text
    return "\n".join(_finish_line(line) for line in text.split("\n"))


def escape_markdown(text: str) -> str:
    """One value on its own, as literal GFM text (for callers outside a template)."""
    return finish(mark_value(text))
