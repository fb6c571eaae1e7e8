"""The one small HTTP client for JSON APIs (PagerDuty, Statuspage, the Slack Web API)
and for Slack's incoming webhooks (adapters/webhook.py).

A request ends in one of three ways, told apart by the step an error came from,
because only one of them is safe to repeat on its own:

- answered: a status line came back (`HttpResponse`); what it means (delivered,
  refused, in doubt) is the destination's to say (its `classify`). A 429 is waited
  out (`Retry-After`, capped) and tried again by `request()` itself: the server
  refused it without acting on it;
- failed: the request was not sent (a bad URL, DNS, a refused or timed-out connect, a
  proxy that refused the tunnel, a write cut short, so the server never had the whole
  request): `SendFailed`, safe to retry;
- in doubt: the whole request was written and no status line came back (a read
  timeout, a reset, a closed connection): `SendInDoubt`. Sending it again may act twice.

So the request goes out through `http.client` in steps (connect, send, read), and
each error is classed by its step; `urllib` reports a connect timeout and a read
timeout the same way.

Secrets never reach a log or `--dry-run`: a request names the header values and body
strings that are secret (`HttpRequest.secrets`), and `HttpRequest.masked()` prints
the exact request with each of them replaced by `********`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MASK = "********"
MAX_RETRY_AFTER = 30.0  # seconds: a longer Retry-After is not waited out in a command
DEFAULT_RETRIES_429 = 3


class SendFailed(Exception):
    """The request did not reach the server, or was answered with a refusal. Safe to
    send again."""

    in_doubt = False

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status when one came back, else 0


class SendInDoubt(SendFailed):
    """The request was sent and no usable answer came back: it may have arrived."""

    in_doubt = True


@dataclass
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json_body: Any = None  # sent as UTF-8 JSON when not None
    secrets: list[str] = field(default_factory=list)  # values to mask wherever they appear

    def body(self) -> bytes:
        if self.json_body is None:
            return b""
        return json.dumps(self.json_body, ensure_ascii=False).encode("utf-8")

    def masked(self) -> str:
        """The exact request as text (request line, headers, JSON body), each secret
        replaced by ********: what `--dry-run` prints."""
        lines = [f"{self.method} {self.url}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if self.json_body is not None:
            lines += ["", json.dumps(self.json_body, indent=2, ensure_ascii=False)]
        return mask("\n".join(lines), self.secrets)


def mask(text: str, secrets: list[str]) -> str:
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


@dataclass
class HttpResponse:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    @property
    def status_text(self) -> str:
        return f"HTTP {self.status} {self.reason or ''}".strip()


def request(
    req: HttpRequest,
    timeout: float,
    *,
    what: str = "the server",
    retries_429: int = DEFAULT_RETRIES_429,
    sleep: Callable[[float], None] = time.sleep,
) -> HttpResponse:
    """Send `req`; return the answer (any status but a 429 that was waited out).
    Raises SendFailed (not sent) or SendInDoubt (sent, no answer). A 429 is retried
    up to `retries_429` times after its Retry-After (at most MAX_RETRY_AFTER seconds);
    the last 429 is returned as it is."""
    for attempt in range(retries_429 + 1):
        response = send_once(req, timeout, what=what)
        if response.status != 429 or attempt == retries_429:
            return response
        wait = retry_after(response.headers.get("retry-after", ""))
        if wait > MAX_RETRY_AFTER:
            return response
        sleep(wait)
    raise AssertionError("unreachable")


def retry_after(value: str) -> float:
    """Seconds to wait from a Retry-After header (seconds, or an HTTP date); 1 when absent."""
    value = value.strip()
    if not value:
        return 1.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 1.0
    return max(0.0, when.timestamp() - time.time())


def check_url(url: str, what: str = "URL") -> str:
    """'' when `url` is an http(s) URL with a host (and a good port), else the problem."""
    import urllib.parse

    try:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return f"bad {what} {url!r}: not an http(s) URL with a host"
        parts.port  # noqa: B018  (ValueError on a malformed port)
    except ValueError as exc:
        return f"bad {what} {url!r}: {exc}"
    return ""


def send_once(req: HttpRequest, timeout: float, *, what: str = "the server") -> HttpResponse:
    """One request, no retry. `timeout` bounds the connect and each read of the answer."""
    import http.client
    import urllib.parse

    from incidentctl import __version__

    body = req.body()
    try:
        parts = urllib.parse.urlsplit(req.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) URL with a host")
        port = parts.port  # ValueError on a malformed port
    except ValueError as exc:
        raise SendFailed(f"bad {_noun(what)} URL: {exc}") from None
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    headers = {
        "Host": parts.netloc.rpartition("@")[2],
        "User-Agent": f"incidentctl/{__version__}",
        "Connection": "close",
    }
    if req.json_body is not None:
        headers["Content-Type"] = "application/json; charset=utf-8"
    if body or req.method in ("POST", "PUT", "PATCH"):
        headers["Content-Length"] = str(len(body))
    headers.update(req.headers)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    proxy = _proxy_for(parts.scheme, parts.hostname)
    if proxy is None:
        conn = connection_class(parts.hostname, port, timeout=timeout)
    else:
        proxy_host, proxy_port, proxy_auth = proxy
        conn = connection_class(proxy_host, proxy_port, timeout=timeout)
        if parts.scheme == "https":  # a CONNECT tunnel, made while connecting
            conn.set_tunnel(parts.hostname, port, headers=proxy_auth)
        else:  # a plain proxy takes the whole URL
            target = req.url
            headers.update(proxy_auth)
    try:
        # 1. connect (and TLS, and a proxy tunnel): nothing has left yet
        try:
            conn.connect()
        except (OSError, http.client.HTTPException) as exc:
            raise SendFailed(f"cannot reach {what}: {_reason(exc)}") from None
        # 2. send: one write of headers and body. Cut short, the server never had the
        # whole body, and a JSON request without its end is not acted on
        try:
            conn.putrequest(req.method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders(body or None)
        except (OSError, http.client.HTTPException) as exc:
            raise SendFailed(f"{what} closed the connection: {_reason(exc)}") from None
        # 3. the answer: from here on the request is out, and only a status line says
        # what became of it
        try:
            response = conn.getresponse()
        except TimeoutError:
            raise SendInDoubt(
                f"sent, but no answer within {timeout:g}s (it may have arrived)"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise SendInDoubt(
                f"sent, but no answer: {_reason(exc)} (it may have arrived)"
            ) from None
        status = int(response.status)
        data = b""
        with contextlib.suppress(OSError, http.client.HTTPException):
            data = response.read(1 << 20)
        answer = HttpResponse(
            status,
            response.reason or "",
            {k.lower(): v for k, v in response.getheaders()},
            data,
        )
    finally:
        conn.close()
    return answer


def _noun(what: str) -> str:
    return what.removeprefix("the ")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = getattr(exc, "strerror", None) or str(exc)
    return text or type(exc).__name__


def _proxy_for(scheme: str, host: str) -> tuple[str, int | None, dict[str, str]] | None:
    """The proxy the environment names for `scheme` ($https_proxy, $http_proxy, with
    $no_proxy honoured, as urllib does), as (host, port, auth headers); None: direct."""
    import base64
    import urllib.parse
    import urllib.request

    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    if "://" not in proxy:
        proxy = "http://" + proxy
    parts = urllib.parse.urlsplit(proxy)
    if not parts.hostname:
        return None
    auth: dict[str, str] = {}
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        auth["Proxy-Authorization"] = f"Basic {token}"
    return parts.hostname, parts.port, auth
