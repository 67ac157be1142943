"""Canvas JS SDK: serves localorg's own client-side Sfdc.canvas script where an org serves canvas-all.js.

`GET /canvas/sdk/js/<version>/canvas-all.js` on the login URL and on every instance URL (as Salesforce does,
e.g. `https://<instance>/canvas/sdk/js/66.0/canvas-all.js`). The script (static/canvas-all.js) is an
original, minimal implementation of the calls canvas apps make: refreshSignedRequest, repost, resize,
autogrow, size, signedrequest, oauth.client and Sfdc.canvas(onReady), posting the messages that
canvas_page.py's parent script answers.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from flask import Blueprint, Response, request

__all__ = ["blueprint", "sdk_source"]
blueprint = Blueprint("localorg_canvas_sdk", __name__)
JS = "application/javascript;charset=UTF-8"
_VERSION = re.compile(r"^\d{2,3}\.\d$")
MAX_AGE = 3600   # an hour, so a restarted localorg with a changed script is picked up the same day


@lru_cache(maxsize=1)
def sdk_source() -> str:
    """The script's text, read once from the package."""
    return (resources.files(__package__) / "static" / "canvas-all.js").read_text(encoding="utf-8")


@blueprint.get("/canvas/sdk/js/<version>/canvas-all.js")
def canvas_all(version: str) -> Response:
    if not _VERSION.match(version):
        return Response("Not Found", status=404, content_type="text/plain")
    resp = Response(sdk_source(), content_type=JS,
                    headers={"Cache-Control": f"public, max-age={MAX_AGE}", "X-Content-Type-Options": "nosniff"})
    resp.add_etag()
    return resp.make_conditional(request)
