"""The one place that writes to the terminal: stdout for the product, stderr for the talk."""

from __future__ import annotations

import json
import os
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def _one_line(text: str) -> str:
    """An error or warning line: one line, what it echoes of the user's input cut to
    size, no control or bidi character (domain/textsafety.py)."""
    from incidentctl.domain.textsafety import clip_message, terminal_safe
    from incidentctl.domain.wording import flat  # not at import: --help stays light

    return terminal_safe(clip_message(flat(str(text))), one_line=True)


def talk(message: str) -> None:
    """Progress and confirmations, on stderr."""
    from incidentctl.domain.textsafety import terminal_safe

    print(terminal_safe(message), file=sys.stderr)


def warn(message: str) -> None:
    print(f"warning: {_one_line(message)}", file=sys.stderr)


def error(message: str, hint: str | None = None) -> None:
    print(f"error: {_one_line(message)}", file=sys.stderr)
    if hint:
        print(f"hint: {_one_line(hint)}", file=sys.stderr)


def out(text: str, *, styled: bool = False) -> None:
    """Product text on stdout, exactly as given (plus a final newline); on a terminal
    with every control and bidi character shown as U+FFFD, unless `styled`: lines
    carrying their own ANSI colours, whose user fields the view escaped (cell_text)."""
    if stdout_is_tty() and not styled:
        from incidentctl.domain.textsafety import terminal_safe

        text = terminal_safe(text)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def out_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def color_allowed() -> bool:
    return "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


def page_width() -> int | None:
    """The width line-based views fit into: the terminal's on one, COLUMNS if set off
    one (as the Rich console does), else None: a pipe gets whole lines."""
    if stdout_is_tty():
        return terminal_width()
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


@cache
def console() -> Console:
    """A Rich console on stdout. Off a terminal it writes plain text: no ANSI codes."""
    from rich.console import Console

    tty = stdout_is_tty()
    # off a terminal nothing should be squeezed or cut: use a wide page unless told
    width = None if tty or os.environ.get("COLUMNS") else 200
    # markup=False: every string we print may hold user text, and `[x]` in a
    # service name must print as typed, not be parsed as Rich markup
    return _neutralising(
        Console(
            highlight=False,
            markup=False,
            no_color="NO_COLOR" in os.environ or not tty,
            force_terminal=tty,
            emoji=False,
            width=width,
        )
    )


def reset() -> None:
    """Forget the consoles, which were built for one invocation's streams and
    environment: `cli.app.run` calls this as it starts each one."""
    console.cache_clear()
    talk_console.cache_clear()


def _neutralising(console: Console) -> Console:
    """`console`, with every piece of text it prints passed through the terminal
    escaping (domain/textsafety.py): whatever a view shows, no control or bidi
    character of it reaches the terminal."""
    from rich.console import RenderHook
    from rich.segment import Segment

    from incidentctl.domain.textsafety import has_unsafe, terminal_safe

    class Neutralised:
        def __init__(self, renderable: Any) -> None:
            self.renderable = renderable

        def __rich_console__(self, console: Console, options: Any) -> Any:
            for segment in console.render(self.renderable, options):
                if segment.control or not has_unsafe(segment.text):
                    yield segment
                else:
                    yield Segment(terminal_safe(segment.text), segment.style)

    class Hook(RenderHook):
        def process_renderables(self, renderables: list[Any]) -> list[Any]:
            return [Neutralised(r) for r in renderables]

    console.push_render_hook(Hook())
    return console


def print_rich(renderable: Any) -> None:
    console().print(renderable)


@cache
def talk_console() -> Console:
    """A Rich console on stderr, for interactive talk: the runbook walk and its prompts."""
    from rich.console import Console

    return _neutralising(
        Console(
            stderr=True,
            highlight=False,
            markup=False,
            no_color="NO_COLOR" in os.environ,
            emoji=False,
        )
    )


def print_talk(renderable: Any, *, soft_wrap: bool = False) -> None:
    """`soft_wrap` leaves long lines whole (the terminal wraps them), e.g. a command to confirm."""
    talk_console().print(renderable, soft_wrap=soft_wrap)


def talk_raw(data: bytes) -> None:
    """Bytes as they come (a running command's output), on stderr."""
    sys.stderr.flush()
    sys.stderr.buffer.write(data)
    sys.stderr.buffer.flush()
