"""PagerDuty Events API v2: trigger, acknowledge and resolve, one dedup key per target.

    POST {events_url}   {"routing_key", "event_action", "dedup_key", "payload", "links"}
    202 {"status": "success", "message": "Event processed", "dedup_key": "..."}
    400 {"status": "invalid event", "message": "...", "errors": [...]}
    429 too many requests (waited out, Retry-After), 5xx: PagerDuty asks for a retry

The dedup key is the incident's uid plus the target, so a trigger sent twice is one
alert, and acknowledge/resolve reach the alert the trigger opened: an in-doubt
request may be sent again on its own (`resend_safe`).
"""

from __future__ import annotations

import re
from typing import Any

from incidentctl.adapters.destinations import (
    DELIVERED,
    FAILED,
    Destination,
    Job,
    Prepared,
    Result,
    Secret,
    not_sent,
)

ACTIONS = ("trigger", "acknowledge", "resolve")
MAX_SUMMARY = 1024  # the Events API's limit


def dedup_key(uid: str, target: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", target.lower()).strip("-") or "page"
    return f"{uid}-{slug}"[:255]


def routing_key_env(settings: Any, target: str) -> str:
    entry = settings.targets.get(target)
    return entry.routing_key_env if entry is not None else settings.routing_key_env


class PagerDuty(Destination):
    name = "pagerduty"
    label = "PagerDuty"
    section = "pagerduty"
    audience = "responders"
    resend_safe = True

    def problems(self, settings: Any, secret: Secret) -> list[str]:
        from incidentctl.adapters.http import check_url

        found = []
        bad = check_url(settings.events_url, "URL")
        if bad:
            found.append(f"pagerduty.events_url: {bad}")
        envs = {settings.routing_key_env: "pagerduty.routing_key_env"}
        for name, target in settings.targets.items():
            envs.setdefault(target.routing_key_env, f"pagerduty.targets.{name}.routing_key_env")
        for env, key in envs.items():
            if not secret(env):
                found.append(
                    f"{key}: ${env} is not set (the routing key); set it, or add "
                    f'{env} = "..." to credentials.toml in the user config dir'
                )
        return found

    def prepare(self, job: Job, settings: Any) -> Prepared:
        from incidentctl.domain.timeparse import iso

        state, config = job.state, job.config
        key = dedup_key(state.uid, job.target)
        body: dict[str, Any] = {"event_action": job.action, "dedup_key": key}
        if job.action == "trigger":
            from incidentctl.domain.wording import war_room

            summary = f"{state.human_id}: {state.title}"
            if len(summary) > MAX_SUMMARY:
                summary = summary[: MAX_SUMMARY - 1] + "…"
            source = ", ".join(state.services) or settings.source or config.incident.org
            details = {
                "incident": state.human_id,
                "severity": state.severity,
                "status": state.status,
                "commander": state.commander,
                "impact": state.impact,
                "war_room": war_room(
                    config.incident.war_room,
                    state,
                    config.incident.id_format,
                    config.incident.id_seq_width,
                ),
            }
            if job.options.get("message"):
                details["message"] = job.options["message"]
            body["payload"] = {
                "summary": summary,
                "source": source or "incidentctl",
                "severity": settings.severity.get(state.severity, "error"),
                "timestamp": iso(job.now),
                "custom_details": details,
            }
            body["client"] = "incidentctl"
            doc_url = job.options.get("doc_url", "")
            if doc_url:
                body["links"] = [{"href": doc_url, "text": f"{state.human_id} incident doc"}]
        return Prepared(
            destination=self.name,
            action=job.action,
            key=f"{key}:{job.action}",
            request={"body": body},  # the URL and the key come from the config when sent
            secrets={"routing_key": routing_key_env(settings, job.target)},
            summary=f"{job.action} {job.target}",
            target=job.target,
            stream=key,
        )

    def _http(self, prepared: Prepared, settings: Any, secret: Secret):
        from incidentctl.adapters.http import HttpRequest

        routing_key = secret(prepared.secrets.get("routing_key", ""))
        body = {"routing_key": routing_key, **prepared.request["body"]}
        return HttpRequest("POST", settings.events_url, json_body=body, secrets=[routing_key])

    def send(self, prepared: Prepared, settings: Any, secret: Secret) -> Result:
        from incidentctl.adapters.http import SendFailed, request

        req = self._http(prepared, settings, secret)
        if not req.secrets[0]:
            env = prepared.secrets.get("routing_key", "")
            return Result(FAILED, f"${env} is not set (the routing key)")
        try:
            response = request(req, settings.timeout.total_seconds(), what="PagerDuty")
        except SendFailed as exc:
            return not_sent(exc)
        return self.classify(response)

    def classify(self, response: Any) -> Result:
        data = response.json()
        data = data if isinstance(data, dict) else {}
        if 200 <= response.status < 300:
            return Result(
                DELIVERED,
                str(data.get("message", "")),
                response.status,
                {"dedup_key": data.get("dedup_key", "")},
            )
        detail = response.status_text
        message = data.get("message")
        errors = data.get("errors")
        if message:
            detail += f": {message}"
        if isinstance(errors, list) and errors:
            detail += " (" + "; ".join(str(e) for e in errors[:3]) + ")"
        # a refusal (400), a rate limit not waited out (429), a server error: PagerDuty
        # acts on an event once it answers 202, and the dedup key makes a retry harmless
        return Result(FAILED, detail, response.status)

    def dry_run(self, prepared: Prepared, settings: Any, secret: Secret) -> str:
        return self._http(prepared, settings, secret).masked()

    def events(self, prepared: Prepared, result: Result) -> list[dict[str, Any]]:
        return [
            {
                "type": "paged",
                "target": prepared.target,
                "action": prepared.action,
                "dedup_key": prepared.stream,
                "outcome": result.outcome,
                "detail": result.detail[:2000],
                "message": str(
                    prepared.request["body"]
                    .get("payload", {})
                    .get("custom_details", {})
                    .get("message", "")
                ),
            }
        ]


DESTINATION = PagerDuty()
