"""The use cases of the destinations: page, follow a page up (ack, resolve), send an
email, and check every configured destination without sending."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from incidentctl.errors import ExitCode, UsageError
from incidentctl.services.outcome import Outcome, Problem

if TYPE_CHECKING:
    from incidentctl.adapters.destinations import Prepared
    from incidentctl.domain.incident import IncidentState
    from incidentctl.services.outbox import Delivery
    from incidentctl.services.workspace import Workspace


@dataclass
class Sent(Outcome):
    """What a delivering command did: each delivery, or the requests --dry-run printed."""

    deliveries: list[Delivery] = field(default_factory=list)
    dry_run: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def exit_status(self) -> ExitCode:
        status = super().exit_status
        if any(d.pending for d in self.deliveries):
            return max(status, ExitCode.PENDING)
        return status


def pending_problems(deliveries: list[Delivery], what: str) -> list[Problem]:
    """The problem lines for deliveries left in the outbox."""
    found = []
    for d in deliveries:
        if d.outcome == "failed":
            found.append(
                Problem(
                    f"{what} {d.template} failed ({d.error}); queued in the outbox as {d.id}",
                    "send it later with: incidentctl outbox flush",
                    ExitCode.PENDING,
                )
            )
        elif d.outcome == "in doubt":
            found.append(
                Problem(
                    f"{what} {d.template} is in doubt ({d.error}); it stays in the outbox as {d.id}",
                    "incidentctl outbox flush retries it where that is safe; else check, then "
                    f"incidentctl outbox flush --retry-in-doubt or outbox drop {d.id}",
                    ExitCode.PENDING,
                )
            )
        if d.record_error:
            found.append(Problem(f"delivered, but recording it failed: {d.record_error}"))
    return found


# -- paging ------------------------------------------------------------------------------


def page_targets(ws: Workspace, state: IncidentState, targets: list[str]) -> list[str]:
    """The targets to page: those named (each a `page` entry of some severity, or a
    [pagerduty.targets] table), else the severity policy's page list."""
    _dest, settings = _pagerduty(ws)
    known = {t for p in ws.config.severity.values() for t in p.page} | set(settings.targets)
    if not targets:
        policy = ws.config.severity.get(state.severity)
        chosen = list(policy.page) if policy else []
        if not chosen:
            raise UsageError(
                f"{state.human_id} is {state.severity}, whose policy pages no one",
                hint="name the targets: incidentctl page INC TARGET...",
            )
        return chosen
    by_fold = {t.lower(): t for t in known}
    chosen = []
    for target in targets:
        found = by_fold.get(target.strip().lower())
        if found is None:
            raise UsageError(
                f"unknown page target {target!r}",
                hint="valid targets: " + ", ".join(sorted(known)),
            )
        chosen.append(found)
    return chosen


def _pagerduty(ws: Workspace):
    from incidentctl.services.destinations import settings_for

    return settings_for(ws, "pagerduty")


def _jobs(ws: Workspace, state: IncidentState, action: str, targets: list[str], message: str):
    from incidentctl.adapters.destinations import Job
    from incidentctl.services.comms import _fill_placeholders
    from incidentctl.services.delivery import prepare

    doc_url = _fill_placeholders(ws.config.incident.doc_url, state, ws.config)
    jobs = []
    for target in targets:
        job = Job(
            action,
            state,
            ws.config,
            ws.now(),
            template=f"pagerduty/{action}",
            target=target,
            options={"message": message, "doc_url": doc_url},
        )
        jobs.append((prepare(ws, "pagerduty", job), job, None))
    return jobs


def page(
    ws: Workspace,
    ref: str,
    targets: list[str],
    *,
    message: str = "",
    by: str | None = None,
    dry_run: bool = False,
    state: IncidentState | None = None,
) -> Sent:
    """Trigger a page for each target (default: the severity's page list)."""
    from incidentctl.services.delivery import deliver
    from incidentctl.services.delivery import dry_run as show
    from incidentctl.services.lookup import find_incident
    from incidentctl.services.record import clean_text

    state = state or find_incident(ws, ref).incident.state
    message = clean_text(message, "-m")
    chosen = page_targets(ws, state, targets)
    jobs = _jobs(ws, state, "trigger", chosen, message)
    if dry_run:
        return Sent(dry_run=show(ws, [p for p, _j, _c in jobs]))
    report = deliver(ws, jobs, by=by)
    return Sent(report.deliveries, problems=pending_problems(report.deliveries, "paging"))


def paged_targets(state: IncidentState) -> list[str]:
    """The targets a trigger was sent to (whatever its outcome), in order."""
    seen: list[str] = []
    for p in state.pages:
        if p.get("action") == "trigger" and p.get("target") not in seen:
            seen.append(p["target"])
    return seen


def follow_up(ws: Workspace, state: IncidentState, action: str, *, by: str | None) -> Sent:
    """After `ack` (acknowledge) or `resolve` (resolve): the same action for each
    target the incident was paged to, with the same dedup keys. Nothing when it was
    never paged or PagerDuty is not configured."""
    from incidentctl.services.delivery import deliver

    targets = paged_targets(state)
    if not targets or ws.config.pagerduty is None:
        return Sent()
    jobs = _jobs(ws, state, action, targets, "")
    report = deliver(ws, jobs, by=by)
    return Sent(report.deliveries, problems=pending_problems(report.deliveries, "paging"))


# -- email -------------------------------------------------------------------------------


def send_email(
    ws: Workspace,
    rendered: Any,
    *,
    to: list[str] | None = None,
    by: str | None = None,
    dry_run: bool = False,
) -> Sent:
    """Send a rendered email/ template over SMTP ([email]); delivered, it is recorded
    as customer communication."""
    if not rendered.template.startswith("email/"):
        raise UsageError(f"{rendered.template} is not an email template", hint="use email/customer")
    return send_rendered(
        ws,
        "email",
        "send",
        rendered,
        channel=lambda prepared: ", ".join(prepared.request.get("to", [])) or "email",
        doing="emailing",
        options={"to": list(to or [])},
        by=by,
        dry_run=dry_run,
    )


def communication(rendered: Any, channel: str) -> dict[str, Any]:
    """What a delivered rendered message records: its communication_sent fields."""
    return {
        "template": rendered.template,
        "stage": rendered.stage,
        "channel": channel,
        "excerpt": rendered.excerpt,
        "digest": rendered.digest,
    }


def send_rendered(
    ws: Workspace,
    destination: str,
    action: str,
    rendered: Any,
    *,
    channel: Callable[[Prepared], str],
    doing: str,
    options: dict[str, Any] | None = None,
    by: str | None = None,
    dry_run: bool = False,
) -> Sent:
    """One rendered message to one destination as one request: prepared (a bad table
    is refused here, before anything is recorded), then shown (`dry_run`) or delivered
    and, delivered, recorded as a communication to `channel(prepared)`. `doing` names
    the sending in the problem lines of a request left in the outbox."""
    from incidentctl.adapters.destinations import Job
    from incidentctl.services.delivery import deliver, next_id, prepare
    from incidentctl.services.delivery import dry_run as show
    from incidentctl.services.lookup import find_incident
    from incidentctl.store.outbox import Outbox

    state = find_incident(ws, rendered.uid).incident.state
    now = ws.now()
    job = Job(
        action,
        state,
        ws.config,
        now,
        text=rendered.text,
        template=rendered.template,
        stage=rendered.stage,
        event_id=next_id(Outbox(ws.repo.git_dir), now),
        options=dict(options or {}),
    )
    prepared = prepare(ws, destination, job)
    if dry_run:
        return Sent(dry_run=show(ws, [prepared]))
    report = deliver(ws, [(prepared, job, communication(rendered, channel(prepared)))], by=by)
    return Sent(report.deliveries, problems=pending_problems(report.deliveries, doing))


# -- integrations check --------------------------------------------------------------------


@dataclass
class CheckLine:
    name: str
    label: str
    problem: str  # '' when ok

    def to_dict(self) -> dict[str, Any]:
        return {"destination": self.name, "ok": not self.problem, "problem": self.problem}


@dataclass
class Checked(Outcome):
    lines: list[CheckLine] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def exit_status(self) -> ExitCode:
        if any(line.problem for line in self.lines):
            return ExitCode.USAGE
        return super().exit_status


def check(ws: Workspace) -> Checked:
    """Each configured destination: its table, its secrets, and what it can verify
    without sending a message (PagerDuty: the key is set; SMTP: connect and EHLO, with
    auth; Statuspage: GET the page; Slack: auth.test)."""
    from incidentctl.adapters import destinations
    from incidentctl.errors import IncidentctlError
    from incidentctl.services.destinations import configured, secret_lookup, settings_for

    out = Checked()
    for name in configured(ws):
        dest = destinations.get(name)
        try:
            dest, settings = settings_for(ws, name, check=False)
            problem = dest.verify(settings, secret_lookup(ws))
        except IncidentctlError as exc:
            problem = exc.message
        out.lines.append(CheckLine(name, dest.label, problem))
    return out
