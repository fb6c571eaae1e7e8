"""The confirmed shell: the one place incidentctl runs a command line through a shell."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from incidentctl.environment import for_children

INTERRUPT_GRACE_SECONDS = 5  # after Ctrl-C, how long a command may take to stop before a kill


@dataclass(frozen=True)
class CommandOutput:
    """A confirmed command's run: the first `limit` bytes of its output, and how it ended."""

    command: str
    exit_code: int
    output: bytes  # stdout and stderr interleaved, capped
    output_bytes: int  # everything it wrote
    interrupted: bool = False

    @property
    def truncated(self) -> bool:
        return self.output_bytes > len(self.output)


def run_confirmed_command(
    command: str,
    limit: int,
    on_output: Callable[[bytes], None] | None = None,
    cwd: Path | None = None,
) -> CommandOutput:
    """Run a command line the responder has just seen and confirmed, exactly as shown.

    This is the one place incidentctl runs a shell: `shell=True` because the responder
    typed yes to this exact text, which is shell syntax (pipes, redirections, `$(...)`).
    Output is streamed to `on_output` as it comes and the first `limit` bytes are kept.
    Ctrl-C stops the command (it is in the foreground process group) and keeps the
    output so far.
    """
    proc = subprocess.Popen(  # shell=True: confirmed by the responder, see above
        command,
        shell=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=cwd or os.getcwd(),
        env=for_children(),
    )
    assert proc.stdout is not None
    kept = bytearray()
    total = 0
    interrupted = False
    try:
        while chunk := proc.stdout.read1(65536):
            total += len(chunk)
            if len(kept) < limit:
                kept += chunk[: limit - len(kept)]
            if on_output is not None:
                on_output(chunk)
    except KeyboardInterrupt:
        interrupted = True
        proc.send_signal(signal.SIGINT)  # it usually has it already, from the terminal
    finally:
        proc.stdout.close()
        try:
            code = proc.wait(timeout=INTERRUPT_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
    if code < 0:  # killed by a signal: report it the way a shell does
        code = 128 - code
    return CommandOutput(command, code, bytes(kept), total, interrupted)
