"""A threaded HTTP server on 127.0.0.1:0 for the fake APIs, with a request log and faults.

Every request is logged (`server.log`) with what the server did with it (`effect`: ""
when nothing changed on the server). A test then asserts "each message delivered at
most once, and exactly once after recovery" on the effects, not on the requests.

Faults are queued (`server.fail(Fault...)`), each for the next request matching it:

- `Fault.answer(500)`: answer that status, change nothing (the body given, or the
  server's own `error(status)`);
- `Fault.rate_limited(retry_after=1)`: the API's 429 with Retry-After, change nothing;
- `Fault.hang(apply=True)`: read the whole request, carry it out (or not, with
  apply=False), then never answer: the client times out after sending, in doubt;
- `Fault.drop(apply=True)`: read it, maybe carry it out, close the connection unanswered.

`server.refuse()` stops listening (connection refused) and `server.recover()` listens
again on the same port. `free_port()` is a port nothing listens on, for the other fake
servers (SMTP) and for a refused connection on a port never served.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    """One request as the server read it, and what became of it."""

    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float = field(default_factory=time.time)
    status: int = 0  # the status answered; 0: no answer (a fault)
    fault: str = ""  # the fault applied to it, if any
    effect: str = ""  # what it changed on the server ("" nothing)

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8")) if self.body else None
        except ValueError:
            return None

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-encoded unless bytes
    headers: dict[str, str] = field(default_factory=dict)
    effect: str = ""


@dataclass
class Fault:
    kind: str  # "status", "rate_limited", "hang", "drop"
    status: int = 0
    body: Any = None
    retry_after: float = 1
    apply: bool = False
    match: Callable[[Request], bool] | None = None

    @classmethod
    def answer(cls, status: int, body: Any = None, **kw: Any) -> Fault:
        return cls("status", status=status, body=body, **kw)

    @classmethod
    def rate_limited(cls, retry_after: float = 1, **kw: Any) -> Fault:
        return cls("rate_limited", status=429, retry_after=retry_after, **kw)

    @classmethod
    def hang(cls, apply: bool = True, **kw: Any) -> Fault:
        return cls("hang", apply=apply, **kw)

    @classmethod
    def drop(cls, apply: bool = True, **kw: Any) -> Fault:
        return cls("drop", apply=apply, **kw)


def free_port() -> int:
    """A port nothing listens on now (a refused connection, or a server to start)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FakeHTTPServer:
    """Subclasses implement `handle(request) -> Response`, and may give their service's
    own `rate_limited(retry_after)` and `error(status)` answers."""

    name = "fake"

    def __init__(self) -> None:
        self.log: list[Request] = []
        self.faults: list[Fault] = []
        self._lock = threading.RLock()
        self._release = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self.port = 0
        self._start()

    # -- life ----------------------------------------------------------------------------

    def _start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _any(self) -> None:
                owner._serve(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

        httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        httpd.daemon_threads = True
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._release.clear()
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()  # fmt: skip

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def refuse(self) -> None:
        """Stop listening: the next connection is refused (the port stays ours to reuse)."""
        if self._httpd is not None:
            self._release.set()
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def recover(self) -> None:
        """Listen again, on the same port, with the same state."""
        with self._lock:
            self.faults.clear()
        if self._httpd is None:
            self._start()

    def release(self) -> None:
        """Let every hanging request end (closed, unanswered)."""
        self._release.set()

    def close(self) -> None:
        self.refuse()

    def __enter__(self) -> FakeHTTPServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- faults and the log --------------------------------------------------------------

    def fail(self, fault: Fault, times: int = 1) -> None:
        with self._lock:
            self.faults.extend([fault] * times)

    def effects(self, prefix: str = "") -> list[str]:
        with self._lock:
            return [r.effect for r in self.log if r.effect and r.effect.startswith(prefix)]

    def requests(self, method: str | None = None, path: str | None = None) -> list[Request]:
        with self._lock:
            return [
                r
                for r in self.log
                if (method is None or r.method == method)
                and (path is None or r.path == path or r.path.endswith(path))
            ]

    def _take_fault(self, request: Request) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self.faults):
                if fault.match is None or fault.match(request):
                    return self.faults.pop(i)
        return None

    # -- serving -------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError

    def rate_limited(self, retry_after: float) -> Response:
        return Response(429, {"error": "rate limited"}, {"Retry-After": f"{retry_after:g}"})

    def error(self, status: int) -> Response:
        """The answer to `Fault.answer(status)` without a body of its own."""
        return Response(status)

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urllib.parse.urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = Request(
            handler.command,
            parts.path,
            urllib.parse.parse_qs(parts.query, keep_blank_values=True),
            {k.lower(): v for k, v in handler.headers.items()},
            body,
        )
        with self._lock:
            self.log.append(request)
        fault = self._take_fault(request)
        if fault is not None:
            request.fault = fault.kind
            if fault.kind == "status":
                if fault.body is None:
                    return self._answer(handler, request, self.error(fault.status))
                return self._answer(handler, request, Response(fault.status, fault.body))
            if fault.kind == "rate_limited":
                return self._answer(handler, request, self.rate_limited(fault.retry_after))
            if fault.apply:
                with self._lock:
                    request.effect = self.handle(request).effect
            if fault.kind == "hang":
                self._release.wait(60)
            handler.close_connection = True
            return None
        with self._lock:
            response = self.handle(request)
            request.effect = response.effect
        return self._answer(handler, request, response)

    def _answer(
        self, handler: BaseHTTPRequestHandler, request: Request, response: Response
    ) -> None:
        payload = response.body
        if payload is None:
            data = b""
        elif isinstance(payload, bytes):
            data = payload
        else:
            data = json.dumps(payload).encode("utf-8")
        request.status = response.status
        handler.send_response(response.status)
        headers = {"Content-Type": "application/json; charset=utf-8", **response.headers}
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(data)
        handler.close_connection = True
