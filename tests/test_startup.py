"""--help must stay near the bare Typer floor: no GitPython, Jinja2 or pydantic models.

(Typer itself imports the pydantic package to coerce parameters, as a bare Typer app
does; what must not load is our models, which build pydantic schemas at import.)"""

import subprocess

import pytest

from conftest import BIN

HEAVY = (
    "git",
    "jinja2",
    "incidentctl.domain.events",
    "incidentctl.domain.policy",
    "incidentctl.domain.state",
    "incidentctl.domain.runbook",
    "incidentctl.services.workspace",
    "incidentctl.store.repo",
)

PROBE = """
import sys
sys.argv = ["incidentctl", *{args!r}]
from incidentctl.cli.app import main
try:
    main()
except SystemExit:
    pass
heavy = [m for m in {heavy!r} if m in sys.modules]
print("HEAVY=" + ",".join(heavy), file=sys.stderr)
"""


def _help_commands():
    from typer.main import get_command

    from incidentctl.cli.app import app

    group = get_command(app)
    return [[], *([name] for name in sorted(group.commands))]


@pytest.mark.parametrize("args", _help_commands(), ids=lambda a: " ".join(a) or "root")
def test_help_imports_nothing_heavy(args):
    code = PROBE.format(args=[*args, "--help"], heavy=HEAVY)
    proc = subprocess.run([str(BIN.parent / "python"), "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    line = [x for x in proc.stderr.splitlines() if x.startswith("HEAVY=")][-1]
    assert line == "HEAVY=", f"incidentctl {' '.join(args)} --help imported {line}"


def test_importtime_confirms_help_path():
    proc = subprocess.run(
        [str(BIN.parent / "python"), "-X", "importtime", str(BIN), "--help"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "incidentctl.cli.app" in imported
    assert not set(HEAVY) & imported
