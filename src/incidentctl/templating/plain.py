"""Plain text: the escaping for `.txt` templates and `--format text`.

Contract: a value is inserted as typed, with line breaks normalised to `\\n` and each
C0 or C1 control character other than tab and newline replaced by U+FFFD. Nothing
else is changed: plain text is pasted where nothing is interpreted (a status page
form, an email), so `*`, `<`, `&` and `{{ }}` are text. Bidi controls are left to the
terminal escaping (domain/textsafety.py), which shows them as U+FFFD on a terminal.
"""

from __future__ import annotations

import re

from incidentctl.domain.textsafety import C0_C1, REPLACEMENT

_CONTROL = re.compile(f"[{C0_C1}]")
_NEWLINES = re.compile(r"\r\n?")


def escape_text(text: str) -> str:
    return _CONTROL.sub(REPLACEMENT, _NEWLINES.sub("\n", text))
