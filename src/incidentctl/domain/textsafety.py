"""Characters that are never user text's to send: control characters and bidi overrides.

One list, used twice:
- on input, `REFUSED_INPUT` is what `clean_text` refuses in every field a user types
  (titles, names, notes): C0 and C1 controls other than tab, newline and carriage
  return, and the bidi embedding, override and isolate controls, which make text read
  in an order other than the one it is stored in (U+202E turns `exe.txt` around);
- on output, `terminal_safe` is the one escaping for the terminal: whatever is shown
  there (a pulled or hand-edited file is not checked as typed input is) has each such
  character, and the carriage return, replaced by U+FFFD, so no field can send the
  terminal an escape sequence, rewrite its line, or reorder what it shows.

`clip` and `clip_message` cap how much of a user's input an error message echoes.
"""

from __future__ import annotations

import re

# C0 and C1 controls except tab (\x09), newline (\x0a) and carriage return (\x0d)
C0_C1 = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# LRE, RLE, PDF, LRO, RLO (U+202A-U+202E) and LRI, RLI, FSI, PDI (U+2066-U+2069)
BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"

REFUSED_INPUT = re.compile(f"[{C0_C1}{BIDI_CONTROLS}]")
# in a name (an author, a role holder), also line breaks of any kind: one line each
REFUSED_IN_NAMES = re.compile(f"[{C0_C1}\t\n\r\u2028\u2029{BIDI_CONTROLS}]")
# on a terminal a carriage return is a control too: it rewrites the line
_TERMINAL_UNSAFE = re.compile(f"[{C0_C1}\r{BIDI_CONTROLS}]")
_TERMINAL_UNSAFE_ONE_LINE = re.compile(f"[{C0_C1}\r\n\t{BIDI_CONTROLS}]")
REPLACEMENT = "\ufffd"
ECHO_LIMIT = 200
WORD_LIMIT = 300  # longer than any ID, name or repo path a message quotes
MESSAGE_LIMIT = 2000
_LONG_WORD = re.compile(r"\S{" + str(WORD_LIMIT + 1) + ",}")


def terminal_safe(text: str, *, one_line: bool = False) -> str:
    """`text` as it may be shown on a terminal: every control and bidi character as
    U+FFFD. Tabs and newlines stay, unless `one_line` (then they are replaced too)."""
    pattern = _TERMINAL_UNSAFE_ONE_LINE if one_line else _TERMINAL_UNSAFE
    return pattern.sub(REPLACEMENT, text)


def has_unsafe(text: str) -> bool:
    """Whether `text` holds a character `terminal_safe` would replace."""
    return _TERMINAL_UNSAFE.search(text) is not None


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """At most `limit` characters of `text`, for echoing it back: a longer text keeps its
    start and says how much was left out."""
    if len(text) <= limit:
        return text
    keep = max(limit - 30, 1)
    return f"{text[:keep]}… ({len(text) - keep:,} more characters)"


def clip_message(text: str) -> str:
    """An error or warning line, with whatever it echoes cut to size: a run of more
    than WORD_LIMIT characters without a space (a pasted 100 KB ID) keeps its start,
    and the whole line at most MESSAGE_LIMIT characters."""
    text = _LONG_WORD.sub(lambda m: clip(m.group(0), WORD_LIMIT), text)
    return clip(text, MESSAGE_LIMIT)
