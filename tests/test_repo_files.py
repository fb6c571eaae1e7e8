"""Templates and runbooks are files of the repo, nothing else: a symbolic link (to a
file or a folder), anything but a regular file, or a path outside templates/ or
runbooks/ is refused with its path, and nothing it points to is printed or posted."""

from __future__ import annotations

import os

import pytest

from conftest import Cli, run_cli
from test_comms_cli import INC, NO_CLIPBOARD, NOW, Webhook, _webhook_env

SECRET = "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def team(tmp_path) -> Cli:
    path = tmp_path / "waooaw"
    assert run_cli("init", str(path), "--example", "waooaw").code == 0
    cli = Cli(path)
    cli("declare", "Scheduler down", "-s", "P1", "--ic", "@sarah", env={**NOW, **NO_CLIPBOARD})
    return cli


@pytest.fixture
def credentials(tmp_path):
    secret = tmp_path / "home" / ".aws" / "credentials"
    secret.parent.mkdir(parents=True)
    secret.write_text(f"[default]\n{SECRET}\n")
    return secret


def _refused(result, path: str, hint: str = "replace it with a copy of the file it points to"):
    assert result.code == 1, result.err
    assert f"error: {path} is a symbolic link" in result.err, result.err
    assert f"hint: {hint}" in result.err
    assert SECRET not in result.out + result.err and "root:" not in result.out + result.err
    assert "Traceback" not in result.err


def test_a_symlinked_template_is_refused_and_never_posted(team, credentials):
    folder = team.repo / "templates" / "slack"
    folder.mkdir(parents=True)
    (folder / "update.slack.j2").symlink_to(credentials)
    team.git("add", "-A")
    team.git("commit", "-qm", "a team template")
    hook = Webhook([])
    try:
        env = {**_webhook_env(hook.url), **NOW, **NO_CLIPBOARD}
        before = team.commits()
        update = team("update", "-", "--status", "identified", "-m", "x", "--post", ok=False,
                      env=env)  # fmt: skip
        # the event stands; the template is refused after the commit
        _refused(update, "templates/slack/update.slack.j2", f"{INC}: the event was recorded")
        assert team.commits() == before + 1
        assert hook.bodies == []  # nothing reached the webhook
    finally:
        hook.close()
    _refused(team("render", "slack/update", INC, ok=False), "templates/slack/update.slack.j2")
    _refused(team("template", "show", "slack/update", ok=False), "templates/slack/update.slack.j2")
    _refused(team("template", "list", ok=False), "templates/slack/update.slack.j2")


def test_a_symlinked_template_folder_or_templates_itself_is_refused(team, tmp_path):
    templates = team.repo / "templates"
    templates.mkdir()
    (templates / "slack").symlink_to("/etc")
    _refused(team("render", "slack/declared", INC, ok=False), "templates/slack")
    _refused(team("template", "list", ok=False), "templates/slack")

    (templates / "slack").unlink()
    outside = tmp_path / "elsewhere"
    (outside / "slack").mkdir(parents=True)
    (outside / "slack" / "declared.slack.j2").write_text("from elsewhere\n")
    templates.rmdir()
    templates.symlink_to(outside)
    _refused(team("render", "slack/declared", INC, ok=False), "templates")


def test_a_template_that_is_not_a_regular_file_is_refused_without_reading_it(team):
    folder = team.repo / "templates" / "slack"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "declared.slack.j2")  # reading it would hang
    result = team("render", "slack/declared", INC, ok=False)
    assert result.code == 1
    assert "error: templates/slack/declared.slack.j2: a template must be a regular file" in (
        result.err
    )


def test_a_symlinked_runbook_or_runbooks_folder_is_refused(team, credentials, tmp_path):
    runbooks = team.repo / "runbooks"
    runbooks.mkdir()
    (runbooks / "api-outage.toml").symlink_to(credentials)
    shown = team("runbook", "show", "api-outage", ok=False)
    assert shown.code == 1 and "error: runbooks/api-outage.toml: is a symbolic link" in shown.err
    assert SECRET not in shown.out + shown.err
    listed = team("runbook", "list", ok=False)
    assert "runbooks/api-outage.toml: is a symbolic link" in listed.err
    assert SECRET not in listed.out + listed.err

    (runbooks / "api-outage.toml").unlink()
    runbooks.rmdir()
    elsewhere = tmp_path / "runbooks-elsewhere"
    elsewhere.mkdir()
    runbooks.symlink_to(elsewhere)
    folder = team("runbook", "list", ok=False)
    assert folder.code == 1 and "error: runbooks: is a symbolic link" in folder.err
