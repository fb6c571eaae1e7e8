"""Communications: fill a message template from an incident, record that it was sent,
and post it to Slack (through the outbox).

`render_message` is the entry point other features call (the runbook walker, the
escalation command); `message_context` is the template context, reused by the PIR.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from incidentctl.domain.policy import STATUSES
from incidentctl.errors import UsageError, choices_hint
from incidentctl.services.workspace import Workspace

if TYPE_CHECKING:
    from incidentctl.domain.incident import IncidentState
    from incidentctl.services.record import RecordResult
    from incidentctl.templating.sandbox import TemplateSource

WEBHOOK_ENV = "INCIDENTCTL_SLACK_WEBHOOK"
FORMATS = ("text", "slack", "blocks", "markdown")
# a template's own extension -> the format it renders to when none is asked for
NATURAL_FORMAT = {"slack": "slack", "txt": "text", "md": "markdown", "html": "html", "json": "json"}
# an output format -> the escaping applied to every value
_ESCAPING = {
    "text": "txt",
    "slack": "slack",
    "blocks": "slack",
    "markdown": "md",
    "html": "html",
    "json": "json",
}
# context entries that are functions, not values a user may --set
_NOT_SETTABLE = ("banner", "icon")
# fields worded from other fields, after --set has been applied to those
WORDED = (
    "cause",
    "resolution_lines",
    "impact_lines",
    "impact_line",
    "issue",
    "what_happened",
    "next_steps",
    "eta_line",
)
TAILS = ("cause_tail", "resolution_tail")  # worded from `cause` and `resolution`
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")
RECOVERY_NOTE = (
    "Service is restored for most customers. Some may experience brief delays as system catches up."
)


@dataclass(frozen=True)
class Rendered:
    """One message, rendered: the text exactly as it is to be printed, copied or sent."""

    text: str
    template: str  # the resolved name, e.g. "statuspage/identified"
    format: str  # text, slack, blocks, markdown (or html, json for such team templates)
    stage: str
    incident: str  # the human ID
    uid: str
    source: str  # the template file
    origin: str  # "built-in" or "repo"

    @property
    def digest(self) -> str:
        from incidentctl.domain.comms import digest

        return digest(self.text)

    @property
    def paste_text(self) -> str:
        """The text to print and copy, for a person to paste into Slack. Slack's client
        escapes what a person types or pastes (`<`, `>`, `&`), so pasted text can ping
        no one, and an entity such as `&gt;` would show as typed. The escaped `text`
        is what goes to Slack's API (`--post`, `--json`, `-f blocks`)."""
        if self.format == "slack":
            from incidentctl.templating.mrkdwn import unescape_mrkdwn

            return unescape_mrkdwn(self.text)
        return self.text

    @property
    def excerpt(self) -> str:
        from incidentctl.domain.wording import excerpt

        return excerpt(self.text)

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident,
            "uid": self.uid,
            "template": self.template,
            "format": self.format,
            "stage": self.stage,
            "source": self.source,
            "origin": self.origin,
            "digest": self.digest,
            "text": self.text,
        }


# -- the template context -------------------------------------------------------------


def next_update_for(ws: Workspace, state: IncidentState, current: datetime) -> datetime | None:
    """When a message rendered at `current` says the next update falls: the severity's
    cadence, aligned; None once resolved or with no cadence. The messages' `next_update`
    and the outbox's late-message check both read it here."""
    from incidentctl.domain.comms import next_update_at
    from incidentctl.domain.policy import SeverityPolicy

    if not state.is_open:
        return None
    policy = ws.config.severity.get(state.severity) or SeverityPolicy()
    return next_update_at(current, policy.update_every, ws.config.comms.next_update_align)


def message_context(
    ws: Workspace,
    state: IncidentState,
    *,
    now: datetime | None = None,
    stage: str | None = None,
    emoji: bool | None = None,
    overrides: Mapping[str, str | list[str]] | None = None,
) -> dict[str, Any]:
    """Everything a message template can use, from the incident's derived state, its
    timeline and the team config. Values are plain strings, lists and dicts; times
    are already worded ("14:23 UTC"). `overrides` (from --set) replace facts before
    the fields worded from them are derived. docs/communications.md lists the keys."""
    from incidentctl.domain import comms, wording
    from incidentctl.domain.policy import SeverityPolicy

    config = ws.config
    zone = config.zone
    current = now or ws.now()
    policy = config.severity.get(state.severity) or SeverityPolicy()
    settings = config.comms
    use_emoji = settings.emoji if emoji is None else emoji
    resolved = not state.is_open
    end = state.resolved_at if resolved and state.resolved_at else current
    cadence = policy.update_every
    next_at = next_update_for(ws, state, current)
    commander = state.commander
    team = _unique([commander, *state.responders, *state.roles.values()])
    elapsed_open = max(end - state.declared_at, timedelta(0))  # never negative
    pir_due = (
        state.resolved_at + policy.pir_within
        if policy.pir_required and policy.pir_within and state.resolved_at
        else None
    )
    customers = [c for c in state.communications if c.audience == "customers"]
    last_told = customers[-1] if customers else None
    org = config.incident.org
    doc_url = _fill_placeholders(config.incident.doc_url, state, config)
    status_page_every = policy.status_page_every or policy.update_every

    def banner(name: str, text: str, both: bool = True) -> str:
        mark = comms.ICONS.get(name, "") if use_emoji else ""
        if not mark:
            return text
        return f"{mark} {text} {mark}" if both else f"{mark} {text}"

    ctx: dict[str, Any] = {
        "org": org,
        "id": state.human_id,
        "uid": state.uid,
        "title": state.title,
        "summary": state.title,
        "severity": state.severity,
        "severity_label": policy.label,
        "severity_name": f"{state.severity} - {policy.label}" if policy.label else state.severity,
        "status": state.status,
        "status_title": state.status.capitalize(),
        "stage": stage or state.status,
        "stage_title": (stage or state.status).capitalize(),
        "resolved": resolved,
        "services": list(state.services),
        "impact": state.impact,
        "commander": commander,
        "responders": [r for r in state.responders if r != commander],
        "team": team,
        "roles": dict(state.roles),
        "war_room": wording.war_room(
            config.incident.war_room,
            state,
            config.incident.id_format,
            config.incident.id_seq_width,
        ),
        "doc_url": doc_url,
        "doc": doc_url or f"incidentctl show {state.human_id}",
        "channel": settings.channel,
        "status_page_url": settings.status_page_url,
        "support_email": settings.support_email,
        "sign_off": settings.email_from or (f"The {org} Team" if org else "The Support Team"),
        "zone": wording.zone_label(current, zone),
        "now": wording.stamp(current, zone),
        "now_time": wording.clock_time(current, zone),
        "today": wording.day(current, zone),
        "started": wording.stamp(state.declared_at, zone),
        "started_time": wording.clock_time(state.declared_at, zone),
        "started_date": wording.day(state.declared_at, zone),
        "started_hm": f"{state.declared_at.astimezone(zone):%H:%M}",
        "detected": wording.stamp(state.detected_at, zone) if state.detected_at else "",
        "resolved_at": wording.stamp(state.resolved_at, zone) if state.resolved_at else "",
        "resolved_hm": f"{state.resolved_at.astimezone(zone):%H:%M}" if state.resolved_at else "",
        "day_phrase": (
            "today"
            if wording.day(state.declared_at, zone) == wording.day(current, zone)
            else f"on {wording.day(state.declared_at, zone)}"
        ),
        "elapsed": wording.long_duration(max(current - state.declared_at, timedelta(0))),
        "duration": wording.long_duration(elapsed_open),
        "cadence": wording.long_duration(cadence) if cadence else "",
        "status_page_cadence": (
            f"Every {wording.long_duration(status_page_every)}" if status_page_every else ""
        ),
        "next_update": wording.clock_time(next_at, zone) if next_at else "",
        "next_update_in": wording.long_duration(next_at - current) if next_at else "",
        "findings": comms.findings(state, settings.findings_limit),
        "root_cause": state.root_cause,
        "resolution": state.resolution,
        "category": state.category,
        "pir_required": policy.pir_required,
        "pir_within": wording.long_duration(policy.pir_within) if policy.pir_within else "",
        "pir_due": wording.day(pir_due, zone) if pir_due else "",
        "notify": [rule.who for rule in policy.notify if rule.after <= current - state.declared_at],
        "customers_last_told": (
            f"{wording.clock_time(last_told.at, zone)} ({last_told.template})" if last_told else ""
        ),
        "communications": [c.to_record() for c in state.communications],
        "escalation_levels": {str(level.level): level.name for level in config.escalation},
        # free fields a responder fills with --set (the seeds' [placeholders])
        "workaround": "",
        "eta": "",
        "action_required": "",
        "data_integrity": "",
        "postmortem_url": "",
        "recovery": RECOVERY_NOTE,
        # White Room's messages (slack/white-room/*)
        "service": ", ".join(state.services),
        "elapsed_short": comms.short_elapsed(max(current - state.declared_at, timedelta(0))),
        "runbook": state.runbook,
        "runbook_url": comms.runbook_link(settings.runbook_url, state.runbook),
        "verification": comms.verification(state),
        "postmortem_at": (
            wording.stamp(state.pir_scheduled_at, zone) if state.pir_scheduled_at else ""
        ),
        "level": "",
        "to": "",
        "reason": "",
        "emoji": use_emoji,
        "icon": {name: (mark if use_emoji else "") for name, mark in comms.ICONS.items()},
        "banner": banner,
    }
    overrides = overrides or {}

    def apply(keys: tuple[str, ...], *, exclude: bool = False) -> None:
        chosen = {k: v for k, v in overrides.items() if (k in keys) != exclude}
        _apply_overrides(ctx, chosen)

    # facts first; then the fields worded from them, so a --set fact flows into its
    # wording, while a --set of a worded field wins and keeps its type (lists stay lists)
    apply(WORDED + TAILS, exclude=True)
    ctx["cause"] = ctx["root_cause"] or comms.identified_cause(state)
    ctx["impact_lines"] = comms.bullet_lines(ctx["impact"])
    ctx["impact_line"] = "; ".join(ctx["impact_lines"])
    ctx["resolution_lines"] = comms.bullet_lines(ctx["resolution"])
    ctx["issue"] = comms.sentence_tail(ctx["summary"])
    ctx["what_happened"] = _sentence(ctx["summary"]) + (
        f" Root cause: {_sentence(ctx['root_cause'])}" if ctx["root_cause"] else ""
    )
    ctx["next_steps"] = _next_steps(ctx, policy)
    ctx["eta_line"] = comms.eta_phrase(ctx["eta"])
    apply(WORDED)
    ctx["cause_tail"] = comms.sentence_tail(ctx["cause"])
    ctx["resolution_tail"] = comms.sentence_tail(ctx["resolution"])
    apply(TAILS)
    return ctx


def _unique(items: list[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item and item not in seen:
            seen.append(item)
    return seen


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def _next_steps(ctx: dict[str, Any], policy: Any) -> list[str]:
    if ctx["pir_due"]:
        return [f"Post-incident review: due by {ctx['pir_due']} (within {ctx['pir_within']})"]
    if ctx["pir_required"] and ctx["pir_within"]:
        return [f"Post-incident review: within {ctx['pir_within']} of resolution"]
    if policy.pir_note:
        return [f"Post-incident review: {policy.pir_note[0].lower() + policy.pir_note[1:]}"]
    return []


def _fill_placeholders(pattern: str, state: IncidentState, config: Any) -> str:
    if "{" not in pattern:
        return pattern
    from incidentctl.domain.wording import war_room

    return war_room(pattern, state, config.incident.id_format, config.incident.id_seq_width)


def _apply_overrides(ctx: dict[str, Any], overrides: Mapping[str, str | list[str]]) -> None:
    for key, value in overrides.items():
        if not _KEY_RE.match(key):
            raise UsageError(
                f"--set: {key!r} is not a field name",
                hint="use --set key=value with letters, digits and _ in the key",
            )
        if key in _NOT_SETTABLE:
            raise UsageError(
                f"--set: {key!r} cannot be set",
                hint="it is a template function; set the fields it reads instead",
            )
        current = ctx.get(key)
        if isinstance(current, bool):
            text = (value if isinstance(value, str) else " ".join(value)).strip().lower()
            if text not in _TRUE + _FALSE:
                raise UsageError(
                    f"--set {key}: expected true or false, not {value!r}",
                    hint=f"e.g. --set {key}=true",
                )
            ctx[key] = text in _TRUE
        elif isinstance(current, list):
            ctx[key] = list(value) if isinstance(value, list) else value.splitlines()
        elif current is None and isinstance(value, list):
            ctx[key] = list(value)  # a new field, set more than once: a list
        else:
            ctx[key] = value if isinstance(value, str) else "\n".join(value)


def parse_settings(pairs: list[str]) -> dict[str, str | list[str]]:
    """--set key=value, repeatable; a repeated key collects a list (one item per --set)."""
    out: dict[str, str | list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set {pair!r}: expected key=value", hint="e.g. --set eta='1 hour'")
        if key in out:
            previous = out[key]
            out[key] = [*(previous if isinstance(previous, list) else [previous]), value]
        else:
            out[key] = value
    return out


# -- rendering ---------------------------------------------------------------------------


def _check_format(fmt: str | None) -> None:
    if fmt is not None and fmt not in _ESCAPING:
        raise UsageError(f"unknown format {fmt!r}", hint=choices_hint("formats", FORMATS))


def _check_stage(stage: str | None) -> str | None:
    if stage is None:
        return None
    value = stage.strip().lower()
    if value not in STATUSES:
        raise UsageError(f"unknown stage {stage!r}", hint=choices_hint("stages", STATUSES))
    return value


def choose_template(ws: Workspace, template: str, stage: str | None, status: str) -> TemplateSource:
    """A template by name; a family name (`statuspage`) picks the member for the stage
    (`--stage`, else the incident's status). With `[comms] template_set`, the set's own
    member (`slack/white-room/declared`) stands in for `slack/declared`; a repo template
    of either name wins over the built-ins."""
    from incidentctl.domain.comms import set_member
    from incidentctl.templating.sandbox import available_templates, find_template

    name = template.strip().strip("/")
    templates = available_templates(ws.repo.root)
    template_set = ws.config.comms.template_set
    for base in (name, f"{name}/{stage or status}"):
        options = [n for n in (set_member(base, template_set), base) if n and n in templates]
        if options:
            from_repo = [n for n in options if templates[n].origin == "repo"]
            return templates[(from_repo or options)[0]]
    return find_template(name, ws.repo.root)  # raises NotFoundError, listing the names


def render_for_state(
    ws: Workspace,
    state: IncidentState,
    template: str,
    *,
    fmt: str | None = "text",
    stage: str | None = None,
    overrides: Mapping[str, str | list[str]] | None = None,
    emoji: bool | None = None,
) -> Rendered:
    from incidentctl.domain.comms import markdown_line_breaks
    from incidentctl.templating.sandbox import render_source

    _check_format(fmt)
    stage = _check_stage(stage)
    source = choose_template(ws, template, stage, state.status)
    if source.name.rsplit("/", 1)[-1] == "resolved" and state.status != "resolved":
        # a message announces only what the record holds
        raise UsageError(
            f"{state.human_id} is {state.status}, not resolved: {source.name} would "
            "announce a resolution the record does not hold",
            hint=f"resolve it first: incidentctl resolve {state.human_id} "
            "--root-cause TEXT --resolution TEXT",
        )
    out_format = fmt or NATURAL_FORMAT.get(source.ext, "text")
    from incidentctl.domain.comms import public_context

    ctx = message_context(ws, state, stage=stage, emoji=emoji, overrides=overrides)
    ctx = public_context(source.name, ctx)  # a public post reads only the public fields
    text = render_source(
        source, ctx, escape_as=_ESCAPING[out_format], budget=render_budget(ws)
    ).strip("\n")
    if state.drill and out_format in DRILL_BANNER_FORMATS:
        text = drill_banner(state, ws.config.comms.emoji if emoji is None else emoji) + text
    if out_format == "markdown":
        text = markdown_line_breaks(text)
    elif out_format == "blocks":
        import json

        from incidentctl.templating.blockkit import slack_blocks

        text = json.dumps(slack_blocks(text, state.human_id), indent=2, ensure_ascii=False)
    return Rendered(
        text=text,
        template=source.name,
        format=out_format,
        stage=stage or state.status,
        incident=state.human_id,
        uid=state.uid,
        source=source.display_path,
        origin=source.origin,
    )


# the formats whose text can carry a first line (a team's html or json template cannot)
DRILL_BANNER_FORMATS = ("text", "slack", "blocks", "markdown")


def drill_banner(state: IncidentState, emoji: bool) -> str:
    """The first line of every message of a drill: one place, for every template."""
    mark = "🧪 " if emoji else ""
    name = re.sub(r"[^A-Za-z0-9_.-]", "", state.scenario)  # a name, never markup
    what = f" ({name})" if name else ""
    return f"{mark}DRILL{what}: this is an exercise, not a real incident\n\n"


def render_budget(ws: Workspace) -> Any:
    """The render budget: `[comms] render_timeout` seconds, the sandbox's output limit."""
    from incidentctl.templating.sandbox import DEFAULT_BUDGET, RenderBudget

    return RenderBudget(
        seconds=max(ws.config.comms.render_timeout.total_seconds(), 0.1),
        max_chars=DEFAULT_BUDGET.max_chars,
    )


def render_message(
    ws: Workspace,
    template: str,
    ref: str | None,
    *,
    fmt: str | None = "text",
    stage: str | None = None,
    overrides: Mapping[str, str | list[str]] | None = None,
    emoji: bool | None = None,
) -> Rendered:
    """Render `template` for the incident `ref` (None: `-`, the current incident, which
    stays current after `resolve`, so a resolution can be rendered then).

    fmt: text (no escaping), slack (mrkdwn, & < > escaped), blocks (a Block Kit JSON
    payload), markdown; None picks the template's own format. emoji: None follows
    `[comms] emoji`. Raises NotFoundError, UsageError or TemplateError.
    """
    from incidentctl.services.lookup import find_incident

    _check_format(fmt)
    _check_stage(stage)
    state = find_incident(ws, "-" if ref is None else ref).incident.state
    return render_for_state(
        ws,
        state,
        template,
        fmt=fmt,
        stage=stage,
        overrides=overrides,
        emoji=emoji,
    )


# -- recording and posting ----------------------------------------------------------------


def default_channel(ws: Workspace, template: str) -> str:
    family = template.split("/", 1)[0]
    settings = ws.config.comms
    if family == "statuspage":
        return settings.status_page_url or "status page"
    if family == "email":
        return "email"
    return settings.channel


INTERNAL = "internal"
CUSTOMERS = "customers"
# how a message went out -> the audience it reached, whatever its template
VIA_AUDIENCE = {"slack-webhook": INTERNAL}


def audience_for(template: str, via: str) -> str:
    """The audience a communication reached: the destination decides. A post to the
    Slack webhook reached the team (internal), even of a status-page or email text; a
    message sent by hand (`manual`) reached whom its template is for (status page and
    email: customers; the rest: internal)."""
    from incidentctl.domain.comms import audience_of

    return VIA_AUDIENCE.get(via) or audience_of(template)


def record_communication(
    ws: Workspace,
    ref: str,
    rendered: Rendered,
    *,
    channel: str | None = None,
    via: str = "manual",
    at: str | None = None,
    by: str | None = None,
) -> RecordResult:
    """Commit a `communication_sent` event for a rendered message, with the audience
    its destination reached (`audience_for`): only a customer audience clears the
    customer-communication obligations."""
    from incidentctl.domain import events as ev
    from incidentctl.services.incidents import _fields, _record
    from incidentctl.services.record import clean_text

    where = clean_text(channel, "--channel").strip() if channel is not None else None
    if not where:
        where = ws.config.comms.channel if via in VIA_AUDIENCE else None
    where = where if where else default_channel(ws, rendered.template)
    audience = audience_for(rendered.template, via)

    def build(loaded, base):
        event = ev.CommunicationSent(
            **_fields(base),
            template=rendered.template,
            channel=where,
            stage=rendered.stage,
            audience=audience,
            via=via,
            excerpt=rendered.excerpt,
            digest=rendered.digest,
        )
        subject = f"sent {rendered.template}" + (f" to {where}" if where else "")
        return [(event, subject, rendered.excerpt)]

    return _record(ws, ref, at, by, build)


def webhook_url(ws: Workspace) -> str:
    """The Slack incoming-webhook URL: $INCIDENTCTL_SLACK_WEBHOOK, else [comms] slack_webhook."""
    url = os.environ.get(WEBHOOK_ENV, "").strip() or ws.config.comms.slack_webhook
    hint = f"set slack_webhook under [comms] in incidentctl.toml, or ${WEBHOOK_ENV}"
    if not url:
        raise UsageError("no Slack webhook is configured", hint=hint)
    if not url.startswith(("https://", "http://")):
        raise UsageError(f"${WEBHOOK_ENV} is not an http(s) URL", hint=hint)
    return url


def slack_payload(rendered: Rendered) -> dict[str, Any]:
    if rendered.format == "blocks":
        import json

        return json.loads(rendered.text)
    return {"text": rendered.text}


def for_slack(ws: Workspace, rendered: Rendered, state_ref: str, **render_args: Any) -> Rendered:
    """The Slack form of a message: itself when already slack/blocks, else re-rendered."""
    if rendered.format in ("slack", "blocks"):
        return rendered
    return render_message(ws, rendered.template, state_ref, fmt="slack", **render_args)
