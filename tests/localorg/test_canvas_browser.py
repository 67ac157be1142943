"""The canvas host's parent-side postMessage protocol in Chromium: a tiny canvas app (HTTPS, in a thread)
speaks the Canvas SDK's client wire format (refresh, resize, repost) to the localorg Lightning page."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, request
from werkzeug.serving import make_server

from sfdx.localorg.canvas import register_canvas_app
from sfdx.localorg.tls import server_context

pytestmark = pytest.mark.browser

# What Sfdc.canvas.client sends (js/client.js postit + js/xd.js): a JSON string with seq and body,
# window.name "canvas-frame-<instanceId>", the parent origin from the URL hash.
APP_PAGE = """<!DOCTYPE html><html><body><p id="posted">{n}</p><script>
var sr = {sr}; var replies = []; var seq = 0;
var parentOrigin = decodeURIComponent(location.hash.substring(1));
function postit(body) {{
  seq += 1;
  parent.postMessage(JSON.stringify({{seq: seq, src: 'client', clientVersion: '66.0', body: body,
    targetModule: 'Canvas'}}), parentOrigin);
}}
window.addEventListener('message', function (e) {{ replies.push(JSON.parse(e.data)); }});
var client = {{oauthToken: 'null', instanceId: window.name.substring('canvas-frame-'.length), targetOrigin: '*'}};
</script></body></html>"""


@pytest.fixture
def canvas_app(localorg) -> Iterator[tuple[str, list[str]]]:
    posts: list[str] = []
    app = Flask("canvas-test-app")

    @app.post("/canvas")
    def canvas() -> str:
        posts.append(request.form["signed_request"])
        return APP_PAGE.format(n=len(posts), sr=json.dumps(request.form["signed_request"]))

    folder = Path(localorg.ca_path).parent
    server = make_server("127.0.0.1", 0, app, threaded=True,
                         ssl_context=server_context(folder / "server.pem", folder / "server.key"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}/canvas", posts
    server.shutdown()
    thread.join(5)


def verify(signed: str, secret: str) -> dict:
    enc_sig, enc_env = signed.split(".", 1)
    assert hmac.compare_digest(base64.b64decode(enc_sig),
                               hmac.new(secret.encode(), enc_env.encode(), hashlib.sha256).digest())
    return json.loads(base64.b64decode(enc_env))


def test_refresh_resize_and_repost_through_post_message(org, canvas_app, chromium):
    url, posts = canvas_app
    app = register_canvas_app(org, "Inflow", url, tab="Inflow")
    page = chromium.new_page()
    try:
        page.set_default_timeout(20_000)
        page.goto(f"{org.instance_url}/secur/frontdoor.jsp?sid={org.ready_token}&retURL=/lightning/n/Inflow")
        frame = page.frame_locator("#canvas-frame")
        frame.locator("#posted").wait_for()
        first = verify(posts[0], app.consumer_secret)
        child = next(f for f in page.frames if f.url.startswith(url))
        assert child.name == "canvas-frame-" + first["client"]["instanceId"]

        child.evaluate("postit({type: 'refresh', accessToken: 'null', config: {client: client}})")
        child.wait_for_function("replies.length > 0")
        reply = child.evaluate("replies[0]")
        assert reply["type"] == "callback" and reply["seq"] == 1 and reply["status"] == 200
        fresh = verify(reply["payload"]["response"], app.consumer_secret)
        assert fresh["client"]["oauthToken"] != first["client"]["oauthToken"]

        child.evaluate("postit({type: 'resize', config: {client: client}, size: {height: '432px', width: ''}})")
        page.wait_for_function("document.getElementById('canvas-frame').style.height === '432px'")

        child.evaluate("postit({type: 'repost', accessToken: 'null', config: {client: client}, refresh: true})")
        frame.locator("#posted", has_text="2").wait_for()
        assert len(posts) == 2
        assert verify(posts[1], app.consumer_secret)["client"]["oauthToken"] != first["client"]["oauthToken"]
    finally:
        page.close()
