"""Parsing the dates, times and durations a responder types, each in one place. Pure:
`now` is always passed in."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_RE = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_WORDS = {
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "day": "d", "days": "d", "week": "w", "weeks": "w",
}  # fmt: skip
_RELATIVE_WORDS_RE = re.compile(r"^(\d+)\s*([a-z]+)$")
_HHMM_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

TIME_HINT = "use ISO 8601 (2026-02-12T14:23Z), HH:MM (today), or relative (-15m, 15m ago, now)"


class TimeParseError(ValueError):
    pass


def parse_compact_duration(text: str) -> timedelta:
    """The config form exactly as written, nothing else: '15m', '1h30m', '2d', '1w'.
    The inverse of `compact_duration`; a runbook's time box is one."""
    m = _DURATION_RE.fullmatch(text)
    if not (m and any(m.groups())):
        raise TimeParseError(f"not a duration: {text!r}")
    return _compact(m, text)


def _compact(m: re.Match[str], text: str) -> timedelta:
    w, d, h, mi, se = (int(g) if g else 0 for g in m.groups())
    try:
        return timedelta(weeks=w, days=d, hours=h, minutes=mi, seconds=se)
    except OverflowError:
        raise TimeParseError(f"duration out of range: {text!r}") from None


def parse_duration(text: str) -> timedelta:
    """'15m', '1h30m', '2d', '45s', '1w', '1 h 30 m', '2 hours' -> timedelta."""
    s = text.strip().lower().replace(" ", "")
    if not s:
        raise TimeParseError("empty duration")
    m = _DURATION_RE.match(s)
    if m and any(m.groups()):
        return _compact(m, text)
    try:
        m = _RELATIVE_WORDS_RE.match(text.strip().lower())
        if m and m.group(2) in _WORDS:
            return timedelta(seconds=int(m.group(1)) * _UNIT_SECONDS[_WORDS[m.group(2)]])
    except OverflowError:
        raise TimeParseError(f"duration out of range: {text!r}") from None
    raise TimeParseError(f"not a duration: {text!r}")


def format_duration(delta: timedelta) -> str:
    """A short human duration: '2h 37m', '45s', '3d 4h'. Negative durations get a minus."""
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rem = divmod(total, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    if days:
        parts = [f"{days}d", f"{hours}h" if hours else ""]
    elif hours:
        parts = [f"{hours}h", f"{minutes}m" if minutes else ""]
    elif minutes:
        parts = [f"{minutes}m"]
    else:
        parts = [f"{seconds}s"]
    return sign + " ".join(p for p in parts if p)


def compact_duration(delta: timedelta) -> str:
    """The config form of a duration: '15m', '1h30m', '2d'."""
    total = int(delta.total_seconds())
    out = ""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, total = divmod(total, size)
        if n:
            out += f"{n}{unit}"
    return out or "0s"


def parse_date(text: str) -> date | None:
    """A calendar date as written, '2026-02-12' -> date. None for any other text, which
    the caller may then read as a time (`parse_time`) or a span; TimeParseError for a
    text written as a date that is none (2026-02-30)."""
    s = text.strip()
    if not _DATE_RE.match(s):
        return None
    try:
        return date.fromisoformat(s)
    except ValueError:
        raise TimeParseError(f"not a date: {text!r}") from None


def parse_time(text: str, now: datetime, tz: tzinfo = UTC) -> datetime:
    try:
        return _parse_time(text, now, tz)
    except OverflowError:
        raise TimeParseError(f"time out of range: {text!r}") from None


def _parse_time(text: str, now: datetime, tz: tzinfo = UTC) -> datetime:
    """A responder's time -> an aware UTC datetime.

    Accepts ISO 8601 (naive means `tz`), HH:MM[:SS] (today in `tz`), `now`,
    and relative forms: -15m, 15m ago, 1h30m ago, 2 hours ago.
    """
    s = text.strip()
    if not s:
        raise TimeParseError("empty time")
    low = s.lower()
    if low == "now":
        return now.astimezone(UTC)
    relative = None
    if low.startswith("-"):
        relative = low[1:]
    elif low.endswith(" ago") or low.endswith("ago"):
        relative = low.removesuffix("ago").strip()
    if relative is not None:
        try:
            return (now - parse_duration(relative)).astimezone(UTC)
        except TimeParseError:
            raise TimeParseError(f"not a time: {text!r}") from None
    m = _HHMM_RE.match(s)
    if m:
        hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise TimeParseError(f"not a time of day: {text!r}")
        local_now = now.astimezone(tz)
        local = datetime.combine(local_now.date(), time(hour, minute, second), tzinfo=tz)
        return local.astimezone(UTC)
    iso = s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise TimeParseError(f"not a time: {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def iso(dt: datetime | None) -> str | None:
    """The storage form: UTC, ISO 8601, explicit +00:00 offset, whole seconds unless sub-second."""
    if dt is None:
        return None
    dt = dt.astimezone(UTC)
    spec = "milliseconds" if dt.microsecond else "seconds"
    return dt.isoformat(timespec=spec)
