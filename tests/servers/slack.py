"""A fake Slack Web API: the methods a bot posting incident messages uses.

    POST {base}/api/<method>   (arguments as JSON, a form, or the query string)

- auth.test: who the token is;
- conversations.create (name): a channel; `name_taken` if one exists by that name
  (names: lowercase letters, digits, '-' and '_', at most 80: else `invalid_name_specials`);
- conversations.list (types, exclude_archived, limit, cursor): channels, paginated with
  `response_metadata.next_cursor`;
- chat.postMessage (channel as an ID or a name, text, blocks, thread_ts, metadata
  {event_type, event_payload}): {ok, channel, ts, message};
- chat.update (channel ID, ts, text, blocks): {ok, channel, ts, text, message};
- conversations.history (channel ID, limit, include_all_metadata): the channel's
  messages, newest first; thread replies are not in it (as in Slack), only their parent;
- conversations.replies (channel ID, ts, include_all_metadata): a thread, parent first.

The shapes are Slack's: HTTP 200 and {"ok": true, ...}, or {"ok": false, "error":
"..."} for a refused call (invalid_auth, channel_not_found, ...); a rate-limited call is
HTTP 429 with Retry-After and {"ok": false, "error": "ratelimited"}. A message's
`metadata` is returned only with include_all_metadata.

Effects in the log: "channel <id> <name>", "post <channel id> <ts> <event id>" (the
event id from the metadata's event_payload, "-" without), "update <channel id> <ts>".
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import time
import urllib.parse
from typing import Any

from servers.httpbase import FakeHTTPServer, Request, Response

_NAME = re.compile(r"^[a-z0-9_-]{1,80}$")


class SlackServer(FakeHTTPServer):
    name = "slack"

    def __init__(
        self, *, token: str = "xoxb-test-token", channels: tuple[str, ...] = ("incidents",)
    ) -> None:
        self.token = token
        self.team_id, self.bot_user, self.bot_id = "T0TEST0001", "U0BOT00001", "B0BOT00001"
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}  # channel id -> oldest first
        self._ids = itertools.count(1)
        self._ts = 0.0
        for name in channels:
            self._new_channel(name)
        super().__init__()

    @property
    def api_url(self) -> str:
        return f"{self.base}/api"

    def config(self, timeout: str = "") -> str:
        """The [slack] table of an incidentctl.toml that posts here, the token in
        $BOT_TOKEN (a timeout line when one is given)."""
        return (
            f'\n[slack]\napi_url = "{self.api_url}"\ntoken_env = "BOT_TOKEN"\n'
            + 'channel = "#incidents"\n'
            + (f'timeout = "{timeout}"\n' if timeout else "")
        )

    # -- what the tests look at ----------------------------------------------------------

    def channel_id(self, name: str) -> str:
        name = name.lstrip("#")
        return next(c["id"] for c in self.channels.values() if c["name"] == name)

    def posts(self) -> list[dict[str, Any]]:
        """Every message posted (top level and replies), in the order they were posted."""
        found = [m for msgs in self.messages.values() for m in msgs]
        return sorted(found, key=lambda m: float(m["ts"]))

    def posts_of_event(self, event_id: str) -> list[dict[str, Any]]:
        return [
            m
            for m in self.posts()
            if (m.get("metadata") or {}).get("event_payload", {}).get("event_id") == event_id
        ]

    # -- the API -------------------------------------------------------------------------

    def rate_limited(self, retry_after: float) -> Response:
        return Response(
            429, {"ok": False, "error": "ratelimited"}, {"Retry-After": f"{retry_after:g}"}
        )

    def handle(self, request: Request) -> Response:
        if not request.path.startswith("/api/"):
            return Response(404, b"Not Found", {"Content-Type": "text/plain"})
        method = request.path[len("/api/") :]
        args = self._arguments(request)
        auth = request.header("Authorization")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else str(args.get("token", ""))
        if not token:
            return self._error("not_authed")
        if token != self.token:
            return self._error("invalid_auth")
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return self._error("unknown_method")
        return handler(args)

    def _arguments(self, request: Request) -> dict[str, Any]:
        args: dict[str, Any] = {k: v[-1] for k, v in request.query.items()}
        ctype = request.header("Content-Type")
        if ctype.startswith("application/json"):
            data = request.json
            if isinstance(data, dict):
                args.update(data)
        elif ctype.startswith("application/x-www-form-urlencoded") and request.body:
            form = urllib.parse.parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
            args.update({k: v[-1] for k, v in form.items()})
        for name in ("blocks", "metadata"):  # a form sends them as JSON text
            if isinstance(args.get(name), str) and args[name]:
                try:
                    args[name] = json.loads(args[name])
                except ValueError:
                    args[name] = None
        return args

    @staticmethod
    def _error(error: str, **more: Any) -> Response:
        return Response(200, {"ok": False, "error": error, **more})

    @staticmethod
    def _true(value: Any) -> bool:
        return value is True or str(value).lower() in ("1", "true")

    def _next_ts(self) -> str:
        self._ts = max(time.time(), self._ts + 0.000001)
        return f"{self._ts:.6f}"

    def _new_channel(self, name: str) -> dict[str, Any]:
        cid = f"C{next(self._ids):09d}"
        channel = {
            "id": cid,
            "name": name,
            "name_normalized": name,
            "is_channel": True,
            "is_private": False,
            "is_archived": False,
            "is_member": True,
            "created": int(time.time()),
            "creator": self.bot_user,
        }
        self.channels[cid] = channel
        self.messages[cid] = []
        return channel

    def _channel(self, ref: Any, *, by_name: bool) -> dict[str, Any] | None:
        ref = str(ref or "")
        if ref in self.channels:
            return self.channels[ref]
        if by_name:
            name = ref.lstrip("#")
            for channel in self.channels.values():
                if channel["name"] == name:
                    return channel
        return None

    def _public(self, message: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
        shown = {k: v for k, v in message.items() if k != "metadata" or with_metadata}
        if not with_metadata:
            shown.pop("metadata", None)
        return shown

    # -- methods -------------------------------------------------------------------------

    def _m_auth_test(self, args: dict[str, Any]) -> Response:
        return Response(
            200,
            {
                "ok": True,
                "url": "https://test-workspace.slack.com/",
                "team": "Test Workspace",
                "user": "incidentbot",
                "team_id": self.team_id,
                "user_id": self.bot_user,
                "bot_id": self.bot_id,
            },
        )

    def _m_conversations_create(self, args: dict[str, Any]) -> Response:
        name = str(args.get("name", ""))
        if not name:
            return self._error("invalid_name_required")
        if not _NAME.match(name):
            return self._error("invalid_name_specials")
        if any(c["name"] == name for c in self.channels.values()):
            return self._error("name_taken")
        channel = self._new_channel(name)
        return Response(
            200, {"ok": True, "channel": channel}, effect=f"channel {channel['id']} {name}"
        )

    def _m_conversations_list(self, args: dict[str, Any]) -> Response:
        types = str(args.get("types", "public_channel")).split(",")
        found = [
            c
            for c in self.channels.values()
            if ("private_channel" if c["is_private"] else "public_channel") in types
            and not (self._true(args.get("exclude_archived")) and c["is_archived"])
        ]
        limit = max(1, min(int(args.get("limit", 100) or 100), 1000))
        start = int(base64.b64decode(args["cursor"]).decode()) if args.get("cursor") else 0
        page = found[start : start + limit]
        more = start + limit < len(found)
        cursor = base64.b64encode(str(start + limit).encode()).decode() if more else ""
        return Response(
            200, {"ok": True, "channels": page, "response_metadata": {"next_cursor": cursor}}
        )

    def _m_chat_postMessage(self, args: dict[str, Any]) -> Response:
        channel = self._channel(args.get("channel"), by_name=True)
        if channel is None:
            return self._error("channel_not_found")
        if channel["is_archived"]:
            return self._error("is_archived")
        text, blocks = args.get("text"), args.get("blocks")
        if not text and not blocks:
            return self._error("no_text")
        metadata = args.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict)
            or not isinstance(metadata.get("event_type"), str)
            or not isinstance(metadata.get("event_payload"), dict)
        ):
            return self._error("invalid_metadata_format")
        messages = self.messages[channel["id"]]
        thread_ts = args.get("thread_ts")
        parent = None
        if thread_ts:
            parent = next((m for m in messages if m["ts"] == thread_ts), None)
            if parent is None:
                return self._error("thread_not_found")
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user,
            "bot_id": self.bot_id,
            "app_id": "A0APP00001",
            "text": text or "",
            "ts": self._next_ts(),
            "team": self.team_id,
        }
        if blocks:
            message["blocks"] = blocks
        if thread_ts:
            message["thread_ts"] = thread_ts
            assert parent is not None
            parent.setdefault("thread_ts", parent["ts"])
            parent["reply_count"] = parent.get("reply_count", 0) + 1
        if metadata is not None:
            message["metadata"] = metadata
        messages.append(message)
        event = (metadata or {}).get("event_payload", {}).get("event_id", "-")
        return Response(
            200,
            {
                "ok": True,
                "channel": channel["id"],
                "ts": message["ts"],
                "message": self._public(message, False),
            },
            effect=f"post {channel['id']} {message['ts']} {event}",
        )

    def _m_chat_update(self, args: dict[str, Any]) -> Response:
        channel = self._channel(args.get("channel"), by_name=False)
        if channel is None:
            return self._error("channel_not_found")
        message = next((m for m in self.messages[channel["id"]] if m["ts"] == args.get("ts")), None)
        if message is None:
            return self._error("message_not_found")
        if "text" in args:
            message["text"] = args["text"]
        if "blocks" in args:
            message["blocks"] = args["blocks"]
        if isinstance(args.get("metadata"), dict):
            message["metadata"] = args["metadata"]
        message["edited"] = {"user": self.bot_user, "ts": self._next_ts()}
        return Response(
            200,
            {
                "ok": True,
                "channel": channel["id"],
                "ts": message["ts"],
                "text": message["text"],
                "message": self._public(message, False),
            },
            effect=f"update {channel['id']} {message['ts']}",
        )

    def _m_conversations_history(self, args: dict[str, Any]) -> Response:
        channel = self._channel(args.get("channel"), by_name=False)
        if channel is None:
            return self._error("channel_not_found")
        with_metadata = self._true(args.get("include_all_metadata"))
        top = [m for m in self.messages[channel["id"]] if m.get("thread_ts", m["ts"]) == m["ts"]]
        newest_first = list(reversed(top))
        limit = max(1, min(int(args.get("limit", 100) or 100), 999))
        shown = [self._public(m, with_metadata) for m in newest_first[:limit]]
        return Response(
            200,
            {
                "ok": True,
                "messages": shown,
                "has_more": len(newest_first) > limit,
                "response_metadata": {"next_cursor": ""},
            },
        )

    def _m_conversations_replies(self, args: dict[str, Any]) -> Response:
        channel = self._channel(args.get("channel"), by_name=False)
        if channel is None:
            return self._error("channel_not_found")
        ts = str(args.get("ts", ""))
        thread = [
            m for m in self.messages[channel["id"]] if m["ts"] == ts or m.get("thread_ts") == ts
        ]
        if not thread:
            return self._error("thread_not_found")
        with_metadata = self._true(args.get("include_all_metadata"))
        return Response(
            200,
            {
                "ok": True,
                "messages": [self._public(m, with_metadata) for m in thread],
                "has_more": False,
                "response_metadata": {"next_cursor": ""},
            },
        )
