"""Human incident IDs (INC-YYYY-MM-DD-NNN by default) and how the next one is chosen."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

DEFAULT_ID_FORMAT = "INC-{yyyy}-{mm}-{dd}-{seq}"
_FIELDS = {
    "yyyy": r"(?P<yyyy>\d{4})",
    "mm": r"(?P<mm>\d{2})",
    "dd": r"(?P<dd>\d{2})",
    "seq": r"(?P<seq>\d+)",
}
_PLACEHOLDER = re.compile(r"\{(yyyy|mm|dd|seq)\}")


def validate_format(fmt: str) -> None:
    found = _PLACEHOLDER.findall(fmt)
    for need in ("yyyy", "mm", "dd", "seq"):
        if found.count(need) != 1:
            raise ValueError(f"id_format must contain {{{need}}} exactly once: {fmt!r}")
    if re.search(r"[\s/\\#]", fmt):
        raise ValueError(f"id_format must not contain spaces, slashes or '#': {fmt!r}")


def format_id(fmt: str, day: date, seq: int, width: int = 3) -> str:
    values = {
        "yyyy": f"{day.year:04d}",
        "mm": f"{day.month:02d}",
        "dd": f"{day.day:02d}",
        "seq": f"{seq:0{width}d}",
    }
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], fmt)


def _regex(fmt: str) -> re.Pattern[str]:
    parts = []
    pos = 0
    for m in _PLACEHOLDER.finditer(fmt):
        parts.append(re.escape(fmt[pos : m.start()]))
        parts.append(_FIELDS[m.group(1)])
        pos = m.end()
    parts.append(re.escape(fmt[pos:]))
    return re.compile("^" + "".join(parts) + "$", re.IGNORECASE)


def parse_id(fmt: str, text: str) -> tuple[date, int] | None:
    """(day, seq) of a human ID in any letter case, or None if it is not one."""
    m = _regex(fmt).match(text.strip())
    if not m:
        return None
    try:
        day = date(int(m["yyyy"]), int(m["mm"]), int(m["dd"]))
    except ValueError:
        return None
    return day, int(m["seq"])


def normalise_id(fmt: str, text: str, width: int = 3) -> str | None:
    parsed = parse_id(fmt, text)
    if parsed is None:
        return None
    return format_id(fmt, parsed[0], parsed[1], width)


def next_id(fmt: str, day: date, taken: Iterable[str], width: int = 3) -> str:
    """The next free number for `day`, after every ID ever used that day (old IDs included)."""
    highest = 0
    for human_id in taken:
        parsed = parse_id(fmt, human_id)
        if parsed and parsed[0] == day:
            highest = max(highest, parsed[1])
    return format_id(fmt, day, highest + 1, width)
