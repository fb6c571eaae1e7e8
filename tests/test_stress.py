"""A whole response team on two incidents, through a real git server (bench/stress.py):
8 clones, each its own process, for 30 s by default. No event lost or doubled, one
history everywhere, unique human IDs, verify and fsck clean, no false error.

INCIDENTCTL_STRESS_CLONES, _SECONDS and _SEED size it (read when this module is
imported: the tests' isolation clears INCIDENTCTL_* for each test). The long run is
`python bench/stress.py --clones 20 --seconds 600`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from gitserver import shared

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import stress

CLONES = stress.env_int("INCIDENTCTL_STRESS_CLONES", 8)
SECONDS = stress.env_int("INCIDENTCTL_STRESS_SECONDS", 30)
SEED = stress.env_int("INCIDENTCTL_STRESS_SEED", os.getpid())


@pytest.mark.process  # every command is the console script in a child process
def test_a_team_of_clones_converges_with_no_false_error(tmp_path, capsys):
    server = shared()
    hosted = server.new_repo("team.git")

    figures = stress.run(tmp_path / "team", hosted.url, hosted.path, CLONES, SECONDS, SEED)

    with capsys.disabled():  # the figures, on the terminal even under capture
        print(f"\n{figures.line()} (seed {SEED}, {server.url})")
    assert not figures.false_errors, "\n".join(figures.false_errors[:20])
    assert not figures.problems, "\n".join(figures.problems[:20])
    assert figures.commands >= CLONES and figures.syncs >= CLONES  # it did run
