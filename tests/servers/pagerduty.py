"""PagerDuty's Events API v2 (POST /v2/enqueue), as documented: 202 with
{"status": "success", "message": "Event processed", "dedup_key"}, 400 for an invalid
event, 429 rate limited. Alerts are deduplicated by dedup_key like the real service:
`alerts` holds one entry per key with its state and every action applied, so
"delivered at most once" reads as one alert per key, one state change per action."""

from __future__ import annotations

from typing import Any

from tests.servers.base import JsonServer

ROUTING_KEYS = {"R0UTINGKEYSRE0000000000000000000", "R0UTINGKEYBACKEND000000000000000"}


class PagerDutyServer(JsonServer):
    def __init__(self, routing_keys: set[str] | None = None) -> None:
        self.routing_keys = routing_keys or set(ROUTING_KEYS)
        self.alerts: dict[str, dict[str, Any]] = {}
        super().__init__()

    @property
    def events_url(self) -> str:
        return self.url + "/v2/enqueue"

    def error_body(self, status: int) -> Any:
        if status == 400:
            return {"status": "invalid event", "message": "Event object is invalid",
                    "errors": ["'payload.summary' is missing"]}  # fmt: skip
        return {"status": "error", "message": f"HTTP {status}"}

    def handle(self, method: str, path: str, headers: dict, body: Any) -> tuple[int, Any]:
        if method != "POST" or path != "/v2/enqueue" or not isinstance(body, dict):
            return 404, {"status": "not found"}
        if body.get("routing_key") not in self.routing_keys:
            return 400, {"status": "invalid event", "message": "Event object is invalid",
                         "errors": ["Invalid routing key"]}  # fmt: skip
        action = body.get("event_action")
        key = body.get("dedup_key") or "generated-key"
        if action == "trigger":
            payload = body.get("payload") or {}
            missing = [f for f in ("summary", "source", "severity") if not payload.get(f)]
            if missing:
                return 400, {"status": "invalid event", "message": "Event object is invalid",
                             "errors": [f"'payload.{f}' is missing" for f in missing]}  # fmt: skip
            alert = self.alerts.get(key)
            if alert is None or alert["state"] == "resolved":
                alert = self.alerts[key] = {"state": "triggered", "actions": [], "body": body}
                alert["actions"].append("trigger")
        elif action in ("acknowledge", "resolve"):
            alert = self.alerts.get(key)
            state = "acknowledged" if action == "acknowledge" else "resolved"
            if alert is not None and alert["state"] != state and alert["state"] != "resolved":
                alert["state"] = state
                alert["actions"].append(action)
        else:
            return 400, {"status": "invalid event", "message": "Event object is invalid",
                         "errors": ["'event_action' is invalid"]}  # fmt: skip
        return 202, {"status": "success", "message": "Event processed", "dedup_key": key}
