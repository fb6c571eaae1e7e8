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
    from incidentctl.domain.wording import flat  # not at import: --help stays light

    return flat(str(text))


def talk(message: str) -> None:
    """Progress and confirmations, on stderr."""
    print(message, file=sys.stderr)


def warn(message: str) -> None:
    print(f"warning: {_one_line(message)}", file=sys.stderr)


def error(message: str, hint: str | None = None) -> None:
    print(f"error: {_one_line(message)}", file=sys.stderr)
    if hint:
        print(f"hint: {_one_line(hint)}", file=sys.stderr)


def out(text: str) -> None:
    """Product text on stdout, exactly as given (plus a final newline)."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def out_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def color_allowed() -> bool:
    return "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


@cache
def console() -> Console:
    """A Rich console on stdout. Off a terminal it writes plain text: no ANSI codes."""
    from rich.console import Console

    tty = stdout_is_tty()
    # off a terminal nothing should be squeezed or cut: use a wide page unless told
    width = None if tty or os.environ.get("COLUMNS") else 200
    # markup=False: every string we print may hold user text, and `[x]` in a
    # service name must print as typed, not be parsed as Rich markup
    return Console(
        highlight=False,
        markup=False,
        no_color="NO_COLOR" in os.environ or not tty,
        force_terminal=tty,
        emoji=False,
        width=width,
    )


def reset() -> None:
    """Forget the consoles, which were built for one invocation's streams and
    environment: `cli.app.run` calls this as it starts each one."""
    console.cache_clear()
    talk_console.cache_clear()


def print_rich(renderable: Any) -> None:
    console().print(renderable)


@cache
def talk_console() -> Console:
    """A Rich console on stderr, for interactive talk: the runbook walk and its prompts."""
    from rich.console import Console

    return Console(
        stderr=True, highlight=False, markup=False, no_color="NO_COLOR" in os.environ, emoji=False
    )


def print_talk(renderable: Any, *, soft_wrap: bool = False) -> None:
    """`soft_wrap` leaves long lines whole (the terminal wraps them), e.g. a command to confirm."""
    talk_console().print(renderable, soft_wrap=soft_wrap)


def talk_raw(data: bytes) -> None:
    """Bytes as they come (a running command's output), on stderr."""
    sys.stderr.flush()
    sys.stderr.buffer.write(data)
    sys.stderr.buffer.flush()
