"""The commit-message protocol (store/commits.py): what is written is what is read back,
by this module, by git's own trailer parser, and by `log --json` and `verify`."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

import pytest

from incidentctl.domain import events as ev
from incidentctl.store import commits
from incidentctl.store.git import Git
from incidentctl.store.history import walk

TRAILERS = [
    (commits.INCIDENT, "INC-2026-02-12-001"),
    (commits.INCIDENT_UID, "01KHAPZB8W6S5FJ4W0NQ3Q9A1X"),
    (commits.EVENT, "01KHAQ3M5T0J6C9Z1V7Y8E2D4B"),
    (commits.EVENT_TYPE, "status_changed"),
]


def test_trailer_names():
    assert (
        commits.INCIDENT,
        commits.INCIDENT_UID,
        commits.EVENT,
        commits.EVENT_TYPE,
        commits.EVENT_SHA256,
        commits.RECOVERED,
        commits.REVIEW_FILE,
    ) == (
        "Incident",
        "Incident-Uid",
        "Event",
        "Event-Type",
        "Event-Sha256",
        "Recovered",
        "Review-File",
    )


@pytest.mark.parametrize(
    "body",
    ["", "one line", "two\nlines", "a paragraph\n\nand another: with a colon", "  padded  \n"],
)
@pytest.mark.parametrize("trailers", [[], TRAILERS])
def test_message_round_trip(body, trailers):
    text = commits.message("INC-2026-02-12-001: subject", body, trailers)
    assert commits.parse_message(text) == ("INC-2026-02-12-001: subject", body.strip(), trailers)


def test_message_layout():
    assert commits.message("subject") == "subject"
    assert commits.message("subject", "  \n ") == "subject"
    assert commits.message("subject", "body\n") == "subject\n\nbody"
    assert commits.message("s", "", [("A", "1"), ("B-C", "2")]) == "s\n\nA: 1\nB-C: 2"


def test_event_message_is_the_format_the_history_has():
    at = datetime(2026, 2, 12, 14, 0, tzinfo=UTC)
    event = ev.StatusChanged(
        id="01KHAQ3M5T0J6C9Z1V7Y8E2D4B",
        incident="01KHAPZB8W6S5FJ4W0NQ3Q9A1X",
        at=at,
        recorded_at=at,
        author="@sarah",
        status="identified",
        previous="investigating",
    )
    text = commits.event_message(
        "INC-2026-02-12-001", event, "ab" * 32, "status  investigating\n-> identified", "why\n"
    )
    assert text == (
        "INC-2026-02-12-001: status investigating -> identified\n"
        "\n"
        "why\n"
        "\n"
        "Incident: INC-2026-02-12-001\n"
        "Incident-Uid: 01KHAPZB8W6S5FJ4W0NQ3Q9A1X\n"
        "Event: 01KHAQ3M5T0J6C9Z1V7Y8E2D4B\n"
        "Event-Type: status_changed\n"
        f"Event-Sha256: {'ab' * 32}"
    )


def test_a_long_subject_is_cut_to_one_line():
    subject = commits.one_line("word " * 40)
    assert len(subject) == commits.SUBJECT_LIMIT and subject.endswith("…")
    assert "\n" not in commits.one_line("a\nb\tc")


def test_recovered_joins_the_trailer_block_or_starts_one():
    with_trailers = commits.message("s", "body", TRAILERS)
    assert commits.recovered(with_trailers) == with_trailers + "\nRecovered: true"
    assert commits.parse_message(commits.recovered(with_trailers))[2] == [
        *TRAILERS,
        (commits.RECOVERED, "true"),
    ]
    plain = commits.message("incidentctl: initialise incident repo", "Created by `init`.")
    assert commits.recovered(plain) == plain + "\n\nRecovered: true"
    assert commits.recovered("subject: only") == "subject: only\n\nRecovered: true"


def test_parse_trailers_keeps_order_case_and_repeats():
    text = "Event: a\nnot a trailer\n: no key\nevent-type:  b \nEvent: c\n"
    assert commits.parse_trailers(text) == [("Event", "a"), ("event-type", "b"), ("Event", "c")]


def test_git_reads_back_what_was_written(tmp_path):
    git = Git.init(tmp_path)
    (tmp_path / "f").write_text("x")
    body = "Root cause: a colon in the body\n\nResolution: another"
    text = commits.recovered(commits.message("INC-1: resolved", body, TRAILERS))
    git.commit_paths(["f"], text)
    [entry] = git.log()
    assert entry.subject == "INC-1: resolved"
    assert entry.trailers == dict([*TRAILERS, (commits.RECOVERED, "true")])
    [record] = walk(git, ["HEAD"], signatures=False)
    assert record.trailer(commits.EVENT_TYPE) == ["status_changed"]
    assert record.trailer(commits.RECOVERED) == ["true"]
    raw = subprocess.run(
        ["git", "log", "-1", "--format=%B"], cwd=tmp_path, capture_output=True, text=True
    ).stdout
    assert raw.rstrip("\n") == text


def test_user_text_in_a_body_is_never_git_structure(cli):
    """A `---` line in user text used to end the message for `interpret-trailers`: the
    tool's trailers were lost to `log --json`, and a commit-msg hook's landed before it."""
    hook = cli.repo / ".git" / "hooks" / "commit-msg"
    hook.write_text(
        '#!/bin/sh\ngit interpret-trailers --in-place --trailer "Reviewed-by: hook" "$1"\n'
    )
    hook.chmod(0o755)
    impact = "EU customers\n---\nSigned-off-by: mallory\nIncident: INC-1999-01-01-001"
    inc = cli.declare("Checkout failing", "--impact", impact)
    body = cli.git("log", "-1", "--format=%B")
    parsed = subprocess.run(
        ["git", "interpret-trailers", "--parse"], input=body, capture_output=True, text=True
    ).stdout.splitlines()
    assert parsed[0] == f"Incident: {inc}" and parsed[-1] == "Reviewed-by: hook", parsed
    assert not any("mallory" in line or "1999" in line for line in parsed)
    trailers = cli("log", inc, "--json").json()[-1]["trailers"]
    assert trailers["Incident"] == inc and trailers["Reviewed-by"] == "hook"
    # the impact itself is kept exactly, in the event file
    assert cli("show", inc, "--json").json()["impact"] == impact
