"""--help must stay near the bare Typer floor: no GitPython, Jinja2 or pydantic models.

(Typer itself imports the pydantic package to coerce parameters, as a bare Typer app
does; what must not load is our models, which build pydantic schemas at import.)"""

import subprocess

import pytest

from conftest import BIN

pytestmark = pytest.mark.process  # end-to-end: a fresh interpreter's imports

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


def _help_text(typer_app, args):
    import contextlib

    import typer

    with contextlib.suppress(SystemExit):
        typer.main.get_command(typer_app).main(args, prog_name="incidentctl", standalone_mode=False)


def test_root_help_from_stand_ins_is_the_full_apps_help(capsys):
    # the root help is drawn from stand-ins that carry only names and help texts
    from incidentctl.cli.app import app, listing_app

    _help_text(app, ["--help"])
    full = capsys.readouterr().out
    _help_text(listing_app(), ["--help"])
    assert capsys.readouterr().out == full
    assert "declare" in full and "runbook" in full


@pytest.mark.parametrize(
    ("args", "chosen"),
    [
        (["note", "INC-1", "text"], ["note"]),
        (["--repo", "/x", "update", "--help"], ["update"]),
        (["--repo=/x", "runbook", "walk"], ["runbook"]),
        (["list"], ["list"]),
        (["--help"], None),
        ([], None),
        (["--version"], None),
        (["updat"], None),
    ],
)
def test_only_the_named_command_is_built(args, chosen):
    from incidentctl.cli.app import _name_of, app_for

    built = app_for(args)
    names = [_name_of(c) for c in built.registered_commands] + [
        g.name for g in built.registered_groups
    ]
    if chosen is None:  # the listing: every name, nothing runnable but the root
        assert len(names) > 30 and "declare" in names and "runbook" in names
    else:
        assert names == chosen


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--severity", "P1"],
        ["show", "-"],
        ["declare", "Disk full", "-s", "P2"],
        ["update", "--help"],
    ],
    ids=lambda a: " ".join(a[:2]) if a[-1] == "--help" else a[0],
)
def test_text_parameters_are_taken_without_typers_coercion(tmp_path, args):
    """Typer builds a pydantic TypeAdapter for every parameter it coerces (about 150 ms
    of imports): text options and arguments are taken as typed instead."""
    code = PROBE.format(args=["--repo", str(tmp_path / "r"), *args], heavy=("typer._adapters",))
    proc = subprocess.run([str(BIN.parent / "python"), "-c", code], capture_output=True, text=True)
    line = [x for x in proc.stderr.splitlines() if x.startswith("HEAVY=")][-1]
    assert line == "HEAVY=", f"incidentctl {' '.join(args)} coerced through {line}"
