"""The root command: global options, command registration, and the single error handler."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperOption

from incidentctl import __version__
from incidentctl.cli import (
    checkout,
    clocks,
    common,
    comms,
    completion,
    corrections,
    drill,
    incident,
    integrations,
    reading,
    review,
    runbook,
    setup,
    sharing,
)
from incidentctl.cli import (
    repo as repo_cli,
)

app = typer.Typer(
    name="incidentctl",
    help="Run production incidents from the terminal. Every fact is a committed timeline event.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"incidentctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    repo: Annotated[
        str | None,
        typer.Option(
            "--repo",
            metavar="PATH",
            help="The incident repo (default: $INCIDENTCTL_REPO, the enclosing repo, the user config, then the default repo).",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    ctx.obj = common.GlobalOptions(repo=repo)


setup.register(app)
repo_cli.register(app)
checkout.register(app)
incident.register(app)
reading.register(app)
clocks.register(app)
comms.register(app)
review.register(app)
runbook.register(app)
sharing.register(app)
corrections.register(app)
integrations.register(app)
completion.register(app)
drill.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: the process's own set-up, one `run`, and its exit code."""
    import gc

    # a short-lived process that may load tens of thousands of small objects: the
    # cyclic collector would rescan them again and again and free nothing
    gc.disable()
    from incidentctl.environment import skip_pydantic_plugins

    skip_pydantic_plugins()
    sys.exit(run(argv))


def run(argv: list[str] | None = None) -> int:
    """One invocation: every error becomes `error: ...` and an exit code, here.

    Returns the exit code and never exits, and it reads sys.stdin, sys.stdout,
    sys.stderr and os.environ as they are at the call, so one process can run many
    (the tests do). What belongs to the whole process is set up by `main`.
    """
    _log_warnings_to_stderr()
    from incidentctl.cli import report, terminal

    terminal.reset()
    words = completion.words_being_completed()  # a Tab: the shell gives the words
    if words is None:
        words = sys.argv[1:] if argv is None else argv
    command = as_written(typer.main.get_command(app_for(words)))
    try:
        code = command.main(args=argv, prog_name="incidentctl", standalone_mode=False)
    except (Exception, KeyboardInterrupt) as exc:
        code = report.failed(exc)
    finally:
        if "incidentctl.store.history" in sys.modules:  # a command that read git objects
            sys.modules["incidentctl.store.history"].close_all()
    return code if isinstance(code, int) else 0


def as_written(command: Any) -> Any:
    """`command` and its subcommands, with every help string shown as written.

    Typer renders help through Rich, whose markup would eat any bracketed text
    ("over [runbooks.vars]"); Typer's own labels are off the mark too: a `<bool>`
    type after a flag (which takes no value), `<str>` after an argument's name and
    `{title}` in the usage line. The help strings are escaped here, and the
    parameters shown the way `--help` has always shown them: a flag alone, an
    argument by its upper-case name (TITLE, [INC]). Nothing else changes."""
    stack = [command]
    while stack:
        current = stack.pop()
        current.help = _escape_markup(current.help)
        current.short_help = _escape_markup(current.short_help)
        if not getattr(current.get_help_option, "as_written", False):
            current.get_help_option = _help_option_as_flag(current)
        for param in current.params:
            if isinstance(param, TyperArgument):
                param.__class__ = _Argument
            elif isinstance(param, TyperOption) and (param.is_flag or param.count):
                param.__class__ = _Flag
            elif isinstance(param, TyperOption):
                param.__class__ = _Option
            param.help = _escape_markup(getattr(param, "help", None))
        stack.extend(getattr(current, "commands", {}).values())
    return command


_MARKUP_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")  # rich.markup.escape's pattern


def _escape_markup(text: str | None) -> str | None:
    """`text` with what Rich would read as a markup tag escaped (rich.markup.escape,
    without importing Rich on every start)."""
    if not text or "[" not in text:
        return text
    return _MARKUP_TAG.sub(lambda m: f"{m.group(1)}{m.group(1)}\\{m.group(2)}", text)


def _help_option_as_flag(command: Any) -> Callable[[object], object]:
    """`command.get_help_option`, whose option is shown as a flag: click makes the
    `--help` option when help is shown, apart from the parameters."""
    make = command.get_help_option

    def get_help_option(ctx: object) -> object:
        option = make(ctx)
        if isinstance(option, TyperOption):
            option.__class__ = _Flag
        return option

    get_help_option.as_written = True  # type: ignore[attr-defined]
    return get_help_option


class _Flag(TyperOption):
    """A flag: no type after its name (Typer shows `<bool>`, as if it took a value)."""

    def display_type_rich(self, ctx: object) -> str | None:
        return None

    def process_value(self, ctx: Any, value: Any) -> Any:
        # an absent flag (None) or a bool needs no coercion: Typer would build a
        # pydantic TypeAdapter for the None of the root's --help (see _as_text)
        if (value is None or isinstance(value, bool)) and not self.count:
            if self.callback is not None:
                value = self.callback(ctx, self, value)
            return value
        return super().process_value(ctx, value)


_NOT_TEXT = object()


def _as_text(param: Any, value: Any) -> Any:
    """The value a text parameter (`str`, or `list[str]`) would be coerced to, without
    the coercion: Typer builds a pydantic TypeAdapter for every parameter it coerces,
    about 150 ms of imports a command like `list` otherwise never pays. (The root's
    options are processed before a subcommand's eager `--help`, so the root's `--repo`
    alone once put pydantic's schema machinery into `update --help`; store/locate.py
    validates the path.) The results are
    Typer's own for these values (None for any type; a string, or a tuple of strings,
    for text); anything else gets `_NOT_TEXT` and goes through Typer."""
    described = getattr(param, "type_descriptor", None)
    if described is None:
        return _NOT_TEXT
    if value is None:  # absent, no default: Typer's answer for any type
        return () if described.is_list or described.is_tuple else None
    if described.is_choice or described.is_path:
        return _NOT_TEXT
    if described.annotation is str and isinstance(value, str):
        return value
    texts = isinstance(value, tuple | list) and all(isinstance(v, str) for v in value)
    if described.annotation == list[str] and texts:
        return list(value)
    return _NOT_TEXT


def _processed(param: Any, ctx: Any, value: Any) -> Any:
    """TyperOption/TyperArgument.process_value for a text value; _NOT_TEXT otherwise."""
    from typer import _click  # Typer's own click, whose errors the reporter knows

    text = _as_text(param, value)
    if text is _NOT_TEXT:
        return _NOT_TEXT
    if param.required and param.value_is_missing(text):
        raise _click.exceptions.MissingParameter(ctx=ctx, param=param)
    if param.callback is not None:
        text = param.callback(ctx, param, text)
    return text


class _Option(TyperOption):
    """An option that takes a value: text is taken as typed (see _as_text)."""

    def process_value(self, ctx: Any, value: Any) -> Any:
        done = _processed(self, ctx, value)
        return super().process_value(ctx, value) if done is _NOT_TEXT else done


class _Argument(TyperArgument):
    """An argument shown by its metavar, or its name in upper case: TITLE in the
    usage line (not `{title}`), [INC] (not `[[INC]]`), and no `<str>` after it. Text
    is taken as typed (see _as_text)."""

    def process_value(self, ctx: Any, value: Any) -> Any:
        done = _processed(self, ctx, value)
        return super().process_value(ctx, value) if done is _NOT_TEXT else done

    @property
    def display_name_raw(self) -> str:
        return self.metavar or self.name.upper()

    def display_type_rich(self, ctx: object) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if not self.required and not name.startswith("["):
            name = f"[{name}]"
        if self.nargs != 1 and not name.endswith("..."):
            name += "..."
        return name


def app_for(args: list[str]) -> typer.Typer:
    """The root app with only the command or group that `args` names.

    Typer builds every command's parameters from its function signature on each start:
    about 45 of them, to run one. The root help, an unknown name (whose error suggests
    the known ones) and anything unusual get the whole app.
    """
    import copy

    name = _command_name(args)
    commands = [c for c in app.registered_commands if _name_of(c) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if name is None or len(commands) + len(groups) != 1:
        return listing_app()
    slim = copy.copy(app)
    slim.registered_commands, slim.registered_groups = commands, groups
    return slim


def listing_app() -> typer.Typer:
    """The root app for its own help, --version, and errors about a command's name: each
    command and group stands in by name, help and panel alone, so none of their
    parameters is built. Nothing can run through it but the root callback."""
    import copy

    from typer.models import CommandInfo, TyperInfo

    def stand_in(doc: str | None) -> Callable[[], None]:
        def command() -> None:
            raise AssertionError("a listing stand-in cannot run")  # pragma: no cover

        command.__doc__ = doc
        return command

    slim = copy.copy(app)
    slim.registered_commands = [
        CommandInfo(
            name=_name_of(c),
            help=c.help,
            short_help=c.short_help,
            callback=stand_in(c.callback.__doc__ if c.callback else None),
            hidden=c.hidden,
            deprecated=c.deprecated,
            rich_help_panel=c.rich_help_panel,
        )
        for c in app.registered_commands
    ]
    slim.registered_groups = []
    for g in app.registered_groups:
        sub = g.typer_instance
        info = sub.info if sub is not None else None
        callback = sub.registered_callback.callback if sub and sub.registered_callback else None
        slim.registered_groups.append(
            TyperInfo(
                typer.Typer(),
                name=g.name,
                help=g.help if isinstance(g.help, str) else _help_of(info, callback),
                short_help=g.short_help,
                hidden=g.hidden,
                deprecated=g.deprecated,
                rich_help_panel=g.rich_help_panel,
            )
        )
    return slim


def _help_of(info: object, callback: Callable[..., object] | None) -> str | None:
    text = getattr(info, "help", None)
    if isinstance(text, str):
        return text
    return callback.__doc__ if callback is not None else None


def _name_of(command: object) -> str:
    name = getattr(command, "name", None)
    if isinstance(name, str):
        return name
    return typer.main.get_command_name(command.callback.__name__)  # type: ignore[attr-defined]


def _command_name(args: list[str]) -> str | None:
    """The first word of `args` that is not a root option or its value."""
    words = iter(args)
    for word in words:
        if word == "--repo":
            next(words, None)
        elif word.startswith("--repo=") or word == "--":
            continue
        elif word.startswith("-"):
            return None  # --help, --version, or a mistake: the whole app answers
        else:
            return word
    return None


def _log_warnings_to_stderr() -> None:
    """Lower layers report what they repaired (e.g. a rebuilt cache) through logging;
    it reaches the user here, as `warning: ...` on stderr. One handler per process,
    however many runs: it writes to whatever sys.stderr is when a record comes."""
    import logging

    class StderrHandler(logging.StreamHandler):
        @property  # type: ignore[override]
        def stream(self):
            return sys.stderr

        @stream.setter
        def stream(self, value: object) -> None:  # StreamHandler.__init__ sets it
            pass

    logger = logging.getLogger("incidentctl")
    if not any(h.get_name() == _HANDLER for h in logger.handlers):
        handler = StderrHandler()
        handler.set_name(_HANDLER)
        handler.setFormatter(logging.Formatter("warning: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False


_HANDLER = "incidentctl-warnings"
