/* localorg's Canvas SDK, client side: a small original implementation of the part of Sfdc.canvas that
 * canvas apps use inside localorg's Lightning stand-in (it is not Salesforce's canvas-all.js).
 *
 *   Sfdc.canvas(fn)                                   run fn once the DOM is ready
 *   Sfdc.canvas.client.refreshSignedRequest(cb)       cb({status, statusText, payload: {response: signed}})
 *   Sfdc.canvas.client.repost(refresh)                the parent re-POSTs the canvas URL (true or {refresh: true})
 *   Sfdc.canvas.client.resize(client, size)           size {height, width}; without one, fit the content height
 *   Sfdc.canvas.client.autogrow(client, enabled, ms)  resize whenever the content height changes (300 ms polls)
 *   Sfdc.canvas.client.size()                         {heights: {contentHeight, pageHeight, scrollTop}, widths}
 *   Sfdc.canvas.client.signedrequest([s])             the signed request last set or refreshed
 *   Sfdc.canvas.oauth.client() / .token([t])          {oauthToken, instanceId, targetOrigin}
 *
 * Wire format (what sfdx/localorg/canvas_page.py answers): the frame posts the JSON string
 * {seq, src: "client", clientVersion, body: {type, config: {client}, ...}, targetModule: "Canvas"} to the
 * parent; replies are JSON strings {type: "callback", seq, status, statusText, payload}.
 */
(function (global) {
  "use strict";
  if (global.Sfdc && global.Sfdc.canvas && global.Sfdc.canvas.client) { return; }

  var FRAME_PREFIX = "canvas-frame-";
  var script = global.document.currentScript;
  var versionInPath = script && /\/canvas\/sdk\/js\/(\d+\.\d+)\//.exec(script.src);
  var VERSION = versionInPath ? versionInPath[1] : "66.0";
  // The parent puts its origin in the iframe URL's hash; read it now, before the app rewrites the hash.
  var hostOrigin = originOf(decodedHash());
  var seq = 0;
  var waiting = {};
  var signed = null;
  var oauthToken = null;
  var growers = {};

  function decodedHash() {
    try { return decodeURIComponent(global.location.hash.replace(/^#/, "")); } catch (e) { return ""; }
  }

  function originOf(url) {
    if (typeof url !== "string" || !/^https?:\/\//i.test(url)) { return null; }
    try { return new URL(url).origin; } catch (e) { return null; }
  }

  function instanceId() {
    var name = global.name || "";
    return name.indexOf(FRAME_PREFIX) === 0 ? name.substring(FRAME_PREFIX.length) : null;
  }

  function frameClient() {
    return {oauthToken: oauthToken || "null", instanceId: instanceId(), targetOrigin: hostOrigin};
  }

  // Sends body to the parent page; false when there is no canvas parent. When the parent's origin is unknown
  // (the app navigated away from the URL that carried it, e.g. after an OAuth approval) the message goes to
  // any origin, without any OAuth token in it; the parent itself checks where messages come from.
  function post(client, body, callback) {
    var origin = originOf(client && client.targetOrigin) || hostOrigin || "*";
    if (global.parent === global) { return false; }
    if (origin === "*") { body = withoutToken(body); }
    seq += 1;
    if (callback) { waiting[seq] = {callback: callback, origin: origin}; }
    global.parent.postMessage(JSON.stringify({seq: seq, src: "client", clientVersion: VERSION, body: body,
                                              targetModule: "Canvas"}), origin);
    return true;
  }

  function withoutToken(body) {
    var copy = JSON.parse(JSON.stringify(body));
    if ("accessToken" in copy) { copy.accessToken = "null"; }
    if (copy.config && copy.config.client) { copy.config.client.oauthToken = "null"; }
    return copy;
  }

  global.addEventListener("message", function (event) {
    if (event.source !== global.parent || typeof event.data !== "string") { return; }
    var message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    var entry = message && message.type === "callback" ? waiting[message.seq] : null;
    // Only the answer to a request, from the origin that request was sent to.
    if (!entry || (entry.origin !== "*" && entry.origin !== event.origin)) { return; }
    delete waiting[message.seq];
    entry.callback(message);
  });

  function refreshSignedRequest(callback) {
    var client = frameClient();
    var sent = post(client, {type: "refresh", accessToken: client.oauthToken, config: {client: client}},
      function (message) {
        var payload = message.payload;
        if (message.status === 200 && payload && typeof payload.response === "string") { signed = payload.response; }
        if (callback) { callback(message); }
      });
    if (!sent && callback) {
      global.setTimeout(function () {
        callback({status: 0, statusText: "Not inside a canvas frame", payload: null});
      }, 0);
    }
  }

  function repost(refresh) {
    var wanted = refresh !== null && typeof refresh === "object" ? !!refresh.refresh : !!refresh;
    var client = frameClient();
    post(client, {type: "repost", accessToken: client.oauthToken, config: {client: client}, refresh: wanted});
  }

  function size() {
    var root = global.document.documentElement;
    // The root element's own box follows the content, not the iframe, so the frame can shrink as well as grow.
    var box = root.getBoundingClientRect();
    return {
      heights: {contentHeight: Math.ceil(box.height), pageHeight: global.innerHeight,
                scrollTop: global.pageYOffset || root.scrollTop || 0},
      widths: {contentWidth: Math.max(Math.ceil(box.width), root.scrollWidth), pageWidth: global.innerWidth,
               scrollLeft: global.pageXOffset || root.scrollLeft || 0}
    };
  }

  function resize(client, wanted) {
    // Without a size only the height follows the content: the host page owns the frame's width.
    var target = wanted || {height: size().heights.contentHeight + "px"};
    post(client, {type: "resize", accessToken: client && client.oauthToken, config: {client: client}, size: target});
  }

  function autogrow(client, enabled, interval) {
    var key = (client && client.instanceId) || "";
    global.clearInterval(growers[key]);
    delete growers[key];
    if (enabled === false) { return; }
    var last = null;
    function check() {
      if (!global.document.body) { return; }
      var height = size().heights.contentHeight;
      if (height === last) { return; }
      last = height;
      resize(client, {height: height + "px"});
    }
    growers[key] = global.setInterval(check, interval > 0 ? interval : 300);
    check();
  }

  function signedrequest(value) {
    if (arguments.length > 0) { signed = value; }
    return signed;
  }

  function token(value) {
    if (arguments.length > 0) { oauthToken = value; }
    return oauthToken;
  }

  function onReady(fn) {
    if (global.document.readyState === "loading") {
      global.document.addEventListener("DOMContentLoaded", function () { fn(); }, {once: true});
    } else {
      fn();
    }
  }

  var canvas = function (fn) { onReady(fn); };
  canvas.onReady = onReady;
  canvas.version = VERSION;
  canvas.client = {
    refreshSignedRequest: refreshSignedRequest, repost: repost, resize: resize, autogrow: autogrow,
    size: size, signedrequest: signedrequest, version: VERSION
  };
  canvas.oauth = {
    client: function () { return {oauthToken: oauthToken, instanceId: instanceId(), targetOrigin: hostOrigin}; },
    token: token
  };
  global.Sfdc = global.Sfdc || {};
  global.Sfdc.canvas = canvas;
}(window));
