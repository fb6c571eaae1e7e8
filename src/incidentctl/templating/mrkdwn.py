"""Slack mrkdwn: the escaping for `.slack` templates and `--format slack`.

Contract (Slack's "Escaping text", api.slack.com/reference/surfaces/formatting#escaping):
`&`, `<` and `>` become `&amp;`, `&lt;` and `&gt;`, and nothing else is entity-encoded.
A value then cannot open a control sequence: `<!channel>`, `<@U123>` or
`<https://x|label>` typed in a title is shown as typed and pings or links no one.
Control characters are replaced as for plain text. Slack has no escape for `*`, `_`,
`~` and `` ` ``: a value may still bold a word, as a Slack user typing it would.
`unescape_mrkdwn` undoes exactly this escaping (for Block Kit's plain_text fields).
"""

from __future__ import annotations

from incidentctl.templating.plain import escape_text


def escape_mrkdwn(text: str) -> str:
    return escape_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape_mrkdwn(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
