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
