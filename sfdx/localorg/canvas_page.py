"""HTML of the Lightning stand-in pages: login form, app tab / record page with the canvas iframe and the
parent side of the Canvas SDK's postMessage protocol (refresh, repost, resize, ajax, ctx)."""

from __future__ import annotations

import html
import json
from typing import Any

STYLE = ("body{font-family:Salesforce Sans,Arial,sans-serif;margin:0;background:#f3f3f3}"
         "header{background:#032d60;color:#fff;padding:10px 16px;font-size:15px}"
         "main{padding:16px}.card{background:#fff;border:1px solid #dddbda;border-radius:4px;padding:12px;"
         "margin-bottom:12px}table{border-collapse:collapse}td{padding:2px 12px 2px 0;vertical-align:top}"
         "td.l{color:#3e3e3c}iframe{border:0;width:100%;height:900px;max-width:1000px;background:#fff}")

LOGIN = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Login | localorg</title>
<style>{style}</style></head><body><header>localorg</header><main><div class="card">
<form method="POST" action="/login"><p>{error}</p>
<label>Username <input name="username" value="{username}" autocomplete="username"></label>
<label>Password <input name="pw" type="password" autocomplete="current-password"></label>
<input type="hidden" name="startURL" value="{start}"><button type="submit" id="Login">Log In</button>
</form></div></main></body></html>"""

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title} | localorg Lightning</title>
<style>{style}</style></head><body><header>{org} &middot; {title}</header><main>{record}
<div class="card canvas-app" data-developer-name="{dev}" data-instance-id="{iid}">
<iframe name="canvas-frame-{iid}" id="canvas-frame" title="{app}" scrolling="yes" src="{src}"></iframe>
{form}</div></main>
<script type="application/json" id="canvas-config">{config}</script>
<script>{script}</script></body></html>"""

FORM = """<form id="canvas-post" method="POST" action="{action}" target="canvas-frame-{iid}">
<input type="hidden" name="signed_request" value="{signed}"></form>"""

# The parent half of Sfdc.canvas.client: messages arrive as JSON strings
# {seq, src:"client", body:{type, config:{client}, ...}, targetModule:"Canvas"}; answers are
# {type:"callback", seq, status, statusText, payload, parentVersion}.
SCRIPT = r"""(function () {
  var cfg = JSON.parse(document.getElementById('canvas-config').textContent);
  var frame = document.getElementById('canvas-frame'), form = document.getElementById('canvas-post');
  var canvasOrigin = new URL(cfg.canvasUrl).origin;
  function fresh() {
    return fetch(cfg.refreshUrl, {method: 'POST', credentials: 'same-origin',
      headers: {'X-Canvas-Page-Token': cfg.pageToken}}).then(function (r) { return r.text(); });
  }
  function reply(seq, extra) {
    var msg = Object.assign({type: 'callback', seq: seq, parentVersion: cfg.version, targetModule: 'Canvas'}, extra);
    frame.contentWindow.postMessage(JSON.stringify(msg), canvasOrigin);
  }
  function post(signed) {
    if (!form) { return; }
    if (signed) { form.elements.signed_request.value = signed; }
    form.submit();
  }
  window.addEventListener('message', function (e) {
    if (e.source !== frame.contentWindow || e.origin !== canvasOrigin) { return; }
    var msg; try { msg = JSON.parse(e.data); } catch (err) { return; }
    if (!msg || (msg.targetModule && msg.targetModule !== 'Canvas')) { return; }
    var body = msg.body || {};
    if (body.type === 'refresh') {
      fresh().then(function (sr) { reply(msg.seq, {status: 200, statusText: 'OK', payload: {response: sr}}); });
    } else if (body.type === 'repost') {
      if (body.refresh) { fresh().then(post); } else { post(null); }
    } else if (body.type === 'resize') {
      var s = body.size || {};
      if (s.height) { frame.style.height = s.height; }
      if (s.width) { frame.style.width = s.width; }
    } else if (body.type === 'ctx') {
      fresh().then(function (sr) {
        var ctx = JSON.parse(atob(sr.split('.')[1])).context;
        reply(msg.seq, {status: 200, statusText: 'OK', payload: ctx});
      });
    } else if (body.type === 'ajax') {
      var c = body.config || {};
      fetch(body.url, {method: c.method || 'GET', headers: Object.assign({'Content-Type': c.contentType ||
        'application/json'}, c.headers || {}), body: c.data || undefined}).then(function (r) {
        return r.text().then(function (t) {
          var payload; try { payload = JSON.parse(t); } catch (err) { payload = t; }
          var hs = []; r.headers.forEach(function (v, k) { hs.push({name: k, value: v}); });
          reply(msg.seq, {status: r.status, statusText: r.statusText, payload: payload, responseHeaders: hs});
        });
      });
    }
  });
  if (cfg.autoPost) { post(null); }
}());"""


def login_page(start: str, username: str = "", error: str = "") -> str:
    return LOGIN.format(style=STYLE, start=html.escape(start), username=html.escape(username),
                        error=html.escape(error))


def record_card(obj_label: str, rec: dict[str, Any]) -> str:
    rows = "".join(f'<tr><td class="l">{html.escape(k)}</td><td data-field="{html.escape(k)}">'
                   f"{html.escape(str(v))}</td></tr>" for k, v in rec.items() if v is not None and k != "attributes")
    return f'<div class="card record"><h1>{html.escape(obj_label)}</h1><table>{rows}</table></div>'


def canvas_page(title: str, org_name: str, app_name: str, dev: str, iid: str, canvas_url: str, action: str,
                signed: str | None, src: str, config: dict[str, Any], record: str = "") -> str:
    form = FORM.format(action=html.escape(action), iid=html.escape(iid), signed=html.escape(signed or ""))
    cfg = json.dumps(dict(config, canvasUrl=canvas_url, autoPost=bool(signed))).replace("</", "<\\/")
    return PAGE.format(title=html.escape(title), style=STYLE, org=html.escape(org_name), record=record,
                       dev=html.escape(dev), iid=html.escape(iid), app=html.escape(app_name), src=html.escape(src),
                       form=form, config=cfg, script=SCRIPT)
