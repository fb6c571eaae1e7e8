"""Statuspage (Atlassian's REST API, v1): the incident on the public status page.

The first post of an incident creates it (`POST {api_url}/pages/{page_id}/incidents`);
its id is recorded (a `statuspage_linked` event) and every later post updates that
incident (`PATCH .../incidents/{id}`). The body is `{"incident": {...}}` with `name`,
`status` (the stage: investigating, identified, monitoring, resolved), `body` (the
rendered text), `impact_override` (from the severity, `[statuspage.impact]`),
`component_ids` and `components` (each affected service's component and its status,
`[statuspage.component_status]`; operational once resolved). The key goes in
`Authorization: OAuth KEY`.

The API allows one request per second per key: requests from one process are spaced
a second apart, and a 429 (or 420, which Statuspage also uses) waits out its
Retry-After and tries again; it was refused unread, so that is safe.

Statuspage has no idempotency key, so a post in doubt is never sent again blindly:
`confirm` reads the page's incidents back (a create: one with this name and this text;
an update: this text among the incident's updates) and resends only if it is not there.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from incidentctl.adapters.destinations import (
    DELIVERED,
    FAILED,
    IN_DOUBT,
    Destination,
    Job,
    Prepared,
    Result,
    Secret,
    not_sent,
    unset_secret,
)
from incidentctl.errors import ExitCode, IncidentctlError

if TYPE_CHECKING:
    from incidentctl.adapters.http import HttpRequest, HttpResponse
    from incidentctl.domain.incident import IncidentState
    from incidentctl.domain.integrations import StatuspageSettings

# the incident's stage (the tool's status) -> the status-page incident's status
STAGE_STATUS = {
    "investigating": "investigating",
    "identified": "identified",
    "monitoring": "monitoring",
    "resolved": "resolved",
}
IMPACTS = ("none", "minor", "major", "critical")
COMPONENT_STATUSES = (
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
)
RESOLVED_COMPONENT = "operational"
MIN_INTERVAL = 1.0  # seconds between two requests with one key (the API's limit)
RATE_LIMITED = (429, 420)
GATEWAY_IN_DOUBT = (502, 504)
MAX_RATE_RETRIES = 3
LINKED = "statuspage_linked"

_last_request: dict[str, float] = {}  # key fingerprint -> monotonic time of its last request


class UnknownComponent(IncidentctlError):
    """A service of the incident has no component in [statuspage.components]: bad
    configuration, named; nothing is recorded or sent."""

    exit_code = ExitCode.USAGE


# -- pure builders ------------------------------------------------------------------------


def incident_status(stage: str) -> str:
    """The status-page status for the incident's stage."""
    try:
        return STAGE_STATUS[stage]
    except KeyError:
        raise IncidentctlError(
            f"no status-page status for the stage {stage!r}",
            hint="use one of: " + ", ".join(STAGE_STATUS),
        ) from None


def impact_for(severity: str, settings: StatuspageSettings) -> str | None:
    """impact_override from the severity ([statuspage.impact]); None lets Statuspage
    compute it from the components."""
    impact = settings.impact.get(severity)
    return impact if impact in IMPACTS else None


def component_status_for(severity: str, stage: str, settings: StatuspageSettings) -> str:
    if stage == "resolved":
        return RESOLVED_COMPONENT
    return settings.component_status.get(severity, "partial_outage")


def components_for(
    services: list[str], severity: str, stage: str, settings: StatuspageSettings
) -> tuple[list[str], dict[str, str]]:
    """(component_ids, {component id: status}) for the incident's services. Raises
    UnknownComponent for a service [statuspage.components] does not map."""
    missing = [s for s in services if s not in settings.components]
    if missing:
        names = ", ".join(repr(s) for s in missing)
        example = (
            f'{missing[0]} = "<component id>"' if _bare(missing[0]) else f'"{missing[0]}" = "..."'
        )
        raise UnknownComponent(
            f"statuspage.components: no component for the service {names}",
            hint=f"map it in incidentctl.toml under [statuspage.components]: {example} "
            "(the ids: GET /v1/pages/{page_id}/components)",
        )
    status = component_status_for(severity, stage, settings)
    ids = [settings.components[s] for s in services]
    unique = list(dict.fromkeys(ids))
    return unique, {cid: status for cid in unique}


def _bare(key: str) -> bool:
    return key.replace("-", "").replace("_", "").isalnum()


def incident_fields(
    state: IncidentState, stage: str, text: str, settings: StatuspageSettings
) -> dict[str, Any]:
    """The `incident` object of a create or an update."""
    ids, statuses = components_for(list(state.services), state.severity, stage, settings)
    fields: dict[str, Any] = {
        "name": state.title,
        "status": incident_status(stage),
        "body": text,
    }
    impact = impact_for(state.severity, settings)
    if impact is not None:
        fields["impact_override"] = impact
    if ids:
        fields["component_ids"] = ids
        fields["components"] = statuses
    return fields


def linked_incident(state: IncidentState) -> str:
    """The status-page incident a first post created (the latest statuspage_linked)."""
    found = ""
    for event in state.timeline:
        if getattr(event, "type", "") == LINKED:
            found = str(getattr(event, "statuspage_incident", "") or found)
    return found


# -- the destination ----------------------------------------------------------------------


class StatuspageDestination(Destination):
    name = "statuspage"
    label = "Statuspage"
    section = "statuspage"
    audience = "customers"
    resend_safe = False

    def problems(self, settings: StatuspageSettings, secret: Secret) -> list[str]:
        from incidentctl.adapters.http import check_url

        found = []
        if problem := check_url(settings.api_url, "statuspage.api_url"):
            found.append(problem)
        if not settings.page_id.strip():
            found.append(
                "statuspage.page_id: missing (your page's id, from the Statuspage API page)"
            )
        env = settings.api_key_env
        if not secret(env):
            found.append(unset_secret("statuspage.api_key_env", env, "the Statuspage API key"))
        for sev, impact in settings.impact.items():
            if impact not in IMPACTS:
                found.append(
                    f"statuspage.impact.{sev} = {impact!r}: use one of {', '.join(IMPACTS)}"
                )
        for sev, status in settings.component_status.items():
            if status not in COMPONENT_STATUSES:
                found.append(
                    f"statuspage.component_status.{sev} = {status!r}: use one of "
                    + ", ".join(COMPONENT_STATUSES)
                )
        return found

    def prepare(self, job: Job, settings: StatuspageSettings) -> Prepared:
        state = job.state
        stage = job.stage or state.status
        fields = incident_fields(state, stage, job.text, settings)
        link = linked_incident(state)
        request = {
            "page_id": settings.page_id,
            "incident": fields,
            "link": link,  # "" until the first post created it: then bind() fills it
            "uid": state.uid,
        }
        return Prepared(
            destination=self.name,
            action=job.action or "post",
            key=job.event_id,
            request=request,
            secrets={"api_key": settings.api_key_env},
            summary=_summary(request),
            target=settings.page_id,
            stream=f"statuspage:{state.uid}",
        )

    def bind(self, prepared: Prepared, state: IncidentState) -> Prepared:
        """Right before sending: a post prepared before the create was delivered updates
        the incident the create made (its statuspage_linked event), not a new one."""
        if prepared.request.get("link"):
            return prepared
        link = linked_incident(state)
        if not link:
            return prepared
        request = {**prepared.request, "link": link}
        return replace(prepared, request=request, summary=_summary(request))

    # -- requests ---------------------------------------------------------------------

    def _http(
        self, prepared: Prepared, settings: StatuspageSettings, secret: Secret
    ) -> HttpRequest:
        from incidentctl.adapters.http import HttpRequest

        key = secret(prepared.secrets.get("api_key", settings.api_key_env))
        request = prepared.request
        base = f"{settings.api_url.rstrip('/')}/pages/{request['page_id']}/incidents"
        link = request.get("link", "")
        return HttpRequest(
            "PATCH" if link else "POST",
            f"{base}/{link}" if link else base,
            headers={"Authorization": f"OAuth {key}", "Accept": "application/json"},
            json_body={"incident": request["incident"]},
            secrets=[key],
        )

    def _get(self, url: str, settings: StatuspageSettings, key: str) -> HttpResponse:
        from incidentctl.adapters.http import HttpRequest

        req = HttpRequest(
            "GET", url, {"Authorization": f"OAuth {key}", "Accept": "application/json"}, None, [key]
        )
        return self._request(req, settings, key)

    def _request(self, req: HttpRequest, settings: StatuspageSettings, key: str) -> HttpResponse:
        """One request, spaced MIN_INTERVAL after this key's last one, a 429/420 waited
        out (Retry-After, capped) and tried again. Raises SendFailed / SendInDoubt."""
        from incidentctl.adapters.http import MAX_RETRY_AFTER, retry_after, send_once

        timeout = settings.timeout.total_seconds() or 10.0
        fingerprint = _fingerprint(key)
        for attempt in range(MAX_RATE_RETRIES + 1):
            last = _last_request.get(fingerprint)
            if last is not None:
                wait = MIN_INTERVAL - (time.monotonic() - last)
                if wait > 0:
                    time.sleep(wait)
            try:
                response = send_once(req, timeout, what="the Statuspage API")
            finally:  # spaced from the answer: the server counts from when it read it
                _last_request[fingerprint] = time.monotonic()
            if response.status not in RATE_LIMITED or attempt == MAX_RATE_RETRIES:
                return response
            wait = retry_after(response.headers.get("retry-after", ""))
            if wait > MAX_RETRY_AFTER:
                return response
            time.sleep(wait)
        raise AssertionError("unreachable")

    def send(self, prepared: Prepared, settings: StatuspageSettings, secret: Secret) -> Result:
        from incidentctl.adapters.http import SendFailed

        req = self._http(prepared, settings, secret)
        key = req.secrets[0] if req.secrets else ""
        try:
            response = self._request(req, settings, key)
        except SendFailed as exc:  # SendInDoubt is one: it knows which
            return not_sent(exc)
        return self.classify(prepared, response)

    def classify(self, prepared: Prepared, response: HttpResponse) -> Result:
        data = response.json()
        if 200 <= response.status < 300:
            incident = data if isinstance(data, dict) else {}
            found = {
                "statuspage_incident": str(incident.get("id") or prepared.request.get("link", "")),
                "url": str(incident.get("shortlink") or ""),
                "page_id": prepared.request.get("page_id", ""),
                "status": str(incident.get("status") or ""),
            }
            if not found["statuspage_incident"]:
                return Result(
                    IN_DOUBT, f"{response.status_text} without an incident id", response.status
                )
            return Result(DELIVERED, response.status_text, response.status, found)
        detail = response.status_text
        error = data.get("error") if isinstance(data, dict) else None
        if error:
            detail += f": {error if isinstance(error, str) else '; '.join(map(str, error))}"
        if response.status in GATEWAY_IN_DOUBT:
            return Result(
                IN_DOUBT, f"{detail} from a gateway (it may have arrived)", response.status
            )
        if response.status in RATE_LIMITED:
            detail += " (rate limited; try again later)"
        elif response.status == 401:
            detail += " (check the API key)"
        elif response.status == 404:
            detail += " (check statuspage.page_id, or the linked incident was deleted)"
        return Result(FAILED, detail, response.status)

    def confirm(
        self, prepared: Prepared, settings: StatuspageSettings, secret: Secret
    ) -> bool | None:
        """Did an in-doubt post arrive? Read it back: a create is an incident with this
        name whose updates hold this text; an update is this text (and status) among
        the linked incident's updates. None when the API cannot be read."""
        from incidentctl.adapters.http import SendFailed

        key = secret(prepared.secrets.get("api_key", settings.api_key_env))
        request = prepared.request
        fields = request["incident"]
        base = f"{settings.api_url.rstrip('/')}/pages/{request['page_id']}/incidents"
        link = request.get("link", "")
        try:
            response = self._get(f"{base}/{link}" if link else base, settings, key)
        except SendFailed:
            return None
        if response.status != 200:
            return None
        data = response.json()
        candidates = [data] if link else data
        if not isinstance(candidates, list):
            return None
        for incident in candidates:
            if not isinstance(incident, dict):
                continue
            if not link and incident.get("name") != fields.get("name"):
                continue
            for update in incident.get("incident_updates") or []:
                if (
                    isinstance(update, dict)
                    and update.get("body") == fields.get("body")
                    and update.get("status") == fields.get("status")
                ):
                    # what the record needs, as a delivered send would have had it
                    request["found"] = {
                        "statuspage_incident": str(incident.get("id") or link),
                        "url": str(incident.get("shortlink") or ""),
                        "page_id": request.get("page_id", ""),
                    }
                    return True
        return False

    def probe(self, settings: StatuspageSettings, secret: Secret) -> str:
        """GET the page: the key works and the page exists. Sends no post."""
        from incidentctl.adapters.http import SendFailed

        key = secret(settings.api_key_env)
        try:
            response = self._get(
                f"{settings.api_url.rstrip('/')}/pages/{settings.page_id}", settings, key
            )
        except SendFailed as exc:
            return f"{exc} (check statuspage.api_url)"
        if response.status == 200:
            return ""
        if response.status == 401:
            return f"the API key in ${settings.api_key_env} was refused ({response.status_text})"
        if response.status == 404:
            return (
                f"no page {settings.page_id!r} ({response.status_text}): check statuspage.page_id"
            )
        return f"GET the page answered {response.status_text}"

    def dry_run(self, prepared: Prepared, settings: StatuspageSettings, secret: Secret) -> str:
        text = self._http(prepared, settings, secret).masked()
        if not prepared.request.get("link"):
            text += "\n(creates the status-page incident; later posts PATCH it)"
        return text

    def events(self, prepared: Prepared, result: Result) -> list[dict[str, Any]]:
        """A create that was delivered links the status-page incident to this one."""
        if result.outcome != DELIVERED or prepared.request.get("link"):
            return []
        found = result.response or prepared.request.get("found") or {}
        incident_id = str(found.get("statuspage_incident") or "")
        if not incident_id:
            return []
        return [
            {
                "type": LINKED,
                "page_id": str(found.get("page_id") or prepared.request.get("page_id", "")),
                "statuspage_incident": incident_id,
                "url": str(found.get("url") or ""),
            }
        ]


def _summary(request: dict[str, Any]) -> str:
    status = request.get("incident", {}).get("status", "")
    link = request.get("link", "")
    return (
        f"update status-page incident {link} ({status})"
        if link
        else f"create status-page incident ({status})"
    )


def _fingerprint(key: str) -> str:
    import hashlib

    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


DESTINATION = StatuspageDestination()
