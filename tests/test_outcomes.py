"""Results carry their problems and exit status, and one reporter renders them: an
unreadable file gets the same treatment from every command that reads it."""

import pytest


@pytest.fixture
def broken(cli):
    """An incident with one committed event file that no longer parses."""
    inc = cli.declare("API returning 503", "--at", "-20m")
    cli("note", inc, "looking at the logs")
    events = sorted((cli.repo / "incidents").rglob("events/*.toml"))
    events[-1].write_text("type = [not toml", encoding="utf-8")
    cli.git("commit", "-qam", "hand edit")
    return inc, events[-1].relative_to(cli.repo).as_posix()


@pytest.mark.parametrize(
    "args",
    [
        ("show", "{inc}"),
        ("list", "--all"),
        ("log", "{inc}"),
        ("status",),
        ("metrics",),
        ("pir", "generate", "{inc}"),
        ("action", "list"),
    ],
)
def test_an_unreadable_event_file_fails_every_reading_command_alike(cli, broken, args):
    inc, path = broken
    result = cli(*(a.format(inc=inc) for a in args), ok=False)
    assert result.code == 1, result.err
    assert f"error: {path}: invalid TOML" in result.err
    assert "hint: run: incidentctl doctor" in result.err
    assert "Traceback" not in result.err
