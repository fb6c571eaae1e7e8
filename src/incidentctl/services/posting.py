"""Posting to the status page (Statuspage) and to Slack as a bot (the Web API).

- `render statuspage INC --post` with a [statuspage] table: the stage's text is posted
  to the status page (adapters/destinations/statuspage.py): the first post creates the
  status-page incident, later ones update it. Delivered, it is customer communication.
- `--post` of a Slack message with a [slack] table and its bot token set: the bot posts
  it (adapters/destinations/slack.py). The declaration also creates the war-room
  channel and is posted to the incidents channel; every later message goes in its
  thread; the resolution also rewrites the declaration. Without a token the incoming
  webhook posts it, as before.

Both go through services/delivery.py and the outbox: a failed post is queued, one in
doubt is read back before anything is sent again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from incidentctl.services.integrations import Sent, pending_problems, send_rendered

if TYPE_CHECKING:
    from incidentctl.domain.incident import IncidentState
    from incidentctl.services.comms import Rendered
    from incidentctl.services.workspace import Workspace


# -- the status page ----------------------------------------------------------------------


def statuspage_configured(ws: Workspace, template: str) -> bool:
    return template.strip().startswith("statuspage") and ws.config.statuspage is not None


def post_statuspage(
    ws: Workspace, rendered: Rendered, *, by: str | None = None, dry_run: bool = False
) -> Sent:
    """Post a rendered statuspage/ message to the status page ([statuspage]); a bad
    table or an unknown component is refused (exit 2) before anything is recorded."""
    where = ws.config.comms.status_page_url or "status page"
    return send_rendered(
        ws,
        "statuspage",
        "post",
        rendered,
        channel=lambda _prepared: where,
        doing="posting",
        by=by,
        dry_run=dry_run,
    )


# -- Slack as a bot -------------------------------------------------------------------------


def slack_bot(ws: Workspace) -> bool:
    """Whether --post goes through the bot: a [slack] table whose token is set."""
    if ws.config.slack is None:
        return False
    from incidentctl.domain.integrations import parse_section
    from incidentctl.services.destinations import secret_lookup, settings_for

    settings, _problems = parse_section("slack", ws.config.slack)
    if settings is None:
        settings_for(ws, "slack")  # raises, naming the problem (exit 2)
    return bool(secret_lookup(ws)(settings.token_env))


def check_slack_bot(ws: Workspace) -> None:
    """Refuse (exit 2) before anything is recorded: a bad [slack] table."""
    from incidentctl.services.destinations import settings_for

    settings_for(ws, "slack")


def _payload(rendered: Rendered) -> dict[str, Any]:
    """The Block Kit payload of a Slack message (templating/blockkit.py)."""
    import json

    if rendered.format == "blocks":
        return json.loads(rendered.text)
    from incidentctl.templating.blockkit import slack_blocks

    return slack_blocks(rendered.text, rendered.incident)


def post_slack(
    ws: Workspace,
    rendered: Rendered,
    *,
    state: IncidentState | None = None,
    record: bool = False,
    by: str | None = None,
    dry_run: bool = False,
) -> Sent:
    """Post a rendered Slack message (slack or blocks format) as the bot. A declaration
    first creates the war room; a resolution also rewrites the declaration."""
    from incidentctl.adapters.destinations import Job
    from incidentctl.adapters.destinations.slack import resolved_text
    from incidentctl.services.delivery import deliver, next_ids, prepare
    from incidentctl.services.delivery import dry_run as show
    from incidentctl.services.lookup import find_incident
    from incidentctl.store.outbox import Outbox

    if state is None or state.uid != rendered.uid:
        state = find_incident(ws, rendered.uid).incident.state
    now = ws.now()
    name = rendered.template.rsplit("/", 1)[-1]
    jobs = []
    # the outbox sends in ID order: the war room before the declaration, the reply
    # before the rewrite, all after what is queued already
    ids = iter(next_ids(Outbox(ws.repo.git_dir), now, 3))

    def add(
        action: str, text: str, template: str, options: dict[str, Any], communication: bool
    ) -> None:
        job = Job(action, state, ws.config, ws.now(), text=text, template=template,
                  stage=rendered.stage, event_id=next(ids), options=options)  # fmt: skip
        prepared = prepare(ws, "slack", job)
        comm = communication(rendered, prepared.target) if communication else None
        jobs.append((prepared, job, comm))

    if name == "declared":
        add("war_room", "", "slack/war_room", {}, False)
    add("post", rendered.text, rendered.template, {"payload": _payload(rendered)}, record)
    if name == "resolved":
        from dataclasses import replace

        from incidentctl.services.comms import render_for_state

        declared = render_for_state(ws, state, "slack/declared", fmt="slack")
        declared = replace(declared, text=resolved_text(declared.text))
        add(
            "resolve_declaration",
            declared.text,
            "slack/declared",
            {"payload": _payload(declared)},
            False,
        )
    if dry_run:
        return Sent(dry_run=show(ws, [p for p, _j, _c in jobs]))
    report = deliver(ws, jobs, by=by)
    return Sent(report.deliveries, problems=pending_problems(report.deliveries, "posting to Slack"))
