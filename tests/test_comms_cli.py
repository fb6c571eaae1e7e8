"""Messages end to end, through the console script: piping, team templates and hostile
text, recording, posting through the outbox to a real HTTP server, and copying to a
real X clipboard and through OSC 52 in a real pseudo-terminal."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import BIN, Cli

NOW = {"INCIDENTCTL_NOW": "2026-02-12T14:23:00Z"}
LATER = {"INCIDENTCTL_NOW": "2026-02-12T14:45:00Z"}
NO_CLIPBOARD = {"DISPLAY": "", "WAYLAND_DISPLAY": "", "SSH_TTY": "", "SSH_CONNECTION": ""}
NASTY = (
    "<!channel> <@U123> {{ ''.__class__.__mro__ }} {% raw %} \"quoted\" 'single' "
    "$(rm -rf ~) `id` & a = [b] # c \\ 🔥"
)
INC = "INC-2026-02-12-001"


def _declare(cli: Cli, *extra: str, title: str = "Scheduler not executing goals", env=None):
    return cli(
        "declare", title, "-s", "P1", "--ic", "@sarah-sre", "--impact", "All customers",
        *extra, env={**NOW, **NO_CLIPBOARD, **(env or {})},
    )  # fmt: skip


def test_declare_and_update_print_exactly_the_slack_message_with_user_text_inert(waooaw):
    before = waooaw.commits()
    declared = _declare(waooaw, title=NASTY)
    assert waooaw.commits() == before + 1
    out = declared.out
    # off a terminal: the message and nothing else (no ANSI, no ID line, no panel)
    assert out.startswith("🚨 INCIDENT DECLARED 🚨\n\nID: INC-2026-02-12-001\n")
    assert "\x1b" not in out and "╭" not in out
    assert "recorded declared" in declared.err
    summary = next(line for line in out.splitlines() if line.startswith("Summary: "))
    # printed and copied for a person to paste: Slack's client escapes pasted text, so
    # it is shown as typed (an entity would show literally); the API gets it escaped
    assert summary == f"Summary: {NASTY}"
    assert "&lt;" not in out and "&amp;" not in out
    # the same message as `render`, so a pipe gets exactly what render shows
    rendered = waooaw("render", "slack/declared", INC, env=NOW)
    assert rendered.out == out

    text = waooaw("render", "slack/declared", INC, "--format", "text", env=NOW).out
    assert f"Summary: {NASTY}\n" in text
    markdown = waooaw("render", "slack/declared", INC, "-f", "markdown", env=NOW).out
    assert "Summary: \\<!channel\\> \\<@U123\\>" in markdown
    assert "\\`id\\` & a = \\[b\\] \\# c \\\\ 🔥" in markdown

    updated = waooaw("update", INC, "--status", "identified", "-m", "Leak <b>found</b>", env=LATER)
    assert updated.out.startswith("🔄 INCIDENT UPDATE - INC-2026-02-12-001\n\nStatus: Identified\n")
    assert "- Leak <b>found</b>\n" in updated.out
    assert "Next Update: 15:15 UTC\n" in updated.out

    as_json = waooaw("update", INC, "-m", "still digging", "--json", env=LATER)
    assert as_json.json()["events"][0]["type"] == "note_added"  # JSON, not the message


def test_mitigate_and_resolve_print_their_messages_without_emoji_when_asked(waooaw):
    _declare(waooaw)
    mitigated = waooaw("mitigate", INC, "-m", "Rolled back", "--no-emoji", env=LATER)
    assert mitigated.out.startswith("INCIDENT UPDATE - INC-2026-02-12-001\n\nStatus: Monitoring\n")
    resolved = waooaw(
        "resolve", INC, "--root-cause", "Leak", "--resolution", "Rollback", "--no-emoji",
        env={"INCIDENTCTL_NOW": "2026-02-12T17:00:00Z"},
    )  # fmt: skip
    assert resolved.out.startswith("INCIDENT RESOLVED\n\nIncident ID: INC-2026-02-12-001\n")
    assert "Duration: 2 hours 37 minutes\n" in resolved.out
    assert resolved.out.isascii() and mitigated.out.isascii()
    # a family name picks the stage; after resolve, render finds the latest incident
    page = waooaw("render", "statuspage", env={"INCIDENTCTL_NOW": "2026-02-12T17:05:00Z"}).out
    assert page.startswith("Resolved: The incident has been resolved.")
    # a repeated --set fills a list field one item each; a newline does too
    steps = waooaw(
        "render", "slack/resolved", "--set", "next_steps=PIR on Friday",
        "--set", "next_steps=Bug fix PR: #1234", "--set", "team=@a\n@b",
    ).out  # fmt: skip
    assert "Next Steps:\n- PIR on Friday\n- Bug fix PR: #1234\n\n" in steps
    assert steps.endswith("Thanks to: @a, @b\n")


def test_team_templates_override_and_broken_or_hostile_ones_are_refused(waooaw):
    _declare(waooaw)
    templates = waooaw.repo / "templates" / "slack"
    templates.mkdir(parents=True)
    (templates / "declared.slack.j2").write_text("Team says: {{ title }} ({{ severity }})\n")
    listing = waooaw("template", "list").out
    assert re.search(r"^slack/declared\s+repo\s+templates/slack/declared.slack.j2$", listing, re.M)
    assert re.search(r"^slack/update\s+built-in\s+", listing, re.M)
    assert waooaw("template", "show", "slack/declared").out == (
        "Team says: {{ title }} ({{ severity }})\n"
    )
    assert "{{ banner(" in waooaw("template", "show", "slack/update").out
    assert waooaw("render", "slack/declared", INC).out == (
        "Team says: Scheduler not executing goals (P1)\n"
    )

    before = waooaw.commits()
    (templates / "evil.slack.j2").write_text("ok\n{{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    evil = waooaw("render", "slack/evil", INC, ok=False)
    assert evil.code == 1 and "Traceback" not in evil.err
    assert re.search(r"^error: .*evil\.slack\.j2:2: unsafe operation refused", evil.err, re.M)

    (templates / "broken.slack.j2").write_text("line one\n{% if title %}\nno endif\n")
    broken = waooaw("render", "slack/broken", INC, ok=False)
    assert broken.code == 1 and re.search(r"broken\.slack\.j2:\d+: ", broken.err)
    assert "Traceback" not in broken.err

    (templates / "crash.slack.j2").write_text("{{ 1 / 0 }}\n")
    crash = waooaw("render", "slack/crash", INC, ok=False)
    assert crash.code == 1 and "crash.slack.j2:1: ZeroDivisionError" in crash.err

    unknown = waooaw("render", "slack/nope", INC, ok=False)
    assert unknown.code == 1 and unknown.err.startswith("error: no template 'slack/nope'\n")
    assert "hint: see the templates with: incidentctl template list" in unknown.err
    assert waooaw.commits() == before

    # a broken template for an event command: the event stands, the error says so
    (templates / "update.slack.j2").write_text("{{ nosuchfield }}\n")
    update = waooaw("update", INC, "-m", "note", ok=False)
    assert update.code == 1 and "'nosuchfield' is undefined" in update.err
    assert "was recorded" in update.err and waooaw.commits() == before + 1


def test_bad_options_are_refused_before_anything_is_written(waooaw):
    _declare(waooaw)
    before = waooaw.commits()
    cases = [
        (("render", "slack/update", INC, "--set", "novalue"), "expected key=value"),
        (("render", "slack/update", INC, "--set", "bad key=1"), "is not a field name"),
        (("render", "slack/update", INC, "--set", "banner=x"), "cannot be set"),
        (("render", "slack/update", INC, "--format", "pdf"), "unknown format 'pdf'"),
        (("render", "statuspage", INC, "--stage", "fixed"), "unknown stage 'fixed'"),
        (("render", "slack/update", INC, "--record", "--at", "yesterday-ish"), "--at"),
        (("update", INC, "-m", "x", "--post"), "no Slack webhook is configured"),
        (("render", "slack/update", INC, "--post"), "no Slack webhook is configured"),
    ]
    for args, message in cases:
        result = waooaw(*args, ok=False, env=NOW)
        assert result.code == 2, (args, result.err)
        assert result.err.startswith("error: ") and message in result.err, (args, result.err)
        assert "hint: " in result.err and "Traceback" not in result.err
    assert waooaw.commits() == before
    assert not (waooaw.repo / ".git" / "incidentctl" / "outbox").exists()


def test_record_and_comms_sent_commit_communication_events(waooaw):
    _declare(waooaw, "--record")
    assert waooaw.commits() == 3  # init, declared, communication_sent
    subject = waooaw.git("log", "-1", "--format=%s%n%(trailers:only,unfold)")
    assert subject.startswith("INC-2026-02-12-001: sent slack/declared to #incidents\n")
    assert "Event-Type: communication_sent" in subject

    waooaw(
        "comms", "sent", INC, "email/customer", "--at", "14:40", "--by", "@comms-lead",
        env=LATER,
    )  # fmt: skip
    shown = waooaw("show", INC, "--json").json()
    sent = shown["communications"]
    assert [c["template"] for c in sent] == ["slack/declared", "email/customer"]
    assert sent[0]["channel"] == "#incidents" and sent[0]["audience"] == "internal"
    assert sent[1]["channel"] == "email" and sent[1]["audience"] == "customers"
    assert sent[1]["author"] == "@comms-lead" and sent[1]["via"] == "manual"
    assert sent[1]["digest"].startswith("sha256:") and "Dear WAOOAW Customers" in sent[1]["excerpt"]
    assert shown["last_communication_at"] == "2026-02-12T14:40:00+00:00"
    assert waooaw("comms", "list", INC, "--json").json() == sent
    # the exec summary knows when customers were last told
    assert (
        "Customers last told: 14:40 UTC (email/customer)"
        in waooaw("render", "slack/exec", INC, env=LATER).out
    )


def test_render_writes_a_file_and_json(waooaw, tmp_path):
    _declare(waooaw)
    target = tmp_path / "out" / "page.txt"
    target.parent.mkdir()
    written = waooaw("render", "statuspage", INC, "-o", str(target), env=NOW)
    assert written.out == "" and f"to {target}" in written.err
    assert target.read_text().startswith("Investigating: We are currently investigating ")
    data = waooaw("render", "slack/update", INC, "--json", "--set", "impact=Half of users").json()
    assert data["template"] == "slack/update" and data["format"] == "slack"
    assert "Impact: Half of users" in data["text"] and data["origin"] == "built-in"
    blocks = json.loads(waooaw("render", "slack/declared", INC, "-f", "blocks").out)
    assert blocks["blocks"][0]["type"] == "header" and "INCIDENT DECLARED" in blocks["text"]


# -- posting through the outbox -------------------------------------------------------


class Webhook:
    """A real HTTP server on 127.0.0.1 that answers each POST with the next scripted
    step: a status; "hold" keeps the request open until `release` is set; "slow" reads
    the body, then answers 200 only after `slow_seconds` (after the client gave up)."""

    def __init__(self, script: list, port: int = 0, slow_seconds: float = 3.0) -> None:
        self.script = list(script)
        self.bodies: list[dict] = []
        self.answered: list[int] = []
        self.arrived = threading.Event()
        self.release = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.bodies.append(body)
                step = hook.script.pop(0) if hook.script else 200
                if step == "hold":
                    hook.arrived.set()
                    hook.release.wait(30)
                    step = 200
                elif step == "slow":
                    hook.release.wait(slow_seconds)
                    step = 200
                hook.answered.append(step)
                try:
                    self.send_response(step)
                    self.end_headers()
                    self.wfile.write(b"ok" if step == 200 else b"error")
                except OSError:
                    pass  # the client is gone

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T0/B0/x"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _webhook_env(url: str) -> dict:
    return {
        "INCIDENTCTL_SLACK_WEBHOOK": url,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


@pytest.fixture
def webhook_env(request):
    hooks: list[Webhook] = []

    def make(*script, port: int = 0) -> tuple[Webhook, dict]:
        hook = Webhook(list(script), port=port)
        hooks.append(hook)
        return hook, _webhook_env(hook.url)

    yield make
    for hook in hooks:
        hook.close()


def test_post_failure_queues_the_message_and_flush_sends_it_exactly_once(waooaw, webhook_env):
    hook, env = webhook_env(500)
    _declare(waooaw)
    before = waooaw.commits()
    failed = waooaw("update", INC, "--status", "identified", "-m", "Leak", "--post", "--record",
                    ok=False, env={**env, **LATER})  # fmt: skip
    # recorded, delivery pending: exit 4, so a script does not run it again
    assert failed.code == 4 and "HTTP 500" in failed.err and "queued in the outbox" in failed.err
    assert "hint: send it later with: incidentctl outbox flush" in failed.err
    assert failed.out.startswith("🔄 INCIDENT UPDATE")  # the text is printed all the same
    assert waooaw.commits() == before + 1  # the status change; not yet "sent"
    queued = waooaw("outbox", "--json").json()
    assert [(m["state"], m["template"], m["attempts"]) for m in queued] == [
        ("queued", "slack/update", 1)
    ]
    assert queued[0]["last_error"] == "HTTP 500 Internal Server Error"

    flushed = waooaw("outbox", "flush", env={**env, "INCIDENTCTL_NOW": "2026-02-12T14:50:00Z"})
    assert "sent " in flushed.err and "recorded communication_sent" in flushed.err
    assert waooaw("outbox", "--json").json() == []
    again = waooaw("outbox", "flush", env=env)
    assert "nothing to send" in again.err

    assert hook.answered == [500, 200]  # refused, then delivered once
    # the same message, retried, saying it is late; its next update (15:15) still stands
    assert hook.bodies[1]["text"] == (
        hook.bodies[0]["text"] + "\n\n_(queued at 14:45 UTC, sent late at 14:50 UTC)_"
    )
    assert hook.bodies[0]["text"] == failed.out.rstrip("\n")
    assert "Next Update: 15:15 UTC" in hook.bodies[1]["text"]
    sent = waooaw("show", INC, "--json").json()["communications"]
    assert [(c["template"], c["via"], c["at"]) for c in sent] == [
        ("slack/update", "slack-webhook", "2026-02-12T14:50:00+00:00")
    ]
    assert waooaw.commits() == before + 2

    direct = waooaw("render", "slack/declared", INC, "--post", "-f", "blocks", env=env)
    assert "posted slack/declared to Slack" in direct.err
    assert hook.bodies[-1]["blocks"][0]["type"] == "header" and len(hook.bodies) == 3


@pytest.mark.process
def test_an_interrupted_flush_never_posts_twice(waooaw, webhook_env):
    hook, env = webhook_env(503, "hold")
    _declare(waooaw)
    queued = waooaw("render", "slack/update", INC, "--post", ok=False, env=env)
    assert queued.code == 4 and "HTTP 503" in queued.err

    full_env = {**os.environ, **env}
    flusher = subprocess.Popen(
        [str(BIN), "--repo", str(waooaw.repo), "outbox", "flush"],
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert hook.arrived.wait(30), "the flush never reached the server"
        flusher.send_signal(signal.SIGKILL)  # killed mid-request: did Slack get it?
        flusher.wait(30)
    finally:
        hook.release.set()
        if flusher.poll() is None:
            flusher.kill()
    listed = waooaw("outbox", env=env)
    assert "in doubt" in listed.out and "--retry-in-doubt" in listed.err

    skipped = waooaw("outbox", "flush", ok=False, env=env)
    assert skipped.code == 4 and "is in doubt (a flush stopped while posting it)" in skipped.err
    assert len(hook.bodies) == 2  # not posted again on its own

    retried = waooaw("outbox", "flush", "--retry-in-doubt", env=env)
    assert "sent " in retried.err and len(hook.bodies) == 3
    assert waooaw("outbox", "--json", env=env).json() == []


def test_outbox_drop_removes_a_message_unsent(waooaw, webhook_env):
    hook, env = webhook_env(500)
    _declare(waooaw)
    waooaw("render", "slack/update", INC, "--post", ok=False, env=env)
    [message] = waooaw("outbox", "--json").json()
    missing = waooaw("outbox", "drop", "ZZZZ", ok=False)
    assert missing.code == 1 and "no outbox message" in missing.err
    assert message["id"] in waooaw("outbox", "drop", message["id"][:20]).err
    assert waooaw("outbox", "--json").json() == [] and len(hook.bodies) == 1


def _webhook_timeout(cli: Cli, timeout: str) -> None:
    config = cli.repo / "incidentctl.toml"
    text = config.read_text()
    assert "\n[comms]\n" in text
    config.write_text(text.replace("\n[comms]\n", f'\n[comms]\nwebhook_timeout = "{timeout}"\n'))
    cli.git("commit", "-qam", "a short webhook timeout")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_delivered_post_is_posted_once_and_recorded_for_the_team(waooaw, webhook_env):
    hook, env = webhook_env()
    declared = _declare(waooaw, "--post", "--record", env=env)
    assert declared.code == 0 and "posted slack/declared to Slack" in declared.err
    assert len(hook.bodies) == 1 and hook.bodies[0]["text"] == declared.out.rstrip("\n")
    assert waooaw("outbox", "--json").json() == []
    assert "nothing to send" in waooaw("outbox", "flush", env=env).err
    [sent] = waooaw("show", INC, "--json").json()["communications"]
    assert (sent["template"], sent["audience"], sent["channel"], sent["via"]) == (
        "slack/declared", "internal", "#incidents", "slack-webhook"
    )  # fmt: skip
    assert len(hook.bodies) == 1


def test_a_refused_connection_is_not_sent_and_the_next_flush_delivers_it_once(waooaw):
    port = _free_port()  # nothing listens there
    env = _webhook_env(f"http://127.0.0.1:{port}/services/T0/B0/x")
    _declare(waooaw)
    before = waooaw.commits()
    failed = waooaw("update", INC, "--status", "identified", "-m", "Leak", "--post", "--record",
                    ok=False, env={**env, **LATER})  # fmt: skip
    assert failed.code == 4, failed.err  # recorded; delivery pending
    assert "cannot reach the webhook" in failed.err and "queued in the outbox" in failed.err
    assert waooaw.commits() == before + 1
    [queued] = waooaw("outbox", "--json").json()
    assert queued["state"] == "queued" and "cannot reach the webhook" in queued["last_error"]

    hook = Webhook([], port=port)  # the webhook is back
    try:
        flushed = waooaw("outbox", "flush", env={**env, **LATER})
        assert flushed.code == 0 and "recorded communication_sent" in flushed.err
        assert "nothing to send" in waooaw("outbox", "flush", env=env).err
        assert len(hook.bodies) == 1 and hook.bodies[0]["text"] == failed.out.rstrip("\n")
    finally:
        hook.close()
    assert waooaw.commits() == before + 2


def test_a_post_that_times_out_after_sending_is_in_doubt_and_never_posted_twice(
    waooaw, webhook_env
):
    hook, env = webhook_env("slow")  # reads the body, answers after the client gave up
    _webhook_timeout(waooaw, "1s")
    _declare(waooaw)
    before = waooaw.commits()
    doubtful = waooaw("update", INC, "--status", "identified", "-m", "Leak", "--post", "--record",
                      ok=False, env={**env, **LATER})  # fmt: skip
    assert doubtful.code == 4, doubtful.err
    assert "is in doubt (sent, but no answer within 1s (it may have arrived))" in doubtful.err
    assert "--retry-in-doubt" in doubtful.err and "outbox drop" in doubtful.err
    assert waooaw.commits() == before + 1  # the status change; the message is not "sent"
    listed = waooaw("outbox", env=env)
    assert "\tin doubt\t" in listed.out and "no answer within 1s" in listed.out
    assert "--retry-in-doubt" in listed.err

    skipped = waooaw("outbox", "flush", ok=False, env=env)
    assert skipped.code == 4 and "is in doubt (sent, but no answer" in skipped.err
    time.sleep(2.5)  # the server answers the first post late, to nobody
    assert len(hook.bodies) == 1 and hook.answered == [200]  # it did arrive: one message

    retried = waooaw("outbox", "flush", "--retry-in-doubt", env={**env, **LATER})
    assert retried.code == 0 and "recorded communication_sent" in retried.err
    assert len(hook.bodies) == 2  # only with the user's word
    assert waooaw("outbox", "--json").json() == []


def test_a_late_message_says_when_it_was_queued_and_never_promises_a_past_update(
    waooaw, webhook_env
):
    hook, env = webhook_env(500, 500)
    _declare(waooaw)
    waooaw("update", INC, "--status", "identified", "-m", "Leak", "--post",
           ok=False, env={**env, **LATER})  # fmt: skip
    waooaw("render", "slack/update", INC, "-f", "blocks", "--post", ok=False,
           env={**env, **LATER})  # fmt: skip
    original, original_blocks = hook.bodies
    assert "Next Update: 15:15 UTC" in original["text"]
    much_later = {"INCIDENTCTL_NOW": "2026-02-12T16:05:00Z"}
    flushed = waooaw("outbox", "flush", env={**env, **much_later})
    assert flushed.code == 0 and len(hook.bodies) == 4
    # both were queued in the same pinned minute: either may go first
    late, late_blocks = sorted(hook.bodies[2:], key=lambda body: "blocks" in body)
    note = "_(queued at 14:45 UTC, sent late at 16:05 UTC)_"
    assert late["text"].endswith("\n\n" + note)
    assert "15:15 UTC" not in late["text"].replace("was due 15:15 UTC", "")
    assert "Next Update: was due 15:15 UTC (this message was sent late)" in late["text"]
    # Block Kit: a context block says it, and no block still promises 15:15
    assert late_blocks["blocks"][-1] == {
        "type": "context", "elements": [{"type": "mrkdwn", "text": note}]
    }  # fmt: skip
    shown = json.dumps(late_blocks)
    assert "was due 15:15 UTC" in shown and "15:15 UTC" not in shown.replace("was due 15:15", "")
    assert len(late_blocks["blocks"]) == len(original_blocks["blocks"]) + 1


def test_a_status_page_text_posted_to_slack_is_recorded_for_the_team(waooaw, webhook_env):
    hook, env = webhook_env()
    _declare(waooaw)

    def owed() -> set[str]:
        shown = waooaw("status", "--json", env=LATER).json()
        return {o["kind"] for i in shown["incidents"] for o in i["obligations"]}

    assert "customer_comms" in owed()
    posted = waooaw("render", "statuspage", INC, "--post", "--record", env={**env, **LATER})
    assert posted.code == 0 and len(hook.bodies) == 1
    [sent] = waooaw("show", INC, "--json").json()["communications"]
    assert (sent["template"], sent["audience"], sent["channel"], sent["via"]) == (
        "statuspage/investigating", "internal", "#incidents", "slack-webhook"
    )  # fmt: skip
    assert "customer_comms" in owed()  # no customer saw it
    # a status page updated by hand, and recorded as such, does reach customers
    waooaw("comms", "sent", INC, "statuspage/investigating", env=LATER)
    assert "customer_comms" not in owed()


# -- copying ------------------------------------------------------------------------------


def test_copy_without_any_clipboard_fails_but_still_prints(waooaw):
    if any(shutil.which(t) for t in ("pbcopy", "clip.exe")):
        pytest.skip("a clipboard tool that needs no display is installed here")
    _declare(waooaw)
    result = waooaw("render", "slack/declared", INC, "--copy", ok=False, env=NO_CLIPBOARD)
    assert result.code == 1 and result.out.startswith("🚨 INCIDENT DECLARED 🚨")
    assert result.err.startswith("error: could not copy: no clipboard tool found")
    assert "hint: " in result.err


@pytest.fixture
def xvfb_display():
    if not (shutil.which("Xvfb") and shutil.which("xclip")):
        pytest.skip("Xvfb and xclip are not installed (.ci/run installs them)")
    for number in range(93, 140):
        if (
            not Path(f"/tmp/.X{number}-lock").exists()
            and not Path(f"/tmp/.X11-unix/X{number}").exists()
        ):
            break
    else:
        pytest.skip("no free X display number")
    server = subprocess.Popen(
        ["Xvfb", f":{number}", "-nolisten", "tcp", "-screen", "0", "640x480x24"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    socket = Path(f"/tmp/.X11-unix/X{number}")
    deadline = time.monotonic() + 20
    while not socket.exists() and server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not socket.exists():
        server.kill()
        pytest.fail("Xvfb did not start")
    yield f":{number}"
    server.terminate()
    server.wait(10)


def test_copy_puts_the_message_on_a_real_x_clipboard(waooaw, xvfb_display):
    env = {**NO_CLIPBOARD, "DISPLAY": xvfb_display}
    declared = _declare(waooaw, "--copy", title=NASTY + " ünïcode", env=env)
    copied = declared.out.rstrip("\n")
    assert "copied slack/declared to the clipboard via xclip" in declared.err
    clipboard = subprocess.run(
        ["xclip", "-o", "-selection", "clipboard"],
        env={**os.environ, **env},
        capture_output=True,
        timeout=10,
        check=True,
    ).stdout.decode("utf-8")
    assert clipboard == copied
    # render copies the format it shows
    waooaw("render", "statuspage", INC, "--copy", env={**env, **NOW})
    clipboard = subprocess.run(
        ["xclip", "-o", "-selection", "clipboard"],
        env={**os.environ, **env},
        capture_output=True,
        timeout=10,
        check=True,
    ).stdout.decode("utf-8")
    assert clipboard.startswith("Investigating: We are currently investigating")


@pytest.mark.process
def test_on_a_terminal_over_ssh_copy_uses_osc52_and_shows_a_panel(waooaw):
    pexpect = pytest.importorskip("pexpect")
    _declare(waooaw)
    expected = waooaw("render", "slack/declared", INC, env=NOW).out.rstrip("\n")
    env = {**os.environ, **NOW, "SSH_TTY": "/dev/pts/9", "TERM": "xterm", "DISPLAY": ""}
    child = pexpect.spawn(
        str(BIN),
        ["--repo", str(waooaw.repo), "render", "slack/declared", INC, "--copy"],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(60, 120),
    )
    child.expect(pexpect.EOF)
    child.close()
    screen = child.before
    assert child.exitstatus == 0, screen
    match = re.search(r"\x1b\]52;c;([A-Za-z0-9+/=]+)\x07", screen)
    assert match, screen
    assert base64.b64decode(match.group(1)).decode("utf-8") == expected
    assert "╭" in screen and "slack/declared · INC-2026-02-12-001" in screen
    assert "hint: --copy copies it" in screen
    assert "copied slack/declared to the clipboard via OSC 52" in screen


def test_a_pasted_message_is_as_typed_and_the_posted_one_is_escaped(waooaw, webhook_env):
    """Printed and copied text is for a person to paste (Slack's client escapes it), so
    it carries no entity; the webhook gets the escaped mrkdwn, so nothing can ping."""
    hook, env = webhook_env()
    _declare(waooaw)
    waooaw("update", INC, "--severity", "P3", "-m", "<!channel> x & y", env=LATER)
    posted = waooaw("render", "slack/update", INC, "--post", env={**env, **LATER})
    assert "- Severity P1 -> P3: <!channel> x & y" in posted.out
    assert "&gt;" not in posted.out and "&lt;" not in posted.out
    [body] = hook.bodies
    assert "Severity P1 -&gt; P3: &lt;!channel&gt; x &amp; y" in body["text"]
    assert "<!channel>" not in json.dumps(body)
