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

from typing import Any

from incidentctl.adapters.http import SendFailed as PostFailed
from incidentctl.adapters.http import SendInDoubt as PostInDoubt
from incidentctl.adapters.http import _proxy_for  # noqa: F401  (kept for callers)

__all__ = ["GATEWAY_IN_DOUBT", "PostFailed", "PostInDoubt", "post_json"]

# a gateway (a proxy, a load balancer) saying the server behind it did not answer
# properly: that server may well have the message
GATEWAY_IN_DOUBT = (502, 504)


def post_json(url: str, payload: dict[str, Any], timeout: float) -> int:
    """POST `payload` as JSON; return the 2xx status. Raises PostFailed (nothing was
    delivered) or PostInDoubt (sent, no answer). `timeout` bounds the connect and each
    read of the answer. The request goes through adapters/http.py, without its 429
    retry: a webhook's 429 is a refusal the outbox retries later."""
    from incidentctl.adapters.http import HttpRequest, send_once

    response = send_once(HttpRequest("POST", url, json_body=payload), timeout, what="the webhook")
    status = response.status
    if 200 <= status < 300:
        return status
    if status in GATEWAY_IN_DOUBT:
        raise PostInDoubt(f"{response.status_text} from a gateway (it may have arrived)", status)
    raise PostFailed(response.status_text, status)
