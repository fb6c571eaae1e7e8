"""docs/commands.md is generated from --help; this test keeps the two in step.

Regenerate with: UPDATE_DOCS=1 python -m pytest tests/test_docs.py
"""

import os
from pathlib import Path

from conftest import run_cli

DOC = Path(__file__).resolve().parents[1] / "docs" / "commands.md"
HEADER = """# Command reference

Generated from `incidentctl --help` by `tests/test_docs.py`; do not edit by hand.
Regenerate with `UPDATE_DOCS=1 python -m pytest tests/test_docs.py`.
"""


def _help(args: list[str]) -> str:
    result = run_cli(*args, "--help", env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"})
    assert result.code == 0, result.err
    return "\n".join(line.rstrip() for line in result.out.strip("\n").splitlines())


def _commands(group, prefix):
    for name in sorted(getattr(group, "commands", {})):
        sub = group.commands[name]
        yield [*prefix, name]
        yield from _commands(sub, [*prefix, name])


def render_reference() -> str:
    from typer.main import get_command

    from incidentctl.cli.app import app

    parts = [HEADER, "## incidentctl\n", "```text\n" + _help([]) + "\n```\n"]
    for path in _commands(get_command(app), []):
        parts.append(f"## incidentctl {' '.join(path)}\n")
        parts.append("```text\n" + _help(path) + "\n```\n")
    return "\n".join(parts)


def test_command_reference_matches_help():
    expected = render_reference()
    if os.environ.get("UPDATE_DOCS"):
        DOC.write_text(expected)
    assert DOC.read_text() == expected, (
        "docs/commands.md is stale: UPDATE_DOCS=1 python -m pytest tests/test_docs.py"
    )


ROOT = Path(__file__).resolve().parents[1]


def readme_shell_blocks() -> list[list[str]]:
    """The README's ```sh blocks, in order: each a list of its lines."""
    import re

    text = (ROOT / "README.md").read_text()
    return [block.strip("\n").splitlines() for block in re.findall(r"```sh\n(.*?)```", text, re.S)]


def readme_test_command() -> str:
    """The README's test command: the second of its first two commands."""
    return readme_shell_blocks()[0][1]


def test_ci_runs_the_readme_test_command_exactly():
    lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert "pytest" in readme_test_command()
    assert lines[-1] == readme_test_command(), (
        ".ci/run must end with the README's test command, exactly"
    )


def test_the_readme_installs_into_a_venv_never_the_system_python():
    """PEP 668: the system python3 is for `-m venv` alone (Debian 12, Ubuntu 24.04)."""
    for block in readme_shell_blocks():
        for line in block:
            for command in line.split("&&"):
                command = command.strip()
                if command.startswith(("python3 -m pip", "pip ", "pip3 ", "sudo pip")):
                    raise AssertionError(f"installs into the system Python: {line}")
