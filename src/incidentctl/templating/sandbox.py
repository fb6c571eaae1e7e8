"""Message templates: Jinja2 in a sandbox, repo overrides before built-ins.

A template is `<name>.<ext>.j2`, e.g. `slack/declared.slack.j2`. The extension says
what the output is, and so how every interpolated value is escaped: user text
is data, never markup or code. Templates are found in the incident repo's
`templates/` first, then in the package's built-in `templates/`.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from incidentctl.errors import IncidentctlError, NotFoundError

EXTENSIONS = ("slack", "md", "html", "txt", "json")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$")


class TemplateError(IncidentctlError):
    """A template failed to compile or render; the message names the file and line."""


@dataclass(frozen=True)
class TemplateSource:
    name: str  # e.g. "slack/declared"
    ext: str  # "slack", "md", "html", "txt" or "json"
    path: Path
    origin: str  # "repo" or "built-in"

    @property
    def display_path(self) -> str:
        return str(self.path)


def escape_slack(text: str) -> str:
    """Slack mrkdwn: `&`, `<`, `>` as entities; `<!channel>` then cannot ping anyone."""
    from incidentctl.templating.mrkdwn import escape_mrkdwn

    return escape_mrkdwn(text)


def escape_html(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def escape_markdown(text: str) -> str:
    """GitHub Markdown: the value renders as literal text (templating/gfm.py)."""
    from incidentctl.templating.gfm import escape_markdown as escape

    return escape(text)


def escape_json(text: str) -> str:
    import json

    return json.dumps(text)[1:-1]


def escape_plain(text: str) -> str:
    from incidentctl.templating.plain import escape_text

    return escape_text(text)


def _mark_markdown(text: str) -> str:
    from incidentctl.templating.gfm import mark_value

    return mark_value(text)


# every interpolated value passes through its format's escaper (the sandbox's finalize)
ESCAPERS: dict[str, Callable[[str], str]] = {
    "slack": escape_slack,
    "html": escape_html,
    "md": _mark_markdown,  # finished by templating.gfm.finish once the template is rendered
    "json": escape_json,
    "txt": escape_plain,
}


@dataclass(frozen=True)
class RenderBudget:
    """What one render may take: wall-clock seconds and characters of output."""

    seconds: float = 2.0
    max_chars: int = 2_000_000


DEFAULT_BUDGET = RenderBudget()


class BudgetExceeded(Exception):
    """Raised inside a render that went over its budget."""


class _Clock:
    def __init__(self, budget: RenderBudget) -> None:
        import time

        self.budget = budget
        self._now = time.monotonic
        self.deadline = time.monotonic() + budget.seconds

    def check(self) -> None:
        if self._now() > self.deadline:
            raise BudgetExceeded(f"took longer than {self.budget.seconds:g} s")

    def size(self, n: int) -> None:
        if n > self.budget.max_chars:
            raise BudgetExceeded(f"is longer than {self.budget.max_chars:,} characters")


def builtin_root() -> Path:
    return Path(str(resources.files("incidentctl").joinpath("templates")))


LINK_HINT = (
    "replace it with a copy of the file it points to, or remove it: a link could "
    "send any file on this machine to Slack"
)


def _scan(root: Path, origin: str) -> dict[str, TemplateSource]:
    """The templates under `root`. A repo's are files of the repo, nothing else: a
    symbolic link (to a file or a folder, or `templates/` itself), anything that is
    not a regular file, or a path that resolves outside `templates/` is refused with
    its path (TemplateError), before anything reads it."""
    found: dict[str, TemplateSource] = {}
    if origin == "repo":
        _refuse_link(root, root.parent)
    if not root.is_dir():
        return found
    paths = _repo_files(root) if origin == "repo" else root.rglob("*.j2")
    for path in sorted(paths):
        rel = path.relative_to(root).as_posix()[: -len(".j2")]
        stem, _, ext = rel.rpartition(".")
        if ext in EXTENSIONS and stem and _NAME_RE.match(stem):
            found[stem] = TemplateSource(stem, ext, path, origin)
    return found


def _repo_files(root: Path) -> list[Path]:
    """Every `*.j2` under a repo's `templates/`, walked without following links."""
    import os
    import stat

    base = root.resolve()
    files: list[Path] = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        for name in dirs:
            _refuse_link(Path(folder) / name, root.parent)
        for name in names:
            if not name.endswith(".j2"):
                continue
            path = Path(folder) / name
            _refuse_link(path, root.parent)
            shown = path.relative_to(root.parent).as_posix()
            if not stat.S_ISREG(path.lstat().st_mode):
                raise TemplateError(f"{shown}: a template must be a regular file", hint=LINK_HINT)
            if not path.resolve().is_relative_to(base):
                raise TemplateError(f"{shown}: resolves outside templates/", hint=LINK_HINT)
            files.append(path)
    return files


def _refuse_link(path: Path, repo_root: Path) -> None:
    if not path.is_symlink():
        return
    import os

    shown = path.relative_to(repo_root).as_posix() if path.is_relative_to(repo_root) else path
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    raise TemplateError(
        f"{shown} is a symbolic link (to {target}); templates must be files of the repo",
        hint=LINK_HINT,
    )


def available_templates(repo_root: Path | None) -> dict[str, TemplateSource]:
    """Every template by name; a repo template hides the built-in of the same name.
    Raises TemplateError for a repo template that is not a file of the repo."""
    found = _scan(builtin_root(), "built-in")
    if repo_root is not None:
        found.update(_scan(repo_root / "templates", "repo"))
    return dict(sorted(found.items()))


def find_template(name: str, repo_root: Path | None) -> TemplateSource:
    templates = available_templates(repo_root)
    if name in templates:
        return templates[name]
    raise NotFoundError(
        f"no template {name!r}",
        hint="see the templates with: incidentctl template list ("
        + ", ".join(sorted(templates))
        + ")",
    )


def _environment(ext: str, budget: RenderBudget = DEFAULT_BUDGET):
    """A sandbox that escapes every value for `ext` and keeps a render within `budget`:
    each loop iteration and each call checks the clock, `*` and `**` cannot build a
    value past the output limit, and the output is counted as it is produced."""
    from markupsafe import Markup

    escape = ESCAPERS[ext]
    clock = _Clock(budget)

    def finalize(value: Any) -> Any:
        # every {{ value }} passes here: escape it for the target format, unless a
        # template explicitly built it from already-escaped parts (|safe, Markup)
        if isinstance(value, Markup):
            return str(value)
        if value is None:
            return ""
        return escape(str(value))

    def budget_iter(iterable: Any) -> Any:
        check = clock.check
        for i, item in enumerate(iterable):
            if not i & 63:
                check()
            yield item

    env = _sandbox_class()(
        undefined=_strict_undefined(),
        finalize=finalize,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.render_clock = clock
    env.filters["escape_for_format"] = lambda v: Markup(escape(str(v)))
    env.filters["raw"] = lambda v: Markup(str(v))
    env.filters[_BUDGET_FILTER] = budget_iter
    return env


def _string_environment():
    """For a runbook command: only its variables, no Jinja2 globals. `{{ namespace }}`
    or `{{ range }}` is then a variable like any other, found and filled as one, never
    Jinja2's own object printed into a command line."""
    env = _environment("txt")
    env.globals.clear()
    return env


_BUDGET_FILTER = "incidentctl_budget"


def _strict_undefined():
    from jinja2 import StrictUndefined

    return StrictUndefined


_SANDBOX_CLASS: Any = None


def _sandbox_class() -> Any:
    """SandboxedEnvironment with the render budget: every `{% for %}` iterates through
    the budget filter, every call and `*`/`**` is checked."""
    global _SANDBOX_CLASS
    if _SANDBOX_CLASS is not None:
        return _SANDBOX_CLASS
    from jinja2 import nodes
    from jinja2.compiler import CodeGenerator
    from jinja2.sandbox import SandboxedEnvironment

    class BudgetCodeGenerator(CodeGenerator):
        def visit_Template(self, node: Any, frame: Any = None) -> None:
            for loop in node.find_all(nodes.For):
                loop.iter = nodes.Filter(
                    loop.iter, _BUDGET_FILTER, [], [], None, None, lineno=loop.lineno
                )
            super().visit_Template(node, frame)

    class BudgetSandbox(SandboxedEnvironment):
        code_generator_class = BudgetCodeGenerator
        intercepted_binops = frozenset(["*", "**"])

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            __self.render_clock.check()
            return super().call(__context, __obj, *args, **kwargs)

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            limit = self.render_clock.budget.max_chars
            if operator == "*":
                for seq, n in ((left, right), (right, left)):
                    if isinstance(seq, str | list | tuple) and isinstance(n, int):
                        self.render_clock.size(len(seq) * n)
            elif (
                operator == "**"
                and isinstance(left, int | float)
                and isinstance(right, int | float)
                and abs(left) > 1
                and right * max(abs(left), 2).bit_length() > limit
            ):
                raise BudgetExceeded(f"computes a number past {limit:,} bits")
            return super().call_binop(context, operator, left, right)

    _SANDBOX_CLASS = BudgetSandbox
    return BudgetSandbox


def _line_of(exc: BaseException, path: Path) -> int | None:
    lineno = getattr(exc, "lineno", None)
    if lineno:
        return lineno
    target = str(path)
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == target:
            return frame.lineno
    return None


def render_source(
    source: TemplateSource,
    context: dict[str, Any],
    *,
    escape_as: str | None = None,
    budget: RenderBudget | None = None,
) -> str:
    """Render one template file with `context`. Errors name the file and line.

    Values are escaped for the file's own extension, or for `escape_as` (one of
    EXTENSIONS) when the caller wants another output format from the same file.
    A render over `budget` (default DEFAULT_BUDGET) is a TemplateError naming the file.
    """
    if escape_as is not None and escape_as not in ESCAPERS:
        raise TemplateError(f"unknown output escaping {escape_as!r}")
    from jinja2 import TemplateError as JinjaError
    from jinja2.exceptions import SecurityError, UndefinedError

    try:
        text = source.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{source.path}: cannot read template: {exc}") from None
    fmt = escape_as or source.ext
    budget = budget or DEFAULT_BUDGET
    env = _environment(fmt, budget)
    try:
        # compile with the real filename so errors and tracebacks point into the file
        template = env.template_class.from_code(
            env, env.compile(text, source.name, str(source.path)), env.globals, None
        )
        out = _render_within(template, context, env.render_clock)
    except BudgetExceeded as exc:
        raise TemplateError(
            f"{source.path}: the render {exc} (the budget is {budget.seconds:g} s and "
            f"{budget.max_chars:,} characters)",
            hint=f"fix {source.path}: look for loops within loops, or very long output",
        ) from None
    except SecurityError as exc:
        where = _where(source, exc)
        raise TemplateError(
            f"{where}: unsafe operation refused by the template sandbox: {exc}",
            hint="templates may only read the fields they are given",
        ) from None
    except UndefinedError as exc:
        where = _where(source, exc)
        raise TemplateError(
            f"{where}: {exc}", hint=f"check the field names in {source.path.name}"
        ) from None
    except JinjaError as exc:
        where = _where(source, exc)
        raise TemplateError(f"{where}: {exc.message or exc}", hint=f"fix {source.path}") from None
    except Exception as exc:  # e.g. {{ 1 / 0 }} or {{ "a" + 1 }} in a team template
        where = _where(source, exc)
        raise TemplateError(
            f"{where}: {type(exc).__name__}: {exc}", hint=f"fix {source.path}"
        ) from None
    if fmt == "md":
        from incidentctl.templating.gfm import finish

        out = finish(out)
    return out


def _render_within(template: Any, context: dict[str, Any], clock: _Clock) -> str:
    """The template's output, produced piece by piece, each piece checked against the
    clock and the running length against the size limit."""
    parts: list[str] = []
    total = 0
    for piece in template.generate(**context):
        clock.check()
        total += len(piece)
        clock.size(total)
        parts.append(piece)
    return "".join(parts)


def _where(source: TemplateSource, exc: BaseException) -> str:
    line = _line_of(exc, source.path)
    return f"{source.path}:{line}" if line else str(source.path)


def render_template(
    name: str,
    context: dict[str, Any],
    repo_root: Path | None,
    *,
    escape_as: str | None = None,
    budget: RenderBudget | None = None,
) -> str:
    return render_source(
        find_template(name, repo_root), context, escape_as=escape_as, budget=budget
    )


def string_variables(text: str, what: str) -> set[str]:
    """The variables a template string reads (e.g. a runbook command's `{{ namespace }}`).

    `what` names the string in errors, e.g. `api-outage.toml: phases[0].steps[2].commands[0]`.
    """
    from jinja2 import TemplateSyntaxError, meta

    try:
        return set(meta.find_undeclared_variables(_string_environment().parse(text)))
    except TemplateSyntaxError as exc:
        raise TemplateError(
            f"{what}: template syntax error: {exc.message} (line {exc.lineno})",
            hint="variables are written {{ name }}",
        ) from None


def render_string(text: str, values: dict[str, str], what: str) -> str:
    """Render one string (not a file) in the sandbox, inserting `values` verbatim.

    Values are plain text: what they contain, `{{ ... }}` included, is never rendered again.
    """
    from jinja2 import TemplateError as JinjaError
    from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

    env = _string_environment()
    try:
        return _render_within(env.from_string(text), values, env.render_clock)
    except BudgetExceeded as exc:
        raise TemplateError(
            f"{what}: the render {exc}", hint="a command may only insert variables"
        ) from None
    except TemplateSyntaxError as exc:
        raise TemplateError(
            f"{what}: template syntax error: {exc.message} (line {exc.lineno})",
            hint="variables are written {{ name }}",
        ) from None
    except SecurityError as exc:
        raise TemplateError(
            f"{what}: unsafe operation refused by the template sandbox: {exc}",
            hint="a command may only insert variables",
        ) from None
    except UndefinedError as exc:
        raise TemplateError(f"{what}: {exc}", hint="give the variable a value") from None
    except JinjaError as exc:
        raise TemplateError(f"{what}: {exc.message or exc}") from None
