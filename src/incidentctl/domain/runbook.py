"""Runbooks: the ordered phases and steps a responder works through, as a validated model.

A runbook is data (a TOML file, parsed by the caller into a dict). This module only
validates it and answers questions about it; it does no I/O.

The minimum is small: a `title`, and phases with a `title` and steps with a `text`. The
name defaults to the file's (the caller passes it), a phase id to a slug of its title and
a step id to a slug of its text (made unique with -2, -3, ...); `source` is optional.

A step may be satisfied by the timeline instead of an answer: `satisfied_by` names the
events that do it (`declared`, `acknowledged`, `sent:slack/declared`, `notified:cto`...);
without it the step's own action says (see `Step.satisfiers`). Runbook `warnings` (the
DO NOT list) are acknowledged once, before the first step; they are never steps.

Commands may use `{{ name }}` variables for environment-specific things (namespace,
deployment, database, ...). Their defaults live in the runbook's `[vars]` table; a team's
configuration or the command line may override them; templating/sandbox.py renders
them, in the Jinja2 sandbox. Commands are shown to the responder
and run only when the responder confirms the exact command line, so shell syntax such as
`$(date +%s)` is kept verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from incidentctl.domain.timeparse import TimeParseError, parse_compact_duration

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
TEMPLATE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*(?:/[a-z0-9][a-z0-9_-]*)*$")
_VAR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SLUG_WORD_RE = re.compile(r"[a-z0-9]+")
SLUG_MAX = 40

# the timeline events a step can be satisfied by: `kind` or `kind:value`
SATISFIER_KINDS: dict[str, str] = {
    "declared": "the incident is declared",
    "acknowledged": "a responder acknowledged (the page was answered)",
    "mitigated": "the incident is mitigated",
    "resolved": "the incident is resolved",
    "escalated": "the incident was escalated",
    "assigned": "a role is assigned (assigned:ROLE for one role)",
    "notified": "a stakeholder was notified (notified:WHO for one)",
    "sent": "a message was recorded as sent (sent:TEMPLATE, or sent:FAMILY)",
}
_SATISFIER_RE = re.compile(r"^(?P<kind>[a-z]+)(?::(?P<value>[A-Za-z0-9@][A-Za-z0-9_./@-]*))?$")
_WITH_VALUE = {"assigned", "notified", "sent"}


def slugify(text: str, limit: int = SLUG_MAX) -> str:
    """'Check recent deployments!' -> 'check-recent-deployments': lowercase ASCII words
    joined by '-', cut at a word boundary to at most `limit` characters. '' if no word."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    out = ""
    for word in _SLUG_WORD_RE.findall(ascii_text.lower()):
        longer = f"{out}-{word}" if out else word
        if len(longer) > limit:
            if not out:
                out = word[:limit]
            break
        out = longer
    return out


def _slug(value: str) -> str:
    if not SLUG_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a slug (use lowercase letters, digits and '-')")
    return value


def _timebox(value: str) -> str:
    try:
        parse_compact_duration(value)
    except TimeParseError:
        raise ValueError(
            f"{value!r} is not a duration (use e.g. 5m, 15m, 1h30m, 24h, 2d)"
        ) from None
    return value


def _satisfier(value: str) -> str:
    m = _SATISFIER_RE.fullmatch(value)
    kind = m.group("kind") if m else ""
    if kind not in SATISFIER_KINDS or (m and m.group("value") and kind not in _WITH_VALUE):
        known = ", ".join(f"{k}:..." if k in _WITH_VALUE else k for k in SATISFIER_KINDS)
        raise ValueError(f"{value!r} is not an event a step can be satisfied by (use {known})")
    return value


def _template(value: str) -> str:
    if not TEMPLATE_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a template name (use e.g. slack/declared)")
    return value


Slug = Annotated[str, AfterValidator(_slug)]
Text = Annotated[str, Field(min_length=1)]
Timebox = Annotated[str, AfterValidator(_timebox)]
TemplateName = Annotated[str, AfterValidator(_template)]
Satisfier = Annotated[str, AfterValidator(_satisfier)]
StepKind = Literal["check", "action", "decision", "communicate"]
Severity = Literal["P0", "P1", "P2", "P3"]

Loc = tuple[str | int, ...]

_RULE_ERROR = "runbook_rule"


class RunbookError(ValueError):
    """A runbook does not validate. The message has one `<source>: <path>: <problem>` per line."""

    def __init__(self, source_name: str, problems: list[tuple[str, str]]) -> None:
        self.source_name = source_name
        self.problems = problems  # (field path, message) pairs
        super().__init__("\n".join(_line(source_name, path, msg) for path, msg in problems))


def _line(source_name: str, path: str, msg: str) -> str:
    return f"{source_name}: {path}: {msg}" if path else f"{source_name}: {msg}"


def format_loc(loc: Loc) -> str:
    """('phases', 1, 'steps', 0, 'kind') -> 'phases[1].steps[0].kind'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _rule_error(problems: list[tuple[Loc, str]]) -> PydanticCustomError:
    """One validation error carrying several located problems (expanded by parse_runbook)."""
    summary = "; ".join(f"{format_loc(loc)}: {msg}" if loc else msg for loc, msg in problems)
    return PydanticCustomError(_RULE_ERROR, "{summary}", {"summary": summary, "problems": problems})


class _Model(BaseModel):
    # strict: TOML gives real types, so "5" for a list or 5 for a string is a mistake.
    model_config = ConfigDict(extra="forbid", strict=True)


class Option(_Model):
    """One choice of a decision step, e.g. `A`: roll back."""

    key: Text
    text: Text
    commands: list[Text] = []


class Step(_Model):
    id: Slug
    text: Text
    kind: StepKind = "action"
    commands: list[Text] = []
    warnings: list[Text] = []
    options: list[Option] = []
    template: TemplateName | None = None  # e.g. "slack/declared", "statuspage/investigating"
    # the events that do this step (all of them); None: inferred (see satisfiers), []: none
    satisfied_by: list[Satisfier] | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_satisfier(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("satisfied_by"), str):
            return {**data, "satisfied_by": [data["satisfied_by"]]}  # one event: a string will do
        return data

    @property
    def satisfiers(self) -> list[str]:
        """The events that satisfy this step: `satisfied_by` if the runbook gives it,
        else what the step's own action implies (see `infer_satisfiers`)."""
        if self.satisfied_by is not None:
            return list(self.satisfied_by)
        return infer_satisfiers(self.text, self.template)

    @model_validator(mode="after")
    def _check_kind(self) -> Step:
        problems: list[tuple[Loc, str]] = []
        if self.kind == "decision" and not self.options:
            problems.append((("options",), "a decision step needs at least one option"))
        if self.kind != "decision" and self.options:
            msg = f"only decision steps have options (this step's kind is {self.kind!r})"
            problems.append((("options",), msg))
        seen: dict[str, int] = {}
        for i, option in enumerate(self.options):
            if option.key in seen:
                first = f"options[{seen[option.key]}]"
                msg = f"duplicate option key {option.key!r} (already used by {first})"
                problems.append((("options", i, "key"), msg))
            seen.setdefault(option.key, i)
        if problems:
            raise _rule_error(problems)
        return self

    def all_commands(self) -> list[str]:
        """The step's commands, then each option's, in order."""
        return [*self.commands, *(c for o in self.options for c in o.commands)]


class Phase(_Model):
    id: Slug
    title: Text
    timebox: Timebox | None = None  # done by this long after declaration: "5m", "1h30m", "24h"
    steps: Annotated[list[Step], Field(min_length=1)]

    @property
    def timebox_delta(self) -> timedelta | None:
        if self.timebox is None:
            return None
        return parse_compact_duration(self.timebox)


class Runbook(_Model):
    name: Slug
    title: Text
    severity: Severity | None = None  # suggested severity
    summary: str | None = None
    source: Text | None = None  # which document and section it reproduces (optional)
    symptoms: list[Text] = []
    services: list[Text] = []
    tags: list[Text] = []
    warnings: list[Text] = []  # acknowledged before starting, e.g. the DO NOT list
    vars: dict[str, str] = {}  # default values of command variables
    phases: Annotated[list[Phase], Field(min_length=1)]

    @model_validator(mode="before")
    @classmethod
    def _default_ids(cls, data: Any) -> Any:
        """Phases and steps without an id get a slug of their title or text."""
        if not isinstance(data, dict) or not isinstance(data.get("phases"), list):
            return data
        phases = [dict(p) if isinstance(p, dict) else p for p in data["phases"]]
        for p in phases:
            if isinstance(p, dict) and isinstance(p.get("steps"), list):
                p["steps"] = [dict(s) if isinstance(s, dict) else s for s in p["steps"]]
        _fill_ids(phases, "title", "phase")
        steps = [s for p in phases if isinstance(p, dict) for s in p.get("steps") or []]
        _fill_ids(steps, "text", "step")
        return {**data, "phases": phases}

    @model_validator(mode="after")
    def _check_ids(self) -> Runbook:
        problems: list[tuple[Loc, str]] = []
        for name in self.vars:
            if not _VAR_NAME_RE.fullmatch(name):
                problems.append((("vars", name), "variable names use letters, digits and '_'"))
        phase_ids: dict[str, int] = {}
        step_ids: dict[str, tuple[int, int]] = {}
        for p, phase in enumerate(self.phases):
            if phase.id in phase_ids:
                first = f"phases[{phase_ids[phase.id]}]"
                msg = f"duplicate phase id {phase.id!r} (already used by {first})"
                problems.append((("phases", p, "id"), msg))
            phase_ids.setdefault(phase.id, p)
            for s, step in enumerate(phase.steps):
                if step.id in step_ids:
                    first = "phases[{}].steps[{}]".format(*step_ids[step.id])
                    msg = f"duplicate step id {step.id!r} (already used by {first})"
                    problems.append((("phases", p, "steps", s, "id"), msg))
                step_ids.setdefault(step.id, (p, s))
        if problems:
            raise _rule_error(problems)
        return self

    def iter_steps(self) -> Iterator[tuple[Phase, Step]]:
        for phase in self.phases:
            for step in phase.steps:
                yield phase, step

    def step(self, step_id: str) -> Step | None:
        return next((s for _, s in self.iter_steps() if s.id == step_id), None)

    def all_commands(self) -> list[str]:
        return [c for _, step in self.iter_steps() for c in step.all_commands()]


def _fill_ids(items: list[Any], source_key: str, fallback: str) -> None:
    """Give each dict without an `id` a unique slug of its `source_key` (or `fallback-N`).
    Ids the file gives are kept as they are (duplicates among them stay errors)."""
    taken = {i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)}
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict) or "id" in item:
            continue
        source = item.get(source_key)
        base = (slugify(source) if isinstance(source, str) else "") or f"{fallback}-{n}"
        candidate, k = base, 2
        while candidate in taken:
            candidate, k = f"{base}-{k}", k + 1
        item["id"] = candidate
        taken.add(candidate)


# what a step's own words imply: (pattern on its text, the events that satisfy it)
_INFERRED: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^declare\b", re.IGNORECASE), "declared"),
    (re.compile(r"^page\b", re.IGNORECASE), "acknowledged"),
)


def infer_satisfiers(text: str, template: str | None) -> list[str]:
    """The events a step's action implies: "Declare ..." is done by the declaration,
    "Page ..." by an acknowledgement (the page was answered), a step with a message
    template by that message recorded as sent. Anything else: none (it is asked)."""
    for pattern, satisfier in _INFERRED:
        if pattern.search(text.strip()):
            return [satisfier]
    if template:
        return [f"sent:{template}"]
    return []


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        loc: Loc = tuple(err["loc"])
        ctx = err.get("ctx") or {}
        if err["type"] == _RULE_ERROR and "problems" in ctx:
            out.extend((format_loc(loc + sub), msg) for sub, msg in ctx["problems"])
        else:
            msg = err["msg"]
            if err["type"] == "value_error":
                msg = msg.removeprefix("Value error, ")
            out.append((format_loc(loc), msg))
    return out


def parse_runbook(
    data: dict[str, Any], source_name: str, *, default_name: str | None = None
) -> Runbook:
    """Validate a runbook parsed from TOML. `source_name` (e.g. the file name) prefixes
    errors; `default_name` (the file's stem) is the name when the file gives none."""
    if default_name is not None and isinstance(data, dict) and "name" not in data:
        data = {"name": default_name, **data}
    try:
        return Runbook.model_validate(data)
    except ValidationError as exc:
        raise RunbookError(source_name, _problems(exc)) from None


# -- suggestions ------------------------------------------------------------------------

GENERAL_TAG = "general"  # a runbook for any incident: suggested when nothing specific fits
_WORD_RE = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "not",
        "are",
        "was",
        "were",
        "has",
        "have",
        "had",
        "all",
        "any",
        "our",
        "its",
        "into",
        "out",
        "off",
        "but",
        "can",
        "via",
        "per",
        "from",
        "with",
        "this",
        "that",
        "than",
        "then",
    ]
)


def keywords(text: str) -> set[str]:
    """Lowercase words of three or more letters or digits, without filler words."""
    return {w for w in _WORD_RE.findall(text.lower()) if len(w) >= 3 and w not in _STOPWORDS}


@dataclass(frozen=True)
class Suggestion:
    name: str
    score: int
    reasons: tuple[str, ...]


def suggest_runbooks(
    runbooks: Iterable[Runbook], services: list[str], text: str
) -> list[Suggestion]:
    """Runbooks that fit an incident, best first.

    A service the runbook names (in `services` or `tags`) scores 3; each word of the
    incident's text (title, impact, services) found in the runbook's symptoms, tags, title
    or name scores 1. Runbooks tagged `general` follow, as the fallback for anything.
    """
    wanted_services = {s.strip().lower() for s in services if s.strip()}
    scored: list[Suggestion] = []
    general: list[Suggestion] = []
    for runbook in runbooks:
        named = {s.lower() for s in [*runbook.services, *runbook.tags]}
        reasons: list[str] = []
        score = 0
        for service in sorted(wanted_services & named):
            score += 3
            reasons.append(f"service {service}")
        # a service named outright already scored; the words of the others may still match
        words = keywords(" ".join([text, *(s for s in wanted_services if s not in named)]))
        vocabulary = keywords(
            " ".join([*runbook.symptoms, *runbook.tags, runbook.title, runbook.name])
        )
        matched = sorted(words & vocabulary)
        if matched:
            score += len(matched)
            reasons.append("mentions " + ", ".join(matched))
        if score:
            scored.append(Suggestion(runbook.name, score, tuple(reasons)))
        elif GENERAL_TAG in runbook.tags:
            general.append(Suggestion(runbook.name, 0, ("general procedure",)))
    scored.sort(key=lambda s: (-s.score, s.name))
    general.sort(key=lambda s: s.name)
    return scored + general
