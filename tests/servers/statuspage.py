"""A fake Atlassian Statuspage REST API (v1): the page and incidents endpoints we call.

    GET   {base}/v1/pages/{page_id}                    the page profile
    POST  {base}/v1/pages/{page_id}/incidents          create: {"incident": {...}} -> 201
    PATCH {base}/v1/pages/{page_id}/incidents/{id}     update: {"incident": {...}} -> 200
    GET   {base}/v1/pages/{page_id}/incidents          the page's incidents, newest first

As documented (developer.statuspage.io, operations postPagesPageIdIncidents and
patchPagesPageIdIncidentsIncidentId): the key goes in `Authorization: OAuth KEY`; the
incident fields are `name`, `status` (investigating, identified, monitoring, resolved),
`body` (the text of the incident update it creates), `impact_override` (none, minor,
major, critical), `component_ids` (a list) and `components` (a map of component id to
its status: operational, under_maintenance, degraded_performance, partial_outage,
major_outage). Each key may make one request per second; more is answered 429 with a
Retry-After. The error bodies are `{"error": "..."}` here; the client reads only the
status of an error.

Effects in the log: "create <incident id>" and "update <incident id> <status>".
"""

from __future__ import annotations

import itertools
import math
import re
import time
from datetime import UTC, datetime
from typing import Any

from servers.httpbase import FakeHTTPServer, Request, Response

INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
IMPACTS = ("none", "minor", "major", "critical")
COMPONENT_STATUSES = (
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
)

_PAGE = re.compile(r"^/v1/pages/(?P<page>[^/]+)$")
_INCIDENTS = re.compile(r"^/v1/pages/(?P<page>[^/]+)/incidents$")
_INCIDENT = re.compile(r"^/v1/pages/(?P<page>[^/]+)/incidents/(?P<id>[^/]+)$")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StatuspageServer(FakeHTTPServer):
    name = "statuspage"

    def __init__(
        self,
        *,
        page_id: str = "pg0test0page",
        api_key: str = "sp-test-key",
        components: dict[str, str] | None = None,
        min_interval: float = 1.0,
    ) -> None:
        self.page_id = page_id
        self.api_key = api_key
        self.min_interval = min_interval  # seconds between two requests of one key
        self.components: dict[str, dict[str, Any]] = {
            cid: {"id": cid, "name": name, "status": "operational", "page_id": page_id}
            for cid, name in (components or {"cmp0api00001": "API", "cmp0web00002": "Web"}).items()
        }
        self.incidents: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._last: dict[str, float] = {}  # key -> when its last request was accepted
        super().__init__()

    @property
    def api_url(self) -> str:
        return f"{self.base}/v1"

    def config(self, components: str = 'scheduler = "cmp0api00001"', timeout: str = "") -> str:
        """The [statuspage] table of an incidentctl.toml that posts to this page, the key
        in $SP_KEY, with its [statuspage.components] (a timeout line when one is given)."""
        return (
            f'\n[statuspage]\napi_url = "{self.api_url}"\npage_id = "{self.page_id}"\n'
            + 'api_key_env = "SP_KEY"\n'
            + (f'timeout = "{timeout}"\n' if timeout else "")
            + f"[statuspage.components]\n{components}\n"
        )

    # -- what the tests look at ----------------------------------------------------------

    def created(self) -> list[str]:
        return [e.split()[1] for e in self.effects("create ")]

    def updates(self, incident_id: str) -> list[str]:
        return [e.split()[2] for e in self.effects(f"update {incident_id} ")]

    # -- the API -------------------------------------------------------------------------

    def rate_limited(self, retry_after: float) -> Response:
        return Response(
            429, {"error": "rate limited"}, {"Retry-After": str(max(1, math.ceil(retry_after)))}
        )

    def handle(self, request: Request) -> Response:
        auth = request.header("Authorization")
        key = auth[len("OAuth ") :] if auth.startswith("OAuth ") else ""
        if key != self.api_key:
            return Response(401, {"error": "Could not authenticate"})
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.min_interval:
            return self.rate_limited(self.min_interval - (now - last))
        self._last[key] = now
        path = request.path.removesuffix(".json")
        if m := _PAGE.match(path):
            if request.method != "GET":
                return Response(405, {"error": "method not allowed"})
            return self._page(m["page"])
        if m := _INCIDENTS.match(path):
            if m["page"] != self.page_id:
                return Response(404, {"error": "Not found"})
            if request.method == "GET":
                return Response(200, sorted(self.incidents.values(), key=lambda i: i["created_at"],
                                            reverse=True))  # fmt: skip
            if request.method == "POST":
                return self._create(request)
            return Response(405, {"error": "method not allowed"})
        if m := _INCIDENT.match(path):
            if m["page"] != self.page_id or m["id"] not in self.incidents:
                return Response(404, {"error": "Not found"})
            if request.method == "GET":
                return Response(200, self.incidents[m["id"]])
            if request.method in ("PATCH", "PUT"):
                return self._update(request, m["id"])
            return Response(405, {"error": "method not allowed"})
        return Response(404, {"error": "Not found"})

    def _page(self, page_id: str) -> Response:
        if page_id != self.page_id:
            return Response(404, {"error": "Not found"})
        return Response(
            200,
            {
                "id": self.page_id,
                "name": "Test Status",
                "subdomain": "test",
                "url": "https://status.example.com",
                "time_zone": "Etc/UTC",
                "created_at": "2026-01-01T00:00:00.000Z",
                "updated_at": _now(),
            },
        )

    def _fields(self, request: Request) -> tuple[dict[str, Any] | None, str]:
        data = request.json
        if not request.header("Content-Type").startswith("application/json"):
            return None, "send JSON (Content-Type: application/json)"
        if not isinstance(data, dict) or not isinstance(data.get("incident"), dict):
            return None, 'the body must be {"incident": {...}}'
        incident = data["incident"]
        if "status" in incident and incident["status"] not in INCIDENT_STATUSES:
            return None, f"status must be one of {', '.join(INCIDENT_STATUSES)}"
        if "impact_override" in incident and incident["impact_override"] not in IMPACTS:
            return None, f"impact_override must be one of {', '.join(IMPACTS)}"
        ids = incident.get("component_ids", [])
        if not isinstance(ids, list) or any(i not in self.components for i in ids):
            return None, "component_ids: unknown component"
        comps = incident.get("components", {})
        if not isinstance(comps, dict):
            return None, "components must map component ids to statuses"
        for cid, status in comps.items():
            if cid not in self.components:
                return None, f"components: unknown component {cid}"
            if status not in COMPONENT_STATUSES:
                return None, f"components: {status!r} is not a component status"
        return incident, ""

    def _apply_components(self, incident: dict[str, Any], fields: dict[str, Any]) -> None:
        for cid, status in fields.get("components", {}).items():
            self.components[cid]["status"] = status
        ids = list(fields.get("component_ids", [])) or list(fields.get("components", {}))
        if ids:
            incident["components"] = [dict(self.components[cid]) for cid in ids]
        else:
            incident["components"] = [
                dict(self.components[c["id"]]) for c in incident.get("components", [])
            ]

    def _add_update(self, incident: dict[str, Any], fields: dict[str, Any]) -> None:
        incident["incident_updates"].insert(
            0,
            {
                "id": f"upd{next(self._ids):09d}",
                "incident_id": incident["id"],
                "status": incident["status"],
                "body": str(fields.get("body", "")),
                "created_at": _now(),
                "affected_components": [
                    {"code": cid, "new_status": status}
                    for cid, status in fields.get("components", {}).items()
                ],
            },
        )

    def _create(self, request: Request) -> Response:
        fields, problem = self._fields(request)
        if fields is None:
            return Response(422, {"error": problem})
        if not str(fields.get("name", "")).strip():
            return Response(422, {"error": "name can't be blank"})
        incident_id = f"inc{next(self._ids):09d}"
        now = _now()
        status = fields.get("status", "investigating")
        incident: dict[str, Any] = {
            "id": incident_id,
            "page_id": self.page_id,
            "name": fields["name"],
            "status": status,
            "impact": fields.get("impact_override", "none"),
            "impact_override": fields.get("impact_override"),
            "created_at": now,
            "updated_at": now,
            "resolved_at": now if status == "resolved" else None,
            "shortlink": f"https://stspg.io/{incident_id}",
            "components": [],
            "incident_updates": [],
        }
        self._apply_components(incident, fields)
        self._add_update(incident, fields)
        self.incidents[incident_id] = incident
        return Response(201, incident, effect=f"create {incident_id}")

    def _update(self, request: Request, incident_id: str) -> Response:
        fields, problem = self._fields(request)
        if fields is None:
            return Response(422, {"error": problem})
        incident = self.incidents[incident_id]
        for name in ("name", "status", "impact_override"):
            if name in fields:
                incident[name] = fields[name]
        if "impact_override" in fields:
            incident["impact"] = fields["impact_override"]
        incident["updated_at"] = _now()
        if incident["status"] == "resolved":
            incident["resolved_at"] = incident["resolved_at"] or incident["updated_at"]
        self._apply_components(incident, fields)
        if "body" in fields or "status" in fields:
            self._add_update(incident, fields)
        return Response(200, incident, effect=f"update {incident_id} {incident['status']}")
