"""Slack as a bot: the Web API, through `slack_sdk.WebClient` (base_url = [slack] api_url).

What a bot does for an incident (each a Prepared request, `request["method"]`):

- `conversations.create`: the war-room channel, named by `[incident] war_room`; a name
  already taken (`name_taken`) is the channel to reuse, found with `conversations.list`;
- `chat.postMessage`: the declaration in the incidents channel, with `metadata`
  {event_type, event_payload: {incident_uid, event_id, ...}}; every later message goes
  in the declaration's thread (`thread_ts`);
- `chat.update`: the declaration, rewritten once the incident is resolved.

Slack has no idempotency key, so at-most-once comes from the metadata: a post in doubt
is checked before anything is sent again (`confirm`): the channel's history
(`conversations.history`, or `conversations.replies` for a thread reply, which the
history leaves out) is read with `include_all_metadata` for a message whose metadata
has this delivery's event id; it is resent only if none is found. The client never
retries on its own (`retry_handlers=[]`: slack_sdk's default retries a reset
connection, which can post twice); a 429 waits out its Retry-After and is tried again,
because a rate-limited call was not carried out.

Outcomes: urllib raises `URLError` for what went wrong before the request was written
(DNS, a refused connection, a connect timeout): failed, safe to retry. Anything from
reading the answer (a read timeout, a reset, a closed connection), an HTTP 5xx or
Slack's `internal_error`/`fatal_error` (which Slack documents may have partly
succeeded) is in doubt. Any other `ok: false` is refused: failed.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from incidentctl.adapters.destinations import (
    DELIVERED,
    FAILED,
    IN_DOUBT,
    Destination,
    Job,
    Prepared,
    Result,
    Secret,
    unset_secret,
)

if TYPE_CHECKING:
    from incidentctl.domain.incident import IncidentState
    from incidentctl.domain.integrations import SlackSettings

EVENT_TYPE = "incidentctl_message"  # the metadata's event_type
POSTED = "slack_posted"
DECLARATION, UPDATE, RESOLUTION, WAR_ROOM = "declaration", "update", "resolution", "war_room"
# errors after which the call may have been carried out (Slack: "It's possible some
# aspect of the operation succeeded before the error was raised")
IN_DOUBT_ERRORS = ("internal_error", "fatal_error", "request_timeout", "service_unavailable")
MAX_RATE_RETRIES = 3
HISTORY_PAGES = 10  # how far back a check reads: 10 pages of 200 messages
HISTORY_SLACK_SECONDS = 600  # a check reads from this long before the message was prepared

_CHANNEL_OK = re.compile(r"[^a-z0-9_-]+")


# -- pure builders ------------------------------------------------------------------------


def channel_name(text: str) -> str:
    """A Slack channel name from the war-room text ("#incident-INC-2026-02-12-001"):
    lower case; letters, digits, '-' and '_' only; at most 80 characters."""
    name = _CHANNEL_OK.sub("-", text.strip().lstrip("#").lower()).strip("-")
    return name[:80] or "incident"


def metadata(state: IncidentState, event_id: str, kind: str, template: str) -> dict[str, Any]:
    """The message metadata that finds a message again (the in-doubt check)."""
    return {
        "event_type": EVENT_TYPE,
        "event_payload": {
            "incident_uid": state.uid,
            "incident": state.human_id,
            "event_id": event_id,
            "kind": kind,
            "template": template,
        },
    }


def message_payload(job: Job, text: str) -> dict[str, Any]:
    """{text, blocks}: the Block Kit payload the caller built (templating/blockkit.py's
    contract, in job.options["payload"]) or the mrkdwn text alone."""
    payload = job.options.get("payload")
    if isinstance(payload, dict) and payload.get("text"):
        return {k: payload[k] for k in ("text", "blocks") if k in payload}
    return {"text": text}


def resolved_text(text: str) -> str:
    """The declaration's new text once resolved: a first line that says so."""
    return f":white_check_mark: *RESOLVED*\n\n{text}"


def posts(state: IncidentState) -> list[Any]:
    return [e for e in state.timeline if getattr(e, "type", "") == POSTED]


def declaration(state: IncidentState) -> Any | None:
    """The slack_posted event of the declaration (the first one)."""
    return next((e for e in posts(state) if getattr(e, "kind", "") == DECLARATION), None)


def war_room_channel(state: IncidentState) -> Any | None:
    return next((e for e in posts(state) if getattr(e, "kind", "") == WAR_ROOM), None)


# -- the destination ----------------------------------------------------------------------


class SlackDestination(Destination):
    name = "slack"
    label = "Slack"
    section = "slack"
    audience = "internal"
    resend_safe = False

    def problems(self, settings: SlackSettings, secret: Secret) -> list[str]:
        from incidentctl.adapters.http import check_url

        found = []
        if problem := check_url(settings.api_url, "slack.api_url"):
            found.append(problem)
        if not settings.channel.strip():
            found.append('slack.channel: empty (the incidents channel, e.g. "#incidents")')
        if not secret(settings.token_env):
            found.append(
                unset_secret("slack.token_env", settings.token_env, "the bot token, xoxb-...")
            )
        return found

    def prepare(self, job: Job, settings: SlackSettings) -> Prepared:
        state = job.state
        kind = str(job.options.get("kind") or _kind_of(job))
        request: dict[str, Any] = {
            "uid": state.uid,
            "incident": state.human_id,
            "event_id": job.event_id,
            "kind": kind,
            "channel": settings.channel,
            "prepared_at": job.now.timestamp(),
        }
        if kind == WAR_ROOM:
            from incidentctl.domain.wording import war_room

            incident = job.config.incident
            text = war_room(incident.war_room, state, incident.id_format, incident.id_seq_width)
            name = channel_name(job.target or text)
            request.update(method="conversations.create", args={"name": name})
            summary, target = f"create channel #{name}", f"#{name}"
        elif kind == RESOLUTION:
            found = declaration(state)
            payload = message_payload(job, job.text)  # the caller wrote resolved_text()
            args = {**payload}
            if found is not None:
                args.update(channel=found.channel_id, ts=found.ts)
            request.update(method="chat.update", args=args)
            summary, target = "update the declaration: resolved", settings.channel
        else:
            payload = message_payload(job, job.text)
            args = {
                "channel": settings.channel,
                **payload,
                "metadata": metadata(state, job.event_id, kind, job.template),
                "unfurl_links": False,
            }
            found = declaration(state)
            if kind != DECLARATION and found is not None:
                args.update(channel=found.channel_id, thread_ts=found.ts)
            request.update(method="chat.postMessage", args=args)
            where = "in the declaration's thread" if kind != DECLARATION else settings.channel
            summary, target = f"post {job.template or kind} {where}", settings.channel
        return Prepared(
            destination=self.name,
            action=job.action or "post",
            key=job.event_id,
            request=request,
            secrets={"token": settings.token_env},
            summary=summary,
            target=target,
            stream=f"slack:{state.uid}",
        )

    def bind(self, prepared: Prepared, state: IncidentState) -> Prepared:
        """Right before sending: a reply or an update prepared before the declaration was
        delivered goes to the declaration the record now holds."""
        request = prepared.request
        kind, args = request.get("kind"), dict(request.get("args") or {})
        found = declaration(state)
        if found is None:
            return prepared
        if (
            request.get("method") == "chat.postMessage"
            and kind != DECLARATION
            and "thread_ts" not in args
        ):
            args.update(channel=found.channel_id, thread_ts=found.ts)
        elif request.get("method") == "chat.update" and "ts" not in args:
            args.update(channel=found.channel_id, ts=found.ts)
        else:
            return prepared
        return replace(prepared, request={**request, "args": args})

    # -- the client -------------------------------------------------------------------

    def _client(self, settings: SlackSettings, token: str) -> Any:
        from slack_sdk import WebClient

        timeout = int(max(1, round(settings.timeout.total_seconds() or 10)))
        return WebClient(
            token=token,
            base_url=settings.api_url.rstrip("/") + "/",
            timeout=timeout,
            retry_handlers=[],  # never resend on its own: a reset may follow a post
        )

    def _call(
        self, client: Any, method: str, args: dict[str, Any], *, read: bool = False
    ) -> dict[str, Any]:
        """Call `method`; return Slack's answer (ok or not). A 429 is waited out and
        tried again. Raises _NotSent or _NoAnswer."""
        import urllib.error

        from slack_sdk.errors import SlackApiError

        from incidentctl.adapters.http import MAX_RETRY_AFTER, retry_after

        for attempt in range(MAX_RATE_RETRIES + 1):
            try:
                if read:
                    response = client.api_call(method, http_verb="GET", params=args)
                elif method == "conversations.create":
                    response = client.api_call(method, params=args)
                else:
                    response = client.api_call(method, json=args)
                return {"status": response.status_code, **dict(response.data)}
            except SlackApiError as exc:
                answer = exc.response
                status = int(getattr(answer, "status_code", 0) or 0)
                data = answer.data if isinstance(getattr(answer, "data", None), dict) else {}
                if status == 429 and attempt < MAX_RATE_RETRIES:
                    headers = {k.lower(): v for k, v in dict(answer.headers or {}).items()}
                    value = headers.get("retry-after", "")
                    wait = retry_after(value[0] if isinstance(value, list) else str(value))
                    if wait <= MAX_RETRY_AFTER:
                        time.sleep(wait)
                        continue
                return {
                    "status": status,
                    "ok": False,
                    **data,
                    "error": data.get("error") or f"HTTP {status}",
                }
            except urllib.error.URLError as exc:  # before the request was written
                raise _NotSent(f"cannot reach the Slack API: {_why(exc.reason)}") from None
            except (OSError, ValueError) as exc:  # while reading the answer
                raise _NoAnswer(f"sent, but no answer: {_why(exc)} (it may have arrived)") from None
            except Exception as exc:  # http.client.HTTPException and the like
                raise _NoAnswer(f"sent, but no answer: {_why(exc)} (it may have arrived)") from None
        raise AssertionError("unreachable")

    def send(self, prepared: Prepared, settings: SlackSettings, secret: Secret) -> Result:
        token = secret(prepared.secrets.get("token", settings.token_env))
        client = self._client(settings, token)
        request = prepared.request
        method, args = request["method"], dict(request.get("args") or {})
        if method == "chat.update" and not args.get("ts"):
            return Result(FAILED, "the declaration was never posted by the bot: nothing to update")
        try:
            answer = self._call(client, method, args)
            if method == "conversations.create" and answer.get("error") == "name_taken":
                existing = self._find_channel(client, args["name"])
                if existing is None:
                    return Result(
                        FAILED, f"#{args['name']} exists but the bot cannot see it (invite it)"
                    )
                return Result(DELIVERED, "reused", 200, {"channel_id": existing["id"], "channel": f"#{existing['name']}", "ts": str(existing.get("created", "")), "reused": True})  # fmt: skip
        except _NoAnswer as exc:
            return Result(IN_DOUBT, str(exc))
        except _NotSent as exc:
            return Result(FAILED, str(exc))
        return self.classify(prepared, answer)

    def classify(self, prepared: Prepared, answer: dict[str, Any]) -> Result:
        status = int(answer.get("status") or 0)
        method = prepared.request["method"]
        if answer.get("ok"):
            if method == "conversations.create":
                channel = answer.get("channel") or {}
                return Result(DELIVERED, "created", status, {"channel_id": str(channel.get("id", "")), "channel": f"#{channel.get('name', '')}", "ts": str(channel.get("created", ""))})  # fmt: skip
            found = {
                "channel_id": str(answer.get("channel", "")),
                "ts": str(answer.get("ts", "")),
                "thread_ts": str(prepared.request.get("args", {}).get("thread_ts", "")),
            }
            return Result(DELIVERED, "ok", status, found)
        error = str(answer.get("error") or "unknown error")
        detail = f"Slack answered {error}" + (
            f" (HTTP {status})" if status and status != 200 else ""
        )
        if status >= 500 or error in IN_DOUBT_ERRORS:
            return Result(IN_DOUBT, detail + " (it may have arrived)", status)
        hint = {
            "invalid_auth": "check the bot token",
            "not_authed": "check the bot token",
            "channel_not_found": "check slack.channel, and invite the bot",
            "not_in_channel": "invite the bot to the channel",
            "ratelimited": "try again later",
        }.get(error)
        return Result(FAILED, detail + (f": {hint}" if hint else ""), status)

    def _find_channel(self, client: Any, name: str) -> dict[str, Any] | None:
        cursor = ""
        for _ in range(50):
            args: dict[str, Any] = {
                "types": "public_channel,private_channel",
                "exclude_archived": True,
                "limit": 200,
            }
            if cursor:
                args["cursor"] = cursor
            answer = self._call(client, "conversations.list", args, read=True)
            if not answer.get("ok"):
                return None
            for channel in answer.get("channels") or []:
                if channel.get("name") == name:
                    return channel
            cursor = str((answer.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return None
        return None

    def confirm(self, prepared: Prepared, settings: SlackSettings, secret: Secret) -> bool | None:
        """An in-doubt request: did it arrive? A post is looked for by its metadata's
        event id in the channel's history (a thread reply: in the thread); creating
        the channel and updating the declaration are the same when repeated, so they
        are simply sent again (False). None: the history cannot be read."""
        request = prepared.request
        if request["method"] != "chat.postMessage":
            return False
        token = secret(prepared.secrets.get("token", settings.token_env))
        client = self._client(settings, token)
        args = request.get("args") or {}
        try:
            channel_id = str(args.get("channel", ""))
            if not _is_id(channel_id):
                channel = self._find_channel(client, channel_id.lstrip("#"))
                if channel is None:
                    return None
                channel_id = channel["id"]
            found = self._find_message(client, channel_id, args.get("thread_ts"), request)
        except (_NoAnswer, _NotSent):
            return None
        if found is None:
            return None
        if found:
            request["found"] = {
                "channel_id": channel_id,
                **found,
                "thread_ts": str(args.get("thread_ts", "")),
            }
            return True
        return False

    def _find_message(self, client: Any, channel_id: str, thread_ts: Any, request: dict[str, Any]) -> dict[str, Any] | None:  # fmt: skip
        """{"ts": ...} of the message with this event id, {} when it is not there, None
        when the history cannot be read."""
        event_id = request.get("event_id")
        cursor = ""
        oldest = max(0.0, float(request.get("prepared_at") or 0) - HISTORY_SLACK_SECONDS)
        for _ in range(HISTORY_PAGES):
            if thread_ts:
                args: dict[str, Any] = {"channel": channel_id, "ts": thread_ts, "include_all_metadata": True, "limit": 200}  # fmt: skip
                method = "conversations.replies"
            else:
                args = {
                    "channel": channel_id,
                    "include_all_metadata": True,
                    "limit": 200,
                    "oldest": f"{oldest:.6f}",
                }
                method = "conversations.history"
            if cursor:
                args["cursor"] = cursor
            answer = self._call(client, method, args, read=True)
            if not answer.get("ok"):
                return None
            for message in answer.get("messages") or []:
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                if payload.get("event_id") == event_id:
                    return {"ts": str(message.get("ts", ""))}
            cursor = str((answer.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor or not answer.get("has_more", True):
                return {}
        return None  # read as far as it goes and still more: cannot tell

    def probe(self, settings: SlackSettings, secret: Secret) -> str:
        """auth.test: the token works. Posts nothing."""
        client = self._client(settings, secret(settings.token_env))
        try:
            answer = self._call(client, "auth.test", {}, read=True)
        except (_NoAnswer, _NotSent) as exc:
            return f"{exc} (check slack.api_url)"
        if answer.get("ok"):
            return ""
        return f"auth.test answered {answer.get('error')}: check the token in ${settings.token_env}"

    def dry_run(self, prepared: Prepared, settings: SlackSettings, secret: Secret) -> str:
        """The exact request slack_sdk sends, the token masked."""
        from incidentctl.adapters.http import mask

        token = secret(prepared.secrets.get("token", settings.token_env))
        method, args = prepared.request["method"], prepared.request.get("args") or {}
        url = settings.api_url.rstrip("/") + "/" + method
        lines = [f"POST {url}", "Authorization: Bearer " + (token or f"${settings.token_env}")]
        if method == "conversations.create":
            import urllib.parse

            lines += [
                "Content-Type: application/x-www-form-urlencoded",
                "",
                urllib.parse.urlencode(args),
            ]
        else:
            lines += [
                "Content-Type: application/json;charset=utf-8",
                "",
                json.dumps(args, indent=2, ensure_ascii=False),
            ]
        if method == "chat.update" and not args.get("ts"):
            lines.append("(the declaration's channel and ts are filled in when it has been posted)")
        return mask("\n".join(lines), [token])

    def events(self, prepared: Prepared, result: Result) -> list[dict[str, Any]]:
        """Where the message is (slack_posted): later posts go in the declaration's
        thread, the resolution updates it. A chat.update records nothing of its own."""
        if result.outcome != DELIVERED:
            return []
        request = prepared.request
        if request["method"] == "chat.update":
            return []
        found = {**(request.get("found") or {}), **(result.response or {})}
        channel_id, ts = str(found.get("channel_id") or ""), str(found.get("ts") or "")
        if not channel_id or not ts:
            return []
        channel = str(found.get("channel") or request.get("channel") or "")
        return [
            {
                "type": POSTED,
                "channel": channel,
                "channel_id": channel_id,
                "ts": ts,
                "thread_ts": str(found.get("thread_ts") or ""),
                "kind": str(request.get("kind") or ""),
                "message_event": str(request.get("event_id") or ""),
            }
        ]


class _NotSent(Exception):
    pass


class _NoAnswer(Exception):
    pass


def _kind_of(job: Job) -> str:
    if job.action == "war_room":
        return WAR_ROOM
    if job.action == "resolve_declaration":
        return RESOLUTION
    return DECLARATION if job.template.endswith("/declared") else UPDATE


def _is_id(channel: str) -> bool:
    return bool(re.fullmatch(r"[CGD][A-Z0-9]{6,}", channel))


def _why(exc: Any) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = getattr(exc, "strerror", None) or str(exc)
    return text or type(exc).__name__


DESTINATION = SlackDestination()
