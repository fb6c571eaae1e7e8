"""Opening the incident repo and its configuration: the context every use case runs in."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incidentctl.errors import ConfigError, UsageError
from incidentctl.store.locate import Located, locate, require_initialised
from incidentctl.store.repo import IncidentRepo

if TYPE_CHECKING:
    from incidentctl.domain.incident import IncidentState
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

    def check_config(self) -> None:
        """Refuse a broken incidentctl.toml (ConfigError) in every command, whether it
        needs the config or not. A config that passed once is not validated again
        until it, the defaults or incidentctl change (store.config.ConfigCheck)."""
        from incidentctl.store.config import ConfigCheck

        check = ConfigCheck(self.repo.git_dir, self.repo.config_path)
        if check.passed():
            return
        self.config  # noqa: B018  (validates, or raises ConfigError)
        check.record()

    def now(self) -> datetime:
        return now()

    @cached_property
    def handle(self) -> str | None:
        """The user's `handle = "@ann"` (user config), or None."""
        from incidentctl.store.userconfig import user_handle

        return user_handle()

    def author(self) -> str:
        """Who did it, when the command is not told (--by): the user's handle, else the
        git name. The git identity stays the commits' author either way."""
        if self.handle:
            return self.handle
        name, _email = self.repo.git.identity()
        return name

    @property
    def commits_made(self) -> int:
        """How many commits this command made in the repo."""
        return self.repo.git.commits_made

    def undefined_severity(self, state: IncidentState) -> str | None:
        """A warning when `state`'s severity is not in the config (any more): no clock,
        deadline or review policy applies, and "nothing due" would say less than that."""
        if state.severity in self.config.severity:
            return None
        return (
            f"{state.human_id} is {state.severity}, a severity {self.repo.config_path.name} "
            f"does not define: no clock or deadline applies to it (define "
            f"[severity.{state.severity}] again, or change it: incidentctl update "
            f"{state.human_id} --severity {'|'.join(self.config.severities)})"
        )

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
        from incidentctl.domain.policy import Config

        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            if err["type"] == "extra_forbidden":
                problems.append(f"{where}: {unknown_key(Config, err['loc'])}")
            else:
                problems.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
        raise ConfigError(
            f"{path.name}: " + "; ".join(problems), hint=f"fix {path}, then run: incidentctl doctor"
        ) from None


def unknown_key(model: Any, loc: tuple) -> str:
    """`unknown key`, and the closest key the table at `loc` does have (or all of
    them), for the model `loc` starts in."""
    name = str(loc[-1])
    table = _model_at(model, loc[:-1])
    valid = [field.alias or key for key, field in table.model_fields.items()] if table else []
    return "unknown key" + did_you_mean(name, valid)


def did_you_mean(name: str, valid: list[str]) -> str:
    """ "; did you mean 'x'?" for the closest of `valid`, else the valid ones, else ""."""
    import difflib

    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f" (valid keys: {', '.join(valid)})" if valid else ""


def _model_at(model: Any, loc: tuple) -> Any:
    """The pydantic model class of the table at `loc` under `model` (following
    fields, list items and dict values), or None."""
    import types
    import typing

    from pydantic import BaseModel

    def unwrap(kind: Any) -> Any:
        while typing.get_origin(kind) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(kind) if a is not type(None)]
            kind = args[0] if len(args) == 1 else None
        return kind

    current: Any = model
    for part in loc:
        current = unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = current.model_fields
            field = fields.get(str(part)) or next(
                (f for f in fields.values() if f.alias == part), None
            )
            if field is None:
                return None
            current = field.annotation
            continue
        origin, args = typing.get_origin(current), typing.get_args(current)
        if origin in (list, tuple, set) and args:
            current = args[0]
        elif origin is dict and len(args) == 2:
            current = args[1]
        else:
            return None
    current = unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


@dataclass(frozen=True)
class RepoInUse:
    """The repo the commands use, and why: `incidentctl repo`, and the notice after a
    first write."""

    root: Path
    how: str  # as Located.how
    why: str  # in words: "the user config (~/.config/incidentctl/config.toml)"
    initialised: bool
    configured: Path | None  # the user config's `repo =`
    passed_over: Path | None  # an enclosing git work tree that is not an incident repo

    @property
    def is_configured(self) -> bool:
        return self.configured == self.root

    def to_dict(self) -> dict:
        return {
            "repo": str(self.root),
            "how": self.how,
            "why": self.why,
            "initialised": self.initialised,
            "configured": str(self.configured) if self.configured else None,
            "passed_over": str(self.passed_over) if self.passed_over else None,
        }


def repo_in_use(repo_option: str | None, located: Located | None = None) -> RepoInUse:
    """Which repo a command run here would use, and why; nothing is created."""
    from incidentctl.store.locate import CONFIG_NAME, configured_repo, user_config_path

    located = located or locate(repo_option)
    why = {
        "--repo": "the --repo option",
        "INCIDENTCTL_REPO": f"$INCIDENTCTL_REPO={os.environ.get('INCIDENTCTL_REPO', '')}",
        "work tree": "the enclosing git repo (it has an incidentctl.toml)",
        "user config": f"repo = in the user config ({user_config_path()})",
        "default": "the default repo: no --repo, $INCIDENTCTL_REPO, enclosing incident "
        "repo or user config names another",
    }.get(located.how, located.how)
    try:
        configured = configured_repo()
    except ConfigError:
        configured = None  # the other commands report it
    return RepoInUse(
        located.root,
        located.how,
        why,
        (located.root / CONFIG_NAME).is_file(),
        configured,
        located.passed_over,
    )


def open_workspace(repo_option: str | None, *, check_config: bool = True) -> Workspace:
    located = locate(repo_option)
    created = False
    if located.is_default and not (located.root / "incidentctl.toml").is_file():
        from incidentctl.store.initialise import init_repo

        init_repo(located.root)
        created = True
    require_initialised(located)
    ws = Workspace(IncidentRepo(located.root), located, created)
    if created:
        ws.notices.append(
            f"created the default incident repo at {located.root} "
            "(to use a team repo instead: incidentctl init PATH --default)"
        )
    if check_config:
        ws.check_config()
    return ws
