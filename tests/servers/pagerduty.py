"""PagerDuty's Events API v2 (POST /v2/enqueue), as documented: 202 with
{"status": "success", "message": "Event processed", "dedup_key"}, 400 for an invalid
event, 429 rate limited. Alerts are deduplicated by dedup_key like the real service:
`alerts` holds one entry per key with its state and every action applied, so
"delivered at most once" reads as one alert per key, one state change per action.

Effects in the log: "<action> <dedup key>" for an action that changed an alert
("trigger", "acknowledge", "resolve"); "" for one the dedup key made a no-op.
"""

from __future__ import annotations

from typing import Any

from servers.httpbase import FakeHTTPServer, Request, Response

ROUTING_KEYS = {"R0UTINGKEYSRE0000000000000000000", "R0UTINGKEYBACKEND000000000000000"}


def _invalid(*errors: str) -> Response:
    body = {"status": "invalid event", "message": "Event object is invalid", "errors": [*errors]}
    return Response(400, body)


class PagerDutyServer(FakeHTTPServer):
    name = "pagerduty"

    def __init__(self, routing_keys: set[str] | None = None) -> None:
        self.routing_keys = routing_keys or set(ROUTING_KEYS)
        self.alerts: dict[str, dict[str, Any]] = {}
        super().__init__()

    @property
    def events_url(self) -> str:
        return self.base + "/v2/enqueue"

    def config(self, timeout: str = "2s") -> str:
        """The [pagerduty] table of an incidentctl.toml that pages here: the default
        routing key in $PD_KEY, the "On-call SRE" target's in $PD_SRE_KEY."""
        return (
            f'\n[pagerduty]\nevents_url = "{self.events_url}"\nrouting_key_env = "PD_KEY"\n'
            + f'timeout = "{timeout}"\n'
            + '[pagerduty.targets."On-call SRE"]\nrouting_key_env = "PD_SRE_KEY"\n'
        )

    def events(self) -> list[dict[str, Any]]:
        """The body of every event read, in order (whatever became of it)."""
        return [r.json for r in self.requests("POST", "/v2/enqueue")]

    # -- the API -------------------------------------------------------------------------

    def error(self, status: int) -> Response:
        if status == 400:
            return _invalid("'payload.summary' is missing")
        return Response(status, {"status": "error", "message": f"HTTP {status}"})

    def rate_limited(self, retry_after: float) -> Response:
        return Response(429, self.error(429).body, {"Retry-After": f"{retry_after:g}"})

    def handle(self, request: Request) -> Response:
        body = request.json
        if request.method != "POST" or request.path != "/v2/enqueue" or not isinstance(body, dict):
            return Response(404, {"status": "not found"})
        if body.get("routing_key") not in self.routing_keys:
            return _invalid("Invalid routing key")
        action = body.get("event_action")
        key = body.get("dedup_key") or "generated-key"
        effect = ""
        if action == "trigger":
            payload = body.get("payload") or {}
            missing = [f for f in ("summary", "source", "severity") if not payload.get(f)]
            if missing:
                return _invalid(*(f"'payload.{f}' is missing" for f in missing))
            alert = self.alerts.get(key)
            if alert is None or alert["state"] == "resolved":
                alert = self.alerts[key] = {"state": "triggered", "actions": [], "body": body}
                alert["actions"].append("trigger")
                effect = f"trigger {key}"
        elif action in ("acknowledge", "resolve"):
            alert = self.alerts.get(key)
            state = "acknowledged" if action == "acknowledge" else "resolved"
            if alert is not None and alert["state"] != state and alert["state"] != "resolved":
                alert["state"] = state
                alert["actions"].append(action)
                effect = f"{action} {key}"
        else:
            return _invalid("'event_action' is invalid")
        body = {"status": "success", "message": "Event processed", "dedup_key": key}
        return Response(202, body, effect=effect)
