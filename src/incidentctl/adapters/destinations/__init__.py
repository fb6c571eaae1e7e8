"""Destinations: where a message or a page is delivered, one module each, behind one
small interface (docs/integrations.md; the design: /docs/architecture.md).

A destination turns a `Job` (what to say, about which incident, to whom) into a
`Prepared` request (`prepare`: the exact request, JSON-able, with no secret in it:
secrets are named by their variable and looked up at send time), sends it (`send`),
classes the answer (`classify`: delivered, failed, in doubt) and names its
idempotency key. The outbox (store/outbox.py) stores the `Prepared` request, so what
is sent later is what was prepared, byte for byte, and a flush can retry it.

Adding a destination (Opsgenie, another status page) is one module under
adapters/destinations/ defining `DESTINATION = MyDestination()` and one line in
REGISTRY below. Modules are imported only when used (start-up is benchmarked).
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from incidentctl.domain.incident import IncidentState
    from incidentctl.domain.policy import Config

DELIVERED = "delivered"
FAILED = "failed"  # not sent, or refused: safe to send again
IN_DOUBT = "in doubt"  # sent, no usable answer: it may have arrived

# name -> module; the module defines DESTINATION. One line per destination.
REGISTRY: dict[str, str] = {
    "pagerduty": "incidentctl.adapters.destinations.pagerduty",
    "email": "incidentctl.adapters.destinations.email",
    "statuspage": "incidentctl.adapters.destinations.statuspage",
    "slack": "incidentctl.adapters.destinations.slack",
}

Secret = Callable[[str], str]  # variable name -> the secret, or '' when it is not set


@dataclass
class Job:
    """What a command asks a destination to do, before it is a request."""

    action: str  # the destination's verb: "trigger", "acknowledge", "resolve", "send", "post"
    state: IncidentState
    config: Config
    now: datetime
    text: str = ""  # the rendered message, as it should read there
    template: str = ""  # the template it was rendered from ("email/customer")
    stage: str = ""
    target: str = ""  # a page target, a recipient list's name
    event_id: str = ""  # a ULID for this delivery (Message-ID, Slack metadata)
    options: dict[str, Any] = field(default_factory=dict)  # --to, -m TEXT, ...


@dataclass
class Prepared:
    """One request, ready to send and to store in the outbox (JSON-able, no secrets)."""

    destination: str
    action: str
    key: str  # the idempotency key: the same key, the same effect (dedup_key, Message-ID)
    request: dict[str, Any]  # destination-specific: the exact request without secret values
    secrets: dict[str, str] = field(default_factory=dict)  # role -> variable name
    summary: str = ""  # one line for `outbox list`: "trigger -> On-call SRE"
    target: str = ""
    stream: str = ""  # requests of one stream go in order (a held one holds the later ones)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prepared:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Result:
    """What became of one send."""

    outcome: str  # DELIVERED, FAILED or IN_DOUBT
    detail: str = ""  # why, for a person: "HTTP 400 Bad Request: Invalid routing key"
    status: int = 0  # the protocol's status (HTTP status, SMTP reply code), when one came
    response: dict[str, Any] = field(default_factory=dict)  # what the record needs (ids, ts)


class Destination(ABC):
    """The interface. Subclasses set the class attributes, implement the three abstract
    methods and override the others where the defaults do not fit."""

    name = ""  # the registry name and the `via` of its communication_sent events
    label = ""  # for people: "PagerDuty"
    section = ""  # its table in incidentctl.toml
    audience = "internal"  # whom a delivery reached: "customers", "internal", "responders"
    # True: an in-doubt request may be sent again on its own, because the service
    # applies a request with the same key once (PagerDuty's dedup_key)
    resend_safe = False

    def problems(self, settings: Any, secret: Secret) -> list[str]:
        """What stops this destination being used (a missing secret, a bad URL), each
        naming the key and the fix. Checked before anything is recorded or sent."""
        return []

    @abstractmethod
    def prepare(self, job: Job, settings: Any) -> Prepared:
        """The exact request for `job`; raises ValueError for a bad job (a bad --to)."""

    def bind(self, prepared: Prepared, state: IncidentState) -> Prepared:
        """Right before a send (or an in-doubt check), with the incident as recorded
        now: fill in what an earlier delivery of the same stream has since recorded (the
        status-page incident to PATCH, the Slack thread). Default: unchanged."""
        return prepared

    @abstractmethod
    def send(self, prepared: Prepared, settings: Any, secret: Secret) -> Result:
        """Send once (a 429 may be waited out inside). Never raises for the network."""

    def confirm(self, prepared: Prepared, settings: Any, secret: Secret) -> bool | None:
        """An in-doubt request: did it arrive? True (it did), False (it did not: send
        it again), None (cannot tell: a person decides)."""
        return None

    def verify(self, settings: Any, secret: Secret) -> str:
        """`integrations check`: '' when ready, else the problem and the fix. Sends no
        message: the problems() found, or when there are none what probe() finds."""
        found = self.problems(settings, secret)
        return "; ".join(found) if found else self.probe(settings, secret)

    def probe(self, settings: Any, secret: Secret) -> str:
        """With the settings sound: ask the service whether they work (the key, the
        page, the server), posting nothing. '' when they do. Default: no question."""
        return ""

    @abstractmethod
    def dry_run(self, prepared: Prepared, settings: Any, secret: Secret) -> str:
        """The exact request as text, each secret masked."""

    def events(self, prepared: Prepared, result: Result) -> list[dict[str, Any]]:
        """The events that record a delivery ({"type": ..., fields}), written by
        services/delivery.py. Default: none."""
        return []


def unset_secret(key: str, env: str, what: str) -> str:
    """The problem line for a secret the settings name but the environment lacks."""
    return f"{key}: ${env} is not set ({what}): export it, or set {env} in credentials.toml"


def not_sent(exc: Any) -> Result:
    """The Result of an adapters.http.SendFailed (a SendInDoubt is in doubt)."""
    return Result(IN_DOUBT if exc.in_doubt else FAILED, str(exc))


def names() -> list[str]:
    return list(REGISTRY)


def get(name: str) -> Destination:
    """The destination registered as `name` (KeyError for an unknown one)."""
    return importlib.import_module(REGISTRY[name]).DESTINATION
