"""HTTP destinations: POST a JSON payload to a webhook (Slack's incoming webhooks).

A post ends in one of three ways, and the caller must be able to tell them apart,
because only one of them is safe to repeat on its own:

- delivered: a 2xx status line came back;
- failed: the request was not sent (a bad URL, DNS, a refused or timed-out connection,
  a proxy that refused the tunnel, a write cut short, so the server never had the
  whole request), or it was answered and refused (a status other than 2xx, 502 and
  504). Nothing reached the channel: `PostFailed`, safe to retry;
- in doubt: the whole request was written and no status line came back (a read
  timeout, a reset or a closed connection), or a gateway answered 502 or 504 about
  a server behind it, which may have taken it: `PostInDoubt`. Sending it again may
  post it twice.

So the request goes out through `http.client` in two steps, connect and then send,
and each error is classed by the step it came from. `urllib` cannot tell them apart:
it reports a connect timeout and a read timeout the same way.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

# a gateway (a proxy, a load balancer) saying the server behind it did not answer
# properly: that server may well have the message
GATEWAY_IN_DOUBT = (502, 504)


class PostFailed(Exception):
    """The message did not reach the webhook: not sent, or answered with a refusal.
    Safe to send again."""

    in_doubt = False

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status when one came back, else 0


class PostInDoubt(PostFailed):
    """The request was sent and no usable answer came back: it may have arrived."""

    in_doubt = True


def post_json(url: str, payload: dict[str, Any], timeout: float) -> int:
    """POST `payload` as JSON; return the 2xx status. Raises PostFailed (nothing was
    delivered) or PostInDoubt (sent, no answer). `timeout` bounds the connect and each
    read of the answer."""
    import http.client
    import urllib.parse

    from incidentctl import __version__

    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    try:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) URL with a host")
        port = parts.port  # ValueError on a malformed port
    except ValueError as exc:
        raise PostFailed(f"bad webhook URL: {exc}") from None
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    headers = {
        "Host": parts.netloc.rpartition("@")[2],
        "Content-Type": "application/json; charset=utf-8",
        "Content-Length": str(len(body)),
        "User-Agent": f"incidentctl/{__version__}",
        "Connection": "close",
    }
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
            target = url
            headers.update(proxy_auth)
    try:
        # 1. connect (and TLS, and a proxy tunnel): nothing has left yet
        try:
            conn.connect()
        except (OSError, http.client.HTTPException) as exc:
            raise PostFailed(f"cannot reach the webhook: {_reason(exc)}") from None
        # 2. send: one write of headers and body. Cut short, the server never had the
        # whole body, and a JSON message without its end cannot be posted
        try:
            conn.putrequest("POST", target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders(body)
        except (OSError, http.client.HTTPException) as exc:
            raise PostFailed(f"the webhook closed the connection: {_reason(exc)}") from None
        # 3. the answer: from here on the request is out, and only a status line says
        # what became of it
        try:
            response = conn.getresponse()
        except TimeoutError:
            raise PostInDoubt(
                f"sent, but no answer within {timeout:g}s (it may have arrived)"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise PostInDoubt(
                f"sent, but no answer: {_reason(exc)} (it may have arrived)"
            ) from None
        status = int(response.status)
        # the status line is the answer; the body is only Slack's "ok"
        with contextlib.suppress(OSError, http.client.HTTPException):
            response.read(65536)
    finally:
        conn.close()
    reason = f"HTTP {status} {response.reason or ''}".strip()
    if 200 <= status < 300:
        return status
    if status in GATEWAY_IN_DOUBT:
        raise PostInDoubt(f"{reason} from a gateway (it may have arrived)", status)
    raise PostFailed(reason, status)


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
