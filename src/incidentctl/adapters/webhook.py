"""HTTP destinations: POST a JSON payload to a webhook (Slack's incoming webhooks)."""

from __future__ import annotations

import json
from typing import Any


class PostFailed(Exception):
    """One post did not get a 2xx answer; the message stays queued."""


def post_json(url: str, payload: dict[str, Any], timeout: float) -> int:
    """POST `payload` as JSON; return the 2xx status, or raise PostFailed."""
    import http.client
    import urllib.error
    import urllib.request

    from incidentctl import __version__

    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"incidentctl/{__version__}",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(65536)
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise PostFailed(f"HTTP {exc.code} {exc.reason}".strip()) from None
    except urllib.error.URLError as exc:
        raise PostFailed(f"cannot reach the webhook: {exc.reason}") from None
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        raise PostFailed(f"cannot reach the webhook: {exc or type(exc).__name__}") from None
    except ValueError as exc:  # a malformed URL
        raise PostFailed(f"bad webhook URL: {exc}") from None
    if not 200 <= status < 300:
        raise PostFailed(f"HTTP {status}")
    return status
