"""Every help string reads in `--help` as it is written in the source.

Rich (which renders Typer's help) reads `[word]` as markup and drops it; Typer labels a
flag `<bool>` as if it took a value, and writes a required argument `{title}` in the
usage line. cli/app.py `as_written` undoes all three: these tests hold it to that for
every command, its docstring and every parameter's help.
"""

from __future__ import annotations

import inspect
import re

import pytest

from conftest import run_cli

BOX = re.compile(r"[│╭╮╰╯─]")


def _tree():
    from typer.main import get_command

    from incidentctl.cli.app import app

    def walk(group, prefix):
        for name in sorted(getattr(group, "commands", {})):
            sub = group.commands[name]
            yield [*prefix, name], sub
            yield from walk(sub, [*prefix, name])

    return list(walk(get_command(app), []))


COMMANDS = _tree()


def _words(text: str) -> list[str]:
    return BOX.sub(" ", text).split()


def _help(path: list[str]) -> str:
    result = run_cli(*path, "--help", env={"COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"})
    assert result.code == 0, result.err
    return result.out


def _contains_run(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def _sources(command) -> list[tuple[str, str]]:
    """(where, text) for the command's docstring and each parameter's help."""
    texts = []
    if command.help:
        # what Typer shows: the docstring up to a form feed, paragraph by paragraph
        doc = inspect.cleandoc(command.help).split("\f")[0]
        texts += [("docstring", part) for part in doc.split("\n\n") if part.strip()]
    for param in command.params:
        help_text = getattr(param, "help", None)
        if help_text and not getattr(param, "hidden", False):
            texts.append((param.name or "?", help_text))
    return texts


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_help_string_renders_as_written(path, command):
    shown = _words(_help(path))
    for where, text in _sources(command):
        words = _words(text.replace("\b", ""))
        assert _contains_run(shown, words), (
            f"incidentctl {' '.join(path)} --help loses words of {where}'s help: {text!r}"
        )


def test_root_help_renders_as_written():
    from incidentctl.cli.app import app

    shown = _words(_help([]))
    assert _contains_run(shown, _words(app.info.help))
    # the root option's help has brackets-free parentheses; it must be whole too
    assert "(default: $INCIDENTCTL_REPO," in " ".join(shown)


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_placeholders_say_what_the_command_takes(path, command):
    out = _help(path)
    assert "<bool>" not in out, "a flag takes no value: no placeholder after it"
    assert not re.search(r"<(str|path)>", out), "an argument is shown by its name alone"
    usage = next(line for line in out.splitlines() if "Usage:" in line)
    assert "{" not in usage and "[[" not in usage, usage


def test_bracketed_words_survive():
    """The three holes the first users found, by name."""
    assert "over [runbooks.vars] (repeatable)" in " ".join(_words(_help(["runbook", "walk"])))
    assert "(default: [pir] template in config)" in " ".join(_words(_help(["pir", "generate"])))
    assert "(default: [comms] channel," in " ".join(_words(_help(["comms", "sent"])))
