"""The daily API allowance: count each call against its org and report usage in Sforce-Limit-Info."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from flask import Response, g

from .errors import limit_exceeded

if TYPE_CHECKING:
    from .org import Org


def meter(org: Org) -> None:
    """Count one API call against the org's daily allowance; REQUEST_LIMIT_EXCEEDED when it is spent."""
    today = time.strftime("%Y-%m-%d", time.gmtime())
    with org.usage_lock:
        if org.extra.get("usage_day") != today:  # the allowance is per UTC day
            if org.extra.get("usage_day") is not None:
                org.api_used = 0
            org.extra["usage_day"] = today
        if org.api_used >= org.knobs.api_allowance:
            g.metered = org
            raise limit_exceeded()
        org.api_used += 1
    g.metered = org


def add_usage_header(resp: Response) -> None:
    """`Sforce-Limit-Info: api-usage=N/M` on every response to a metered call (refused ones too)."""
    org = g.get("metered")
    if org is not None:
        resp.headers["Sforce-Limit-Info"] = f"api-usage={org.api_used}/{org.knobs.api_allowance}"
