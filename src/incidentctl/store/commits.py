"""The commit-message protocol: how incidentctl writes its commit messages, and how it
reads their trailers back (`verify`, `log --json`, the review's timeline).

A message is a subject line, an optional body and an optional block of trailers, one
`Key: value` per line, with a blank line between the parts:

    INC-2026-02-12-001: status investigating -> identified

    the body, if any

    Incident: INC-2026-02-12-001
    Incident-Uid: 01KHAPZB8W6S5FJ4W0NQ3Q9A1X
    Event: 01KHAQ3M5T0J6C9Z1V7Y8E2D4B
    Event-Type: status_changed
    Event-Sha256: <SHA-256 of the event file's bytes>

Writing goes through `message` (and `event_message` for an event); reading through
`parse_trailers` (of git's `%(trailers:only,unfold)`, `LOG_FORMAT`) or `parse_message`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from incidentctl.domain.events import EventBase

# trailer names
INCIDENT = "Incident"  # the incident's human ID when the commit was made
INCIDENT_UID = "Incident-Uid"
EVENT = "Event"  # the event's (or on-call override's) ULID
EVENT_TYPE = "Event-Type"
EVENT_SHA256 = "Event-Sha256"  # SHA-256 of the committed event file's bytes
RECOVERED = "Recovered"  # "true": committed by a later command than the one that wrote it
REVIEW_FILE = "Review-File"  # a generated post-incident review (pir.md)

# `git log --format` placeholder for a commit's trailers, one `Key: value` per line
LOG_FORMAT = "%(trailers:only,unfold)"
SUBJECT_LIMIT = 100  # characters in an event's subject after the human ID

Trailers = Sequence[tuple[str, str]]

_TRAILER_LINE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*: ")


def one_line(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """`text` on one line (runs of whitespace become one space), cut to `limit`
    characters with an ellipsis."""
    from incidentctl.domain.wording import excerpt

    return excerpt(text, limit)


# What git reads as structure in a message, at a line's start: `---` ends the message
# for `interpret-trailers` and `am` (the patch divider), and `Key: value` in the last
# paragraph is a trailer. User text in a body never stands there as typed.
_STRUCTURE = re.compile(r"^(?:---|[A-Za-z0-9][A-Za-z0-9-]*\s*:)")


def inert_body(body: str) -> str:
    """User text for a commit body, with every line git could parse as structure (a
    `---` divider, a `Key:` trailer) indented by one space. The text itself is in the
    event file; the body is for people reading `git log`."""
    return "\n".join(
        f" {line}" if _STRUCTURE.match(line) else line for line in body.strip().splitlines()
    )


def message(subject: str, body: str = "", trailers: Trailers = ()) -> str:
    """A commit message: the subject, the body (if it is not blank; made inert, see
    `inert_body`) and the trailers, separated by blank lines."""
    parts = [subject]
    if body.strip():
        parts.append(inert_body(body))
    if trailers:
        parts.append("\n".join(f"{key}: {value}" for key, value in trailers))
    return "\n\n".join(parts)


def event_message(
    human_id: str, event: EventBase, digest: str, subject: str, body: str = ""
) -> str:
    """The message of an event's commit. `digest` is the SHA-256 (hex) of the event
    file's bytes, as written: `verify` compares it with the committed file."""
    return message(
        f"{human_id}: {one_line(subject)}",
        body,
        [
            (INCIDENT, human_id),
            (INCIDENT_UID, event.incident),
            (EVENT, event.id),
            (EVENT_TYPE, event.type),
            (EVENT_SHA256, digest),
        ],
    )


def recovered(text: str) -> str:
    """`text` marked as committed by a later command than the one that wrote its files:
    a `Recovered: true` trailer, added to the trailer block (or starting one)."""
    line = f"{RECOVERED}: true"
    if _trailer_block(text) is not None:
        return f"{text}\n{line}"
    return f"{text}\n\n{line}"


def parse_trailers(text: str) -> list[tuple[str, str]]:
    """(key, value) pairs, in order, of trailer lines: git's `%(trailers:only,unfold)`
    output, or the trailer block of a message. Lines that are not `Key: value` are
    skipped; keys keep their letter case (git compares them without it)."""
    pairs = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            pairs.append((key.strip(), value.strip()))
    return pairs


def parse_message(text: str) -> tuple[str, str, list[tuple[str, str]]]:
    """(subject, body, trailers) of a message written by `message`."""
    paragraphs = text.strip("\n").split("\n\n")
    subject, rest = paragraphs[0], paragraphs[1:]
    trailers: list[tuple[str, str]] = []
    if rest and _is_trailer_block(rest[-1]):
        trailers = parse_trailers(rest.pop())
    return subject, "\n\n".join(rest).strip("\n"), trailers


def _trailer_block(text: str) -> str | None:
    """The message's trailer block: its last paragraph, if that is not the subject and
    every line of it is `Key: value`."""
    paragraphs = text.rstrip("\n").split("\n\n")
    if len(paragraphs) > 1 and _is_trailer_block(paragraphs[-1]):
        return paragraphs[-1]
    return None


def _is_trailer_block(paragraph: str) -> bool:
    lines = paragraph.strip("\n").splitlines()
    return bool(lines) and all(_TRAILER_LINE.match(line) for line in lines)
