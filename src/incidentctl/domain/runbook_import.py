"""A runbook draft from a Markdown procedure: `runbook import PROCEDURE.md`. Pure: text in,
a runbook dict (as its TOML would hold it) and notes out.

The rules, in the document's order:
- the section's heading is the runbook's title ("Procedure 1: API outage (P0)" gives the
  title "API outage" and the severity P0); `section` picks a heading by its text,
  else the document's first heading is the title and everything under it is imported;
- every heading below it, and every paragraph that is a bold label alone
  (`**Immediate Actions** (First 5 minutes):`), starts a phase; a time box is read
  from "(First 5 minutes)", "(Within 15 min)", "(Minutes 0-5)" or "(Hours 1-24)";
- numbered and bulleted items become steps (trailing ':' dropped; a nested list's items
  become "Parent: child" steps); fenced shell blocks become the commands of the step
  they are in, their `#` comment lines the step's warnings;
- items "Option A: ...", "Option B: ..." become the options of one decision step;
- "DO NOT ..." items, the items of a `**DO NOT**:` list, and items in bold throughout
  (a rule, not an action) become the runbook's warnings, acknowledged once, never steps;
- `**Symptoms**: a, b, c` gives the symptoms; `**Label**: text` elsewhere is a phase
  "Label" with one step, the paragraph's text;
- a step's kind, message template and the events that satisfy it are inferred from its
  words (see `step_kind`, `step_template`, `infer_satisfiers`).
Anything else (other paragraphs, tables, non-shell code) is not imported: each is named
in the notes, for the person editing the draft.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from incidentctl.domain.runbook import infer_satisfiers, slugify


class ImportError_(ValueError):
    """The document cannot be imported (no such section, nothing to import)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


SHELL_FENCES = {"", "bash", "sh", "shell", "zsh", "console", "shell-session", "terminal"}
_TITLE_PREFIX_RE = re.compile(r"^(?:procedure|runbook|playbook)\s*\d*\s*[:.\-–]\s*", re.I)
_PHASE_PREFIX_RE = re.compile(r"^(?:phase|stage|part)\s*\d+\s*[:.\-–]\s*", re.I)
_SEVERITY_RE = re.compile(r"\s*\((P[0-3])\)\s*$")
_OPTION_RE = re.compile(r"^option\s+([A-Z0-9]{1,3})\s*[:.)\-–]\s*(.+)$", re.I | re.S)
_DO_NOT_RE = re.compile(r"^do not\b", re.I)
_LABEL_ALONE_RE = re.compile(r"\s*(?:\([^)]*\))?\s*:?\s*")
_TIMEBOX_RES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:first|within|in)\s+(\d+)\s*(min(?:ute)?s?|m)\b", re.I), "m"),
    (re.compile(r"\b(?:first|within|in)\s+(\d+)\s*(h(?:ou)?rs?|h)\b", re.I), "h"),
    (re.compile(r"\bminutes?\s+\d+\s*[-–]\s*(\d+)\b", re.I), "m"),
    (re.compile(r"\bhours?\s+\d+\s*[-–]\s*(\d+)\b", re.I), "h"),
)
_CHECK_WORDS = {
    "check", "review", "identify", "verify", "confirm", "inspect", "investigate", "monitor",
    "assess", "look", "determine", "gather", "analyze", "analyse", "find", "diagnose",
}  # fmt: skip
_COMMUNICATE_WORDS = {"declare", "notify", "announce", "post", "send", "email", "tell", "inform"}
# a step's words -> the message template it calls for
_TEMPLATES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^declare\b", re.I), "slack/declared"),
    (re.compile(r"\bstatus page\b", re.I), "statuspage/investigating"),
    (re.compile(r"\be-?mail\b|^notify customers\b", re.I), "email/customer"),
)


def timebox_of(text: str) -> str | None:
    """ "Immediate Actions (First 5 minutes)" -> "5m"; "(Minutes 15-60)" -> "1h"."""
    for pattern, unit in _TIMEBOX_RES:
        m = pattern.search(text)
        if m:
            n = int(m.group(1))
            if unit == "m" and n >= 60 and n % 60 == 0:
                return f"{n // 60}h"
            return f"{n}{unit}"
    return None


def step_kind(text: str, phase_title: str, has_options: bool) -> str:
    """decision (it has options), communicate ("Declare", "Notify"..., or any step of a
    communication phase), check ("Check", "Review"..., or a question), else action."""
    if has_options:
        return "decision"
    words = re.findall(r"[a-z]+", text.lower())
    first = words[0] if words else ""
    if first in _COMMUNICATE_WORDS or "communicat" in phase_title.lower():
        return "communicate"
    if first in _CHECK_WORDS or text.rstrip().endswith("?"):
        return "check"
    return "action"


def step_template(text: str) -> str | None:
    for pattern, template in _TEMPLATES:
        if pattern.search(text.strip()):
            return template
    return None


# -- Markdown to blocks -----------------------------------------------------------------


@dataclass
class _Inline:
    text: str  # plain text: emphasis dropped, links as "text (url)"
    all_bold: bool  # the whole text is strong
    label: str | None  # leading **Label** (without a trailing ':')
    rest: str  # the text after the label and its ':'


@dataclass
class _Item:
    inline: _Inline | None
    fences: list[tuple[str, str]] = field(default_factory=list)  # (info, content)
    lists: list[_List] = field(default_factory=list)
    line: int = 0


@dataclass
class _List:
    items: list[_Item]


@dataclass
class _Block:
    kind: str  # heading, paragraph, list, fence, other
    level: int = 0
    inline: _Inline | None = None
    list: _List | None = None
    fence: tuple[str, str] = ("", "")
    line: int = 0
    what: str = ""


def _inline(token: Any) -> _Inline:
    parts: list[str] = []
    bold_depth = 0
    plain_outside_bold = ""
    label: str | None = None
    label_done = False
    href: list[str] = []
    for child in token.children or []:
        t = child.type
        if t == "strong_open":
            bold_depth += 1
            continue
        if t == "strong_close":
            bold_depth -= 1
            if not label_done and bold_depth == 0 and not plain_outside_bold.strip():
                label = "".join(parts).strip()
                label_done = True
            continue
        if t in ("text", "code_inline"):
            piece = child.content
        elif t in ("softbreak", "hardbreak"):
            piece = " "
        elif t == "link_open":
            href.append(child.attrs.get("href", ""))
            continue
        elif t == "link_close":
            url = href.pop() if href else ""
            piece = f" ({url})" if url else ""
        elif t == "image":
            piece = child.content
        else:
            continue
        if bold_depth == 0 and piece.strip():
            plain_outside_bold += piece
            if not label_done:
                label_done = True  # the text starts unbolded: no label
        parts.append(piece)
    text = " ".join("".join(parts).split())
    all_bold = bool(text) and not plain_outside_bold.strip()
    rest = ""
    if label is not None:
        label = " ".join(label.split())
        rest = text.split(label, 1)[1].strip() if label in text else ""
        label = label.rstrip(":").strip()
    return _Inline(text, all_bold, label, rest)


def _blocks(text: str) -> list[_Block]:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    pos = 0

    def parse_list(close: str) -> _List:
        nonlocal pos
        items: list[_Item] = []
        while pos < len(tokens) and tokens[pos].type != close:
            if tokens[pos].type == "list_item_open":
                line = (tokens[pos].map or [0])[0] + 1
                pos += 1
                items.append(parse_item(line))
            else:
                pos += 1
        pos += 1  # the list's close
        return _List(items)

    def parse_item(line: int) -> _Item:
        nonlocal pos
        item = _Item(None, line=line)
        while pos < len(tokens) and tokens[pos].type != "list_item_close":
            tok = tokens[pos]
            if tok.type == "inline" and item.inline is None:
                item.inline = _inline(tok)
                pos += 1
            elif tok.type in ("fence", "code_block"):
                item.fences.append((tok.info.strip().lower(), tok.content))
                pos += 1
            elif tok.type in ("bullet_list_open", "ordered_list_open"):
                close = tok.type.replace("_open", "_close")
                pos += 1
                item.lists.append(parse_list(close))
            else:
                pos += 1
        pos += 1
        return item

    out: list[_Block] = []
    while pos < len(tokens):
        tok = tokens[pos]
        line = (tok.map or [0])[0] + 1
        if tok.type == "heading_open":
            out.append(_Block("heading", int(tok.tag[1:]), _inline(tokens[pos + 1]), line=line))
            pos += 3
        elif tok.type == "paragraph_open":
            out.append(_Block("paragraph", inline=_inline(tokens[pos + 1]), line=line))
            pos += 3
        elif tok.type in ("bullet_list_open", "ordered_list_open"):
            close = tok.type.replace("_open", "_close")
            pos += 1
            out.append(_Block("list", list=parse_list(close), line=line))
        elif tok.type in ("fence", "code_block"):
            out.append(_Block("fence", fence=(tok.info.strip().lower(), tok.content), line=line))
            pos += 1
        elif tok.type.endswith("_open") and tok.nesting == 1:
            # a table, a quote...: skipped whole, and named in the notes
            depth, start = 0, pos
            while pos < len(tokens):
                depth += tokens[pos].nesting
                pos += 1
                if depth == 0:
                    break
            out.append(_Block("other", line=line, what=tokens[start].type.removesuffix("_open")))
        else:
            pos += 1
    return out


# -- blocks to a runbook ----------------------------------------------------------------


def _commands(info: str, content: str) -> tuple[list[str], list[str]]:
    """(commands, comment lines) of a fenced shell block. A line ending in a backslash
    continues on the next one; the command keeps them as written."""
    commands: list[str] = []
    comments: list[str] = []
    pending: list[str] = []
    for raw in content.splitlines():
        line = raw.rstrip()
        if not pending:
            stripped = line.strip()
            if not stripped:
                continue
            if stripped.startswith("#"):
                comments.append(stripped.lstrip("#").strip())
                continue
            console = info == "console" and stripped.startswith("$ ")
            line = stripped[2:] if console else stripped
        pending.append(line)
        if not line.endswith("\\"):
            commands.append(_verbatim("\n".join(pending)))
            pending = []
    if pending:
        commands.append(_verbatim("\n".join(pending)))
    return commands, [c for c in comments if c]


def _verbatim(command: str) -> str:
    """A command is a template ({{ name }} variables); braces the document wrote, as in
    `docker ps --format '{{.Names}}'`, are kept as they are."""
    if any(mark in command for mark in ("{{", "{%", "{#")) and "endraw" not in command:
        return "{% raw %}" + command + "{% endraw %}"
    return command


def _do_not(text: str) -> str:
    """ "Delete logs" under a DO NOT label -> "DO NOT delete logs"."""
    if len(text) > 1 and text[1].islower():
        text = text[0].lower() + text[1:]
    return f"DO NOT {text}"


@dataclass
class Draft:
    data: dict[str, Any]  # the runbook, as its TOML holds it
    notes: list[str]  # what was not imported, and why


@dataclass
class _Builder:
    notes: list[str] = field(default_factory=list)
    phases: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    symptoms: list[str] = field(default_factory=list)
    summary: str | None = None
    warning_list: bool = False  # the current list is a **DO NOT**: list

    def phase(self, title: str) -> None:
        self.warning_list = False
        self.phases.append({"title": title, "timebox": timebox_of(title), "steps": [], "line": 0})

    def current(self) -> dict[str, Any]:
        if not self.phases:
            self.phase("Steps")
        return self.phases[-1]

    def add_step(self, text: str, item: _Item | None, options: list[dict[str, Any]]) -> None:
        phase = self.current()
        step: dict[str, Any] = {"text": text}
        commands: list[str] = []
        warnings: list[str] = []
        for info, content in item.fences if item else []:
            lang = info.split()[0] if info else ""
            if lang not in SHELL_FENCES:
                line = item.line if item else 0
                self.notes.append(f"line {line}: a {lang} block is not a command; not imported")
                continue
            found, comments = _commands(lang, content)
            commands += found
            warnings += comments
        step["kind"] = step_kind(text, phase["title"], bool(options))
        if commands:
            step["commands"] = commands
        if warnings:
            step["warnings"] = warnings
        if options:
            step["options"] = options
        template = step_template(text) if step["kind"] == "communicate" else None
        if template:
            step["template"] = template
        satisfiers = infer_satisfiers(text, template)
        if satisfiers:
            step["satisfied_by"] = satisfiers
        phase["steps"].append(step)

    def options_of(self, items: list[_Item]) -> list[dict[str, Any]] | None:
        """The options of a list whose items are all "Option X: ...", else None."""
        out = []
        for item in items:
            m = _OPTION_RE.match(item.inline.text) if item.inline else None
            if not m:
                return None
            option: dict[str, Any] = {"key": m.group(1).upper(), "text": m.group(2).strip()}
            commands: list[str] = []
            for info, content in item.fences:
                lang = info.split()[0] if info else ""
                if lang in SHELL_FENCES:
                    commands += _commands(lang, content)[0]
            if commands:
                option["commands"] = commands
            out.append(option)
        return out or None

    def add_list(self, items: list[_Item], parent: str | None = None) -> None:
        options = self.options_of(items)
        if options is not None:
            self.add_step(parent or self.current()["title"], None, options)
            return
        for item in items:
            if item.inline is None:
                continue
            inline = item.inline
            text = inline.text.rstrip(":").strip()
            full = f"{parent}: {text}" if parent else text
            if self.warning_list:
                self.warnings.append(_do_not(text))
                continue
            if _DO_NOT_RE.match(text) or (inline.all_bold and not item.lists and not item.fences):
                self.warnings.append(text)
                continue
            if item.lists:
                nested_options = [self.options_of(sub.items) for sub in item.lists]
                if all(o is not None for o in nested_options):
                    self.add_step(full, item, [o for opts in nested_options for o in opts or []])
                    continue
                for sub in item.lists:
                    self.add_list(sub.items, full)
                continue
            self.add_step(full, item, [])


def _section(blocks: list[_Block], section: str | None) -> tuple[_Block | None, list[_Block]]:
    headings = [b for b in blocks if b.kind == "heading"]
    if section is None:
        if blocks and blocks[0].kind == "heading":
            return blocks[0], blocks[1:]
        return None, blocks
    wanted = section.strip().casefold()
    for i, b in enumerate(blocks):
        if b.kind == "heading" and b.inline and wanted in b.inline.text.casefold():
            end = next(
                (
                    j
                    for j in range(i + 1, len(blocks))
                    if blocks[j].kind == "heading" and blocks[j].level <= b.level
                ),
                len(blocks),
            )
            return b, blocks[i + 1 : end]
    names = "; ".join(h.inline.text for h in headings if h.inline)[:600]
    raise ImportError_(
        f"no heading contains {section!r}",
        hint=f"the headings are: {names}" if names else "the document has no headings",
    )


def import_procedure(
    text: str, *, section: str | None = None, source: str = "", name: str | None = None
) -> Draft:
    """A runbook draft (a dict that parse_runbook accepts) from a Markdown procedure."""
    head, body = _section(_blocks(text), section)
    b = _Builder()
    title_text = head.inline.text if head and head.inline else ""
    severity = None
    m = _SEVERITY_RE.search(title_text)
    if m:
        severity = m.group(1)
        title_text = title_text[: m.start()].strip()
    title = _TITLE_PREFIX_RE.sub("", title_text).strip() or title_text or "Imported runbook"
    nested = []
    for block in body:
        inline = block.inline
        if block.kind == "heading" and inline:
            if head is not None and block.level > head.level + 1:
                nested.append(inline.text)
            b.phase(_PHASE_PREFIX_RE.sub("", inline.text).strip() or inline.text)
        elif block.kind == "paragraph" and inline:
            if inline.label and _LABEL_ALONE_RE.fullmatch(inline.rest):
                # a bold label alone, maybe with "(First 5 minutes)": a phase, or DO NOT
                whole = inline.text.rstrip(":").strip()
                if _DO_NOT_RE.match(inline.label):
                    b.warning_list = True
                    continue
                b.phase(whole)
            elif inline.label and inline.label.casefold() == "symptoms":
                rest = inline.rest.lstrip(":").strip()
                b.symptoms += [s[:1].upper() + s[1:] for s in re.split(r",\s*", rest) if s]
            elif inline.label and inline.rest.startswith(":"):
                b.phase(inline.label)
                b.add_step(inline.text, None, [])
            elif not b.phases and b.summary is None:
                b.summary = inline.text
            else:
                b.notes.append(f"line {block.line}: a paragraph is not a step; not imported")
        elif block.kind == "list" and block.list:
            b.add_list(block.list.items)
            b.warning_list = False
        elif block.kind == "fence":
            lang = block.fence[0].split()[0] if block.fence[0] else ""
            steps = b.current()["steps"]
            if lang in SHELL_FENCES and steps:
                found, comments = _commands(lang, block.fence[1])
                steps[-1].setdefault("commands", []).extend(found)
                if comments:
                    steps[-1].setdefault("warnings", []).extend(comments)
            else:
                b.notes.append(f"line {block.line}: a code block outside a step; not imported")
        elif block.kind == "other":
            b.notes.append(f"line {block.line}: a {block.what} is not imported")
    phases = [p for p in b.phases if p["steps"]]
    for p in b.phases:
        if not p["steps"]:
            b.notes.append(f"phase {p['title']!r} has no steps; left out")
    if not phases:
        raise ImportError_(
            "no numbered or bulleted steps found" + (f" under {title_text!r}" if head else ""),
            hint="steps are list items (1. or -); choose a section with --section TEXT",
        )
    if nested:
        b.notes.append(
            f"every heading under {title_text!r} became a phase; to import one procedure,"
            f" give --section with one of: " + "; ".join(nested[:8])
        )
    data: dict[str, Any] = {"name": name or slugify(title) or "imported", "title": title}
    if severity:
        data["severity"] = severity
    if b.summary:
        data["summary"] = b.summary
    heading = head.inline.text if head and head.inline else ""
    data["source"] = ", ".join(x for x in (source, heading) if x) or "a Markdown procedure"
    if b.symptoms:
        data["symptoms"] = b.symptoms
    if b.warnings:
        data["warnings"] = b.warnings
    data["phases"] = []
    phase_ids: set[str] = set()
    step_ids: set[str] = set()
    for p in phases:
        phase_id = _unique(slugify(re.sub(r"\(.*?\)", "", p["title"])), phase_ids, "phase")
        phase: dict[str, Any] = {"id": phase_id}
        phase["title"] = p["title"]
        if p["timebox"]:
            phase["timebox"] = p["timebox"]
        phase["steps"] = []
        for step in p["steps"]:
            step_id = _unique(slugify(step["text"]), step_ids, "step")
            phase["steps"].append({"id": step_id, **step})
        data["phases"].append(phase)
    return Draft(data, b.notes)


def _unique(base: str, taken: set[str], fallback: str) -> str:
    base = base or fallback
    candidate, k = base, 2
    while candidate in taken:
        candidate, k = f"{base}-{k}", k + 1
    taken.add(candidate)
    return candidate
