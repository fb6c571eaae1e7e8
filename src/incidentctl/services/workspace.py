"""Opening the incident repo and its configuration: the context every use case runs in."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from incidentctl.errors import ConfigError, UsageError
from incidentctl.store.locate import Located, locate, require_initialised
from incidentctl.store.repo import IncidentRepo

if TYPE_CHECKING:
    from incidentctl.domain.policy import Config

NOW_ENV = "INCIDENTCTL_NOW"  # for tests and demos only: pins "now"


def now() -> datetime:
    pinned = os.environ.get(NOW_ENV)
    if pinned:
        try:
            value = datetime.fromisoformat(pinned.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"{NOW_ENV}={pinned!r} is not an ISO 8601 time") from None
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.now(UTC)


@dataclass
class Workspace:
    repo: IncidentRepo
    located: Located
    created: bool = False  # the default repo was created by this command
    notices: list[str] = field(default_factory=list)

    @cached_property
    def config(self) -> Config:
        return load_config(self.repo.config_path)

    def now(self) -> datetime:
        return now()

    def severity(self, text: str, what: str = "severity", plural: str = "severities") -> str:
        """The configured severity `text` names (any letter case), or a usage error
        listing the valid ones. `what` is the word the user sees (e.g. priority)."""
        name = self.config.severity_name(text)
        if name is None:
            raise UsageError(
                f"unknown {what} {text!r}",
                hint=f"valid {plural}: {', '.join(self.config.severities)}",
            )
        return name


def load_config(path: Path) -> Config:
    from pydantic import ValidationError

    from incidentctl.domain.policy import build_config, merge_with_defaults
    from incidentctl.store.config import load_config_data

    defaults, team = load_config_data(path)
    try:
        return build_config(merge_with_defaults(defaults, team))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            problems.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
        raise ConfigError(
            f"{path.name}: " + "; ".join(problems), hint=f"fix {path}, then run: incidentctl doctor"
        ) from None


def open_workspace(repo_option: str | None) -> Workspace:
    located = locate(repo_option)
    created = False
    if located.is_default and not (located.root / "incidentctl.toml").is_file():
        from incidentctl.store.initialise import init_repo

        init_repo(located.root)
        created = True
    require_initialised(located)
    ws = Workspace(IncidentRepo(located.root), located, created)
    if created:
        ws.notices.append(f"created the default incident repo at {located.root}")
    return ws
