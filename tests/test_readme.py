"""The README, pasted top to bottom into a shell on a fresh machine, works.

Its ```sh blocks run in order, line by line, in one bash, against the fresh HOME of
the isolation fixture, and every line must exit 0. What the test does not do, and why:

- it does not install: each `&&`-joined step that makes a venv, pip-installs, or
  links the venv's command onto the PATH is dropped, and the venv's
  `.../incidentctl-venv/bin/incidentctl` is the `incidentctl` this test runs (this
  checkout's, first on the PATH);
- it does not run the README's test command (the test suite: this test is in it);
  .ci/run runs that, exactly (tests/test_docs.py).
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from conftest import BIN
from test_docs import readme_shell_blocks, readme_test_command

VENV_BIN = "~/.local/share/incidentctl-venv/bin/"
INSTALL_STEP = re.compile(
    r"^(python3 -m venv |\S*pip install |mkdir -p ~/\.local/bin$|ln -sf \S*incidentctl-venv/)"
)


def runnable(line: str) -> str | None:
    """`line` as this test runs it (see the module doc), or None to skip it."""
    if line.strip() == readme_test_command():
        return None
    steps = [s.strip() for s in line.split(" && ")]
    kept = [s.replace(VENV_BIN, "") for s in steps if not INSTALL_STEP.match(s)]
    return " && ".join(kept) or None


def test_install_steps_are_recognised():
    first = readme_shell_blocks()[0][0]
    assert runnable(first) == (
        'incidentctl declare "API returning 503" -s P0 --service api --ic @sarah-sre'
    )
    assert runnable(readme_test_command()) is None
    assert VENV_BIN in first and INSTALL_STEP.match(first)


@pytest.mark.process
def test_the_readme_runs_top_to_bottom_on_a_fresh_home(tmp_path, isolated_env):
    lines = [line for block in readme_shell_blocks() for line in block]
    assert not (isolated_env / ".local" / "share" / "incidentctl").exists()
    script = ["set -u"]
    commands = []
    for line in lines:
        command = runnable(line)
        if command is None:
            continue
        commands.append(line)
        script.append(f'{command}\necho "@@readme {len(commands) - 1} exit $?" >&2')
    env = dict(os.environ, PATH=f"{BIN.parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", "\n".join(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    codes = dict(re.findall(r"^@@readme (\d+) exit (\d+)$", proc.stderr, re.M))
    assert len(codes) == len(commands), proc.stderr
    for i, line in enumerate(commands):
        assert codes[str(i)] == "0", f"README line failed: {line}\n{proc.stderr}\n{proc.stdout}"
    # one coherent story: one incident, the one the first command declared, resolved
    listing = subprocess.run(
        [
            str(BIN),
            "--repo",
            str(isolated_env / ".local/share/incidentctl/repo"),
            "list",
            "--all",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    import json

    incidents = json.loads(listing.stdout)
    incidents = incidents.get("incidents", incidents) if isinstance(incidents, dict) else incidents
    assert [(i["title"], i["status"]) for i in incidents] == [("API returning 503", "resolved")]
    assert "2026-02-12" not in "\n".join(lines), "no hard-coded incident ID"
