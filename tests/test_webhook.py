"""adapters/webhook.py against real sockets on 127.0.0.1: each way a post can end is
classed as delivered, failed (not sent, or refused: safe to retry) or in doubt (sent,
no answer: never retried on its own)."""

from __future__ import annotations

import socket
import threading

import pytest

from incidentctl.adapters.webhook import PostFailed, PostInDoubt, post_json

pytestmark = pytest.mark.usefixtures("no_proxy")


class RawServer:
    """Accepts one connection, reads the whole request, then does `then`: answer with
    a status line, close, reset, or stay silent."""

    def __init__(self, then: str) -> None:
        self.then = then
        self.requests: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/services/T0/B0/x"
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(
                next(
                    line.split(b":", 1)[1]
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
            )
            while len(body) < length:
                body += conn.recv(65536)
            self.requests.append(head + b"\r\n\r\n" + body)
            if self.then == "close":
                pass
            elif self.then == "reset":
                conn.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
            elif self.then == "silent":
                self.done.wait(10)
            else:
                conn.sendall(f"HTTP/1.1 {self.then}\r\nContent-Length: 2\r\n\r\nok".encode())
        self.done.set()

    def close(self) -> None:
        self.done.set()
        self.sock.close()


@pytest.fixture
def server():
    made: list[RawServer] = []

    def make(then: str) -> RawServer:
        made.append(RawServer(then))
        return made[-1]

    yield make
    for s in made:
        s.close()


def test_a_2xx_is_delivered_with_the_json_body(server):
    s = server("200 OK")
    assert post_json(s.url, {"text": "héllo"}, timeout=5) == 200
    [request] = s.requests
    assert request.startswith(b"POST /services/T0/B0/x HTTP/1.1\r\n")
    assert b"Content-Type: application/json; charset=utf-8" in request
    assert request.endswith('{"text": "héllo"}'.encode())


@pytest.mark.parametrize("status", ["500 Internal Server Error", "503 Service Unavailable",
                                    "404 Not Found", "429 Too Many Requests"])  # fmt: skip
def test_an_answered_refusal_failed_and_may_be_retried(server, status):
    with pytest.raises(PostFailed) as caught:
        post_json(server(status).url, {"text": "x"}, timeout=5)
    assert not caught.value.in_doubt and caught.value.status == int(status[:3])
    assert str(caught.value) == f"HTTP {status}"


@pytest.mark.parametrize("status", ["502 Bad Gateway", "504 Gateway Timeout"])
def test_a_gateway_error_is_in_doubt(server, status):
    with pytest.raises(PostInDoubt) as caught:
        post_json(server(status).url, {"text": "x"}, timeout=5)
    assert caught.value.in_doubt and "may have arrived" in str(caught.value)


@pytest.mark.parametrize("then", ["close", "reset"])
def test_a_connection_lost_after_sending_is_in_doubt(server, then):
    s = server(then)
    with pytest.raises(PostInDoubt) as caught:
        post_json(s.url, {"text": "x"}, timeout=5)
    assert str(caught.value).startswith("sent, but no answer") and len(s.requests) == 1


def test_no_answer_in_time_is_in_doubt(server):
    s = server("silent")
    with pytest.raises(PostInDoubt) as caught:
        post_json(s.url, {"text": "x"}, timeout=0.5)
    assert str(caught.value) == "sent, but no answer within 0.5s (it may have arrived)"
    assert len(s.requests) == 1  # the server had it all


def test_a_refused_connection_or_a_bad_url_was_not_sent():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(PostFailed) as caught:
        post_json(f"http://127.0.0.1:{port}/x", {"text": "x"}, timeout=5)
    assert not caught.value.in_doubt and "cannot reach the webhook" in str(caught.value)
    for url in ("http://", "ftp://example.com/x", "http://127.0.0.1:99999/x"):
        with pytest.raises(PostFailed) as caught:
            post_json(url, {"text": "x"}, timeout=5)
        assert not caught.value.in_doubt and str(caught.value).startswith("bad webhook URL")


def test_an_http_proxy_from_the_environment_gets_the_whole_url(server, monkeypatch):
    s = server("200 OK")
    monkeypatch.setenv("http_proxy", s.url.rsplit("/services", 1)[0])
    monkeypatch.setenv("no_proxy", "")
    assert post_json("http://hooks.example.invalid/services/x", {"text": "x"}, timeout=5) == 200
    assert s.requests[0].startswith(b"POST http://hooks.example.invalid/services/x HTTP/1.1\r\n")
    assert b"Host: hooks.example.invalid\r\n" in s.requests[0]
