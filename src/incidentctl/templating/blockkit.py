"""Slack Block Kit: a `--format blocks` payload from a rendered mrkdwn message.

Contract: the payload is `{"text": fallback, "blocks": [...]}` within Slack's limits:

- a `header` block (plain_text, so the mrkdwn entities are decoded) for a short first
  line, at most HEADER_LIMIT characters;
- one `section` (mrkdwn) per paragraph, each at most SECTION_LIMIT characters. A longer
  paragraph is split at a line break (in the second half of the section), else between
  words outside a `*bold*`, `_italic_`, `~strike~` or `` `code` `` span; only a single
  word longer than a section is cut inside, and then never inside an entity (`&amp;`)
  or a combining sequence;
- at most BLOCKS_LIMIT blocks, and at most BLOCKS_TEXT_LIMIT characters in them all;
- the fallback `text` at most TEXT_LIMIT characters, cut like a section.

Past a limit the payload is cut visibly: the last block, or the fallback, ends with
"…" and a pointer to `incidentctl show INC`, where the recorded events keep the whole
text. Lengths are counted in UTF-16 code units, as Slack's JavaScript counts them (an
emoji is two), so a count here is never below Slack's.
"""

from __future__ import annotations

import re
from typing import Any

from incidentctl.templating.mrkdwn import unescape_mrkdwn

# Slack's documented limits:
# - a section block's text: "Maximum length for the text in this field is 3000 characters"
#   (api.slack.com/reference/block-kit/blocks#section);
# - a header block's text: "Maximum length for the text in this field is 150 characters"
#   (api.slack.com/reference/block-kit/blocks#header);
# - "You can include up to 50 blocks in each message" (api.slack.com/reference/block-kit/blocks);
# - the top-level text: "For best results, limit the number of characters in the text
#   field to 4,000 characters ... Slack will truncate messages containing more than
#   40,000 characters" (api.slack.com/methods/chat.postMessage, "Truncating content").
SECTION_LIMIT = 3000
HEADER_LIMIT = 150
BLOCKS_LIMIT = 50
TEXT_LIMIT = 4000
# Not documented: chat.postMessage answers msg_blocks_too_long from about 13,000
# characters of block text in all (github.com/slackapi/bolt-js/issues/2509).
BLOCKS_TEXT_LIMIT = 12000

_ENTITY = re.compile(r"&(?:amp|lt|gt);")
_SPANS = re.compile(r"\*[^*\n]+\*|_[^_\n]+_|~[^~\n]+~|`[^`\n]+`|<[^<>\n]*>")


def units(text: str) -> int:
    """Length as Slack counts it: UTF-16 code units."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def _prefix_within(text: str, limit: int) -> int:
    """The longest prefix of `text` (in characters) within `limit` UTF-16 units."""
    if units(text) <= limit:
        return len(text)
    count = 0
    for i, c in enumerate(text):
        count += 2 if ord(c) > 0xFFFF else 1
        if count > limit:
            return i
    return len(text)


def _blocked(text: str, pattern: re.Pattern[str]) -> bytearray:
    """1 at each position a cut must not take: strictly inside a match of `pattern`."""
    mask = bytearray(len(text) + 1)
    for m in pattern.finditer(text):
        mask[m.start() + 1 : m.end()] = b"\x01" * (m.end() - m.start() - 1)
    return mask


def _cut(text: str, limit: int) -> int:
    """Where to end a chunk of at most `limit` units: at the last line break in its
    second half, else the last space outside a span, else the last place outside an
    entity or a combining sequence. Always > 0."""
    room = _prefix_within(text, limit)
    if room >= len(text):
        return len(text)
    newline = text.rfind("\n", 0, room + 1)
    if newline > room // 2:  # a line break, unless it would leave half the room unused
        return newline
    line_end = text.find("\n", room)
    line = text if line_end < 0 else text[:line_end]
    spans = _blocked(line, _SPANS)
    for pos in range(room, 0, -1):
        if text[pos] in " \t" and not spans[pos]:
            return pos
    entities = _blocked(line, _ENTITY)
    for pos in range(room, 0, -1):
        if not entities[pos] and not _is_mark(text[pos]):
            return pos
    return room


def _is_mark(c: str) -> bool:
    import unicodedata

    return unicodedata.combining(c) != 0 or c in "\u200d\ufe0f"


def split(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """`text` in chunks of at most `limit` units, cut as `_cut` says."""
    chunks: list[str] = []
    while units(text) > limit:
        cut = _cut(text, limit)
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip(" \t\n")
    if text.strip():
        chunks.append(text)
    return chunks


def pointer(incident: str) -> str:
    return f"… (cut to fit Slack; the whole text: incidentctl show {incident})"


def truncate(text: str, limit: int, incident: str) -> str:
    """`text` within `limit` units; a longer one is cut as a section is and ends with
    the pointer."""
    if units(text) <= limit:
        return text
    tail = "\n" + pointer(incident)
    head = split(text, limit - units(tail))[0]
    return head + tail


def slack_blocks(slack_text: str, incident: str = "INC") -> dict[str, Any]:
    """The Block Kit payload for an (already escaped) mrkdwn message of `incident`."""
    text = slack_text.strip()
    paragraphs = [p.strip("\n") for p in re.split(r"\n[ \t]*\n", text)]
    paragraphs = [p for p in paragraphs if p.strip()]
    blocks: list[dict[str, Any]] = []
    if paragraphs and "\n" not in paragraphs[0]:
        header = unescape_mrkdwn(paragraphs[0])  # plain_text shows entities literally
        if units(header) <= HEADER_LIMIT:
            paragraphs.pop(0)
            blocks.append({"type": "header", "text": {"type": "plain_text", "text": header}})
    sections = [chunk for p in paragraphs for chunk in split(p, SECTION_LIMIT)]
    tail = pointer(incident)
    reserve = units(tail) + 1  # kept free until the last section, for the pointer
    used = 0
    for i, chunk in enumerate(sections):
        size = units(chunk)
        if i == len(sections) - 1:
            fits = used + size <= BLOCKS_TEXT_LIMIT and len(blocks) < BLOCKS_LIMIT
        else:
            fits = used + size <= BLOCKS_TEXT_LIMIT - reserve and len(blocks) < BLOCKS_LIMIT - 1
        if fits:
            blocks.append(_section(chunk))
            used += size
            continue
        # out of room: one last section, cut, ending with the pointer
        room = min(SECTION_LIMIT, BLOCKS_TEXT_LIMIT - used) - reserve
        head = split(chunk, room)[0] if room > 0 else ""
        blocks.append(_section(f"{head}\n{tail}" if head else tail))
        break
    return {"text": truncate(text, TEXT_LIMIT, incident), "blocks": blocks}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}
