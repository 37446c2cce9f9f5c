"""POSTing one delivery: success is any 2xx; redirects are not followed (a failure)."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from .. import __version__


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> str | None:
    """Deliver ``body``; return None on a 2xx answer, else why it failed (no secrets)."""
    request = urllib.request.Request(  # noqa: S310 (the URL is the webhook's, http or https by CRD validation)
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": f"kubescim/{__version__}", **headers},
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = int(response.status)
            response.read(65536)
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{type(exc).__name__}: {reason}"[:300]
    return None if 200 <= status < 300 else f"HTTP {status}"
