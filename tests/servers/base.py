"""A threaded HTTP server on 127.0.0.1 speaking JSON, for the destination tests.

Subclass `JsonServer` and implement `handle(method, path, headers, body) -> (status,
body)` with the service's documented behaviour. Every request read is appended to
`log` (before any answer). `script` scripts the next requests, one item each:

    "ok"                 handle it normally
    500, 400, ...        answer that status with `error_body(status)`
    (429, "2")           answer 429 with Retry-After: 2
    "silent"             read the whole request, then never answer (a client timeout:
                         in doubt); the request was still *handled* when
                         `silent_handles` is true (the service acted, the answer was lost)
    "close"              read the request and close the connection without answering
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JsonServer:
    silent_handles = True  # a silent answer still acts, like a service whose reply was lost

    def __init__(self) -> None:
        self.log: list[dict[str, Any]] = []
        self.script: list[Any] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                outer.answer(self, self.command, self.path, dict(self.headers), body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    # -- to implement ----------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict, body: Any) -> tuple[int, Any]:
        raise NotImplementedError

    def error_body(self, status: int) -> Any:
        return {"error": f"HTTP {status}"}

    # -- the machinery -----------------------------------------------------------------

    def answer(self, h: BaseHTTPRequestHandler, method: str, path: str, headers, body) -> None:
        with self.lock:
            self.log.append({"method": method, "path": path, "headers": headers, "body": body})
            step = self.script.pop(0) if self.script else "ok"
            if step == "ok" or (step == "silent" and self.silent_handles):
                status, reply = self.handle(method, path, headers, body)
            extra: dict[str, str] = {}
            if isinstance(step, tuple):
                status, extra = step[0], {"Retry-After": str(step[1])}
                reply = self.error_body(status)
            elif isinstance(step, int):
                status, reply = step, self.error_body(step)
        if step == "silent":
            self.release.wait(30)
            return
        if step == "close":
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        data = json.dumps(reply).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def free_port() -> int:
    """A port nothing listens on now (a refused connection, or a server to start)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def refused_url(path: str = "/") -> str:
    """A URL on a port nothing listens on (connection refused: not sent)."""
    return f"http://127.0.0.1:{free_port()}{path}"
