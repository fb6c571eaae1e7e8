"""The social-media posts (`social/`): each example's wording, and no technical detail.

A social template receives only the public fields (domain/comms.py PUBLIC_FIELDS):
reading any other field of the message context is an error, and no public field
carries the incident's own text. Both are proved below with an incident whose every
technical field holds a unique marker.
"""

from __future__ import annotations

import pytest

from conftest import Cli, run_cli
from incidentctl.domain.comms import PUBLIC_FIELDS, public_context
from incidentctl.services.comms import message_context, render_message
from incidentctl.services.lookup import find_incident
from incidentctl.services.workspace import open_workspace
from incidentctl.templating.sandbox import TemplateError

STAGES = ("investigating", "identified", "monitoring", "resolved")


def marked_incident(repo, example: str, monkeypatch) -> str:
    """An incident whose technical fields each hold a marker: XTITLE, XSVC, XIMPACT, ..."""
    assert run_cli("init", str(repo), "--example", example).code == 0
    cli = Cli(repo)
    monkeypatch.setenv("INCIDENTCTL_NOW", "2026-02-12T14:23:00Z")
    cli(
        "declare", "XTITLE scheduler OOM", "-s", "P0", "--service", "XSVC-plant-scheduler",
        "--impact", "XIMPACT all goals", "--ic", "@XIC", "--responder", "@XRESP",
        "--runbook", "api-outage",
    )  # fmt: skip
    monkeypatch.setenv("INCIDENTCTL_NOW", "2026-02-12T16:00:00Z")
    cli("note", "-", "XNOTE kubectl logs show OOMKilled", "--kind", "finding", "--at", "14:30")
    cli("update", "-", "--status", "identified", "-m", "XCAUSE memory leak", "--at", "14:35")
    cli("mitigate", "-", "-m", "XMITIGATE rolled back", "--at", "14:50")
    cli(
        "resolve", "-", "--root-cause", "XROOT leak in v2.3.1", "--resolution", "XRES rollback",
        "--category", "XCAT",
    )  # fmt: skip
    return "INC-2026-02-12-001"


MARKERS = ("XTITLE", "XSVC", "XIMPACT", "XIC", "XRESP", "XNOTE", "XCAUSE", "XMITIGATE")
MARKERS += ("XROOT", "XRES", "XCAT", "kubectl", "api-outage", "plant")


@pytest.mark.parametrize(
    ("example", "words"),
    [
        ("waooaw", "We're aware of service issues"),  # Procedure 1: Post to Twitter/LinkedIn
        ("white-room", "Follow https://status.white-room.ai"),  # redirect to status page
    ],
)
def test_social_posts_hold_no_technical_detail(tmp_path, monkeypatch, example, words):
    repo = tmp_path / example
    inc = marked_incident(repo, example, monkeypatch)
    ws = open_workspace(str(repo))
    texts = {}
    for stage in STAGES:
        rendered = render_message(ws, "social", inc, fmt=None, stage=stage)
        texts[stage] = rendered.text
        assert rendered.template.split("/")[0] == "social"
        for marker in MARKERS:
            assert marker not in rendered.text, (stage, marker, rendered.text)
    assert words in texts["investigating"]
    assert all(t.strip() for t in texts.values())


def test_a_social_template_receives_only_the_public_fields(tmp_path, monkeypatch):
    """A team's own social template that reads any other field fails to render: the
    root cause, the services, the commands cannot reach a public post."""
    repo = tmp_path / "wr"
    inc = marked_incident(repo, "white-room", monkeypatch)
    ws = open_workspace(str(repo))
    state = find_incident(ws, inc).incident.state
    every = message_context(ws, state)
    assert set(public_context("social/resolved", every)) <= PUBLIC_FIELDS
    assert public_context("slack/update", every) is every  # other families: everything
    private = sorted(set(every) - PUBLIC_FIELDS)
    for name in ("root_cause", "services", "title", "summary", "impact", "runbook", "findings"):
        assert name in private
    folder = repo / "templates" / "social"
    folder.mkdir(parents=True)
    probe = folder / "probe.txt.j2"
    for name in private:
        probe.write_text(f"{{{{ {name} }}}}\n")
        with pytest.raises(TemplateError, match=f"'{name}' is undefined"):
            render_message(ws, "social/probe", inc, fmt=None)
    # every public field together: none carries the incident's text
    probe.write_text(
        "".join(f"{{{{ {name} }}}}\n" for name in sorted(PUBLIC_FIELDS - {"icon"}))
        + "{{ icon.values()|join(' ') }}\n"
    )
    text = render_message(ws, "social/probe", inc, fmt=None).text
    for marker in MARKERS:
        assert marker not in text
