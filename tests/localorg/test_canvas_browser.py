"""The canvas host's parent-side postMessage protocol in Chromium: a tiny canvas app (HTTPS, in a thread)
speaks the Canvas SDK's client wire format (refresh, resize, repost) to the localorg Lightning page, first
by hand, then through the Sfdc.canvas script localorg serves at /canvas/sdk/js/<version>/canvas-all.js."""

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

# A canvas app page that loads the SDK from the org, as Salesforce canvas apps do.
SDK_PAGE = """<!DOCTYPE html><html><head><script src="{instance}/canvas/sdk/js/66.0/canvas-all.js"></script>
</head><body style="margin:0"><p id="posted">{n}</p><p id="ready"></p><script>
var sr = {sr}; var client = JSON.parse(atob(sr.split('.')[1])).client; var replies = [];
Sfdc.canvas(function () {{
  Sfdc.canvas.client.signedrequest(sr);
  document.getElementById('ready').textContent = 'ready';
}});
</script></body></html>"""

# Like Inflow's page after an OAuth approval: reached by navigation, so no parent origin in the URL hash,
# and the SDK comes from the login URL.
APPROVED_PAGE = """<!DOCTYPE html><html><head><script src="{login}/canvas/sdk/js/66.0/canvas-all.js"></script>
</head><body><script>Sfdc.canvas(function () {{ Sfdc.canvas.client.repost(true); }});</script></body></html>"""


@pytest.fixture
def canvas_app(localorg) -> Iterator[tuple[str, list[str]]]:
    posts: list[str] = []
    app = Flask("canvas-test-app")

    @app.post("/canvas")
    def canvas() -> str:
        posts.append(request.form["signed_request"])
        return APP_PAGE.format(n=len(posts), sr=json.dumps(request.form["signed_request"]))

    @app.post("/sdk")
    def sdk() -> str:
        signed = request.form["signed_request"]
        posts.append(signed)
        instance = json.loads(base64.b64decode(signed.split(".", 1)[1]))["client"]["instanceUrl"]
        return SDK_PAGE.format(instance=instance, n=len(posts), sr=json.dumps(signed))

    @app.get("/approved")
    def approved() -> str:
        return APPROVED_PAGE.format(login=localorg.base_url)

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


def test_localorg_sdk_gets_refresh_resize_autogrow_and_repost_answered(org, canvas_app, chromium):
    url, posts = canvas_app
    app = register_canvas_app(org, "Inflow", url.rsplit("/", 1)[0] + "/sdk", tab="Inflow")
    page = chromium.new_page()
    try:
        page.set_default_timeout(20_000)
        page.goto(f"{org.instance_url}/secur/frontdoor.jsp?sid={org.ready_token}&retURL=/lightning/n/Inflow")
        frame = page.frame_locator("#canvas-frame")
        frame.locator("#ready", has_text="ready").wait_for()
        first = verify(posts[0], app.consumer_secret)
        child = next(f for f in page.frames if f.name.startswith("canvas-frame-"))
        assert child.evaluate("Sfdc.canvas.oauth.client().instanceId") == first["client"]["instanceId"]
        assert child.evaluate("Sfdc.canvas.oauth.client().targetOrigin") == org.instance_url

        child.evaluate("Sfdc.canvas.client.refreshSignedRequest(function (data) { replies.push(data); })")
        child.wait_for_function("replies.length > 0")
        reply = child.evaluate("replies[0]")
        assert reply["status"] == 200
        fresh = verify(reply["payload"]["response"], app.consumer_secret)
        assert fresh["client"]["oauthToken"] != first["client"]["oauthToken"]
        assert child.evaluate("Sfdc.canvas.client.signedrequest()") == reply["payload"]["response"]

        height = "document.getElementById('canvas-frame').style.height"
        child.evaluate("Sfdc.canvas.client.resize(client, {height: '432px'})")
        page.wait_for_function(f"{height} === '432px'")

        child.evaluate("document.body.insertAdjacentHTML('beforeend', '<div style=\"height:1234px\"></div>');"
                       "Sfdc.canvas.client.autogrow(client, true, 50)")
        grown = child.evaluate("Sfdc.canvas.client.size().heights.contentHeight")
        assert grown > 1234
        page.wait_for_function(f"{height} === '{grown}px'")
        child.evaluate("Sfdc.canvas.client.autogrow(client, false)")

        child.evaluate("Sfdc.canvas.client.repost(true)")
        frame.locator("#posted", has_text="2").wait_for()
        assert len(posts) == 2
        assert verify(posts[1], app.consumer_secret)["client"]["oauthToken"] != fresh["client"]["oauthToken"]

        child = next(f for f in page.frames if f.name.startswith("canvas-frame-"))
        child.evaluate("location.assign('/approved')")
        frame.locator("#posted", has_text="3").wait_for()  # repost(true) answered without a known parent origin
        assert len(posts) == 3
    finally:
        page.close()
