"""The destinations' settings and secrets, as the use cases need them: a missing or
bad table is bad usage (exit 2), named, before anything is recorded or sent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from incidentctl.errors import ConfigError, ExitCode

if TYPE_CHECKING:
    from incidentctl.adapters.destinations import Destination
    from incidentctl.services.workspace import Workspace


class IntegrationConfigError(ConfigError):
    """A destination's table is missing, wrong, or names a secret that is not set:
    bad usage (exit 2), named, and nothing was recorded or sent."""

    exit_code = ExitCode.USAGE


def secret_lookup(ws: Workspace):
    """The `secret(name) -> str` the adapters get: $NAME, else credentials.toml."""
    cached = ws.__dict__.get("_secrets")
    if cached is None:
        from incidentctl.store.credentials import Secrets

        cached = ws.__dict__["_secrets"] = Secrets()
    return cached.get


def configured(ws: Workspace) -> list[str]:
    """The registered destinations whose table incidentctl.toml has."""
    from incidentctl.adapters import destinations

    found = []
    for name in destinations.names():
        section = destinations.get(name).section or name
        if getattr(ws.config, section, None) is not None:
            found.append(name)
    return found


def settings_for(ws: Workspace, name: str, *, check: bool = True) -> tuple[Destination, Any]:
    """The destination `name` and its parsed settings. Raises IntegrationConfigError
    (exit 2) for a missing table, a bad key or value, a secret-looking value, or (with
    `check`) whatever the destination itself finds (a missing secret, a bad URL)."""
    from incidentctl.adapters import destinations
    from incidentctl.domain.integrations import parse_section

    dest = destinations.get(name)
    section = dest.section or name
    path = ws.repo.config_path
    raw = getattr(ws.config, section, None)
    if raw is None:
        raise IntegrationConfigError(
            f"{dest.label} is not configured: no [{section}] table in {path.name}",
            hint=f"add [{section}] to {path} (see docs/integrations.md)",
        )
    settings, problems = parse_section(section, raw)
    if settings is not None and check:
        problems += dest.problems(settings, secret_lookup(ws))
    if problems:
        raise IntegrationConfigError(
            f"{path.name}: " + "; ".join(problems),
            hint=f"fix [{section}] in {path}; check with: incidentctl integrations check",
        )
    return dest, settings
