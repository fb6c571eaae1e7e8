"""ULIDs: 48-bit millisecond time + 80 random bits, Crockford base32 (26 chars).

Hand-written because it is twenty lines and the stdlib has every piece.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(ALPHABET)}
ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def _base32(value: int, length: int) -> str:
    """`value` as `length` Crockford base32 characters, most significant first."""
    chars = []
    for _ in range(length):
        chars.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_ulid(at: datetime, randomness: bytes | None = None) -> str:
    """A ULID whose time part is `at` (so names sort by it) and whose rest is random."""
    ms = int(at.timestamp() * 1000)
    if not 0 <= ms < 1 << 48:
        raise ValueError("time out of ULID range")
    rand = randomness if randomness is not None else os.urandom(10)
    return _base32((ms << 80) | int.from_bytes(rand[:10], "big"), 26)


def ulid_time(ulid: str) -> datetime:
    """The UTC time encoded in a ULID's first ten characters."""
    value = 0
    for c in ulid[:10].upper():
        value = value * 32 + _DECODE[c]
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def time_part(at: datetime) -> str:
    """The ten characters a ULID made at `at` starts with. They sort as the times do,
    so a range of times is a range of names."""
    return _base32(max(0, min(int(at.timestamp() * 1000), (1 << 48) - 1)), 10)


def is_ulid(text: str) -> bool:
    return bool(ULID_RE.match(text.upper()))
