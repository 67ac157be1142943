/* Inflow's session inside the Salesforce canvas iframe.
 *
 * The app token is held in this closure only: never in a cookie (the iframe may get none), never in
 * localStorage/sessionStorage, never in a URL. Calls to Inflow go through Inflow.fetch, which adds
 * `Authorization: Bearer`. Before the token expires a fresh signed request is fetched from Salesforce
 * (Sfdc.canvas.client.refreshSignedRequest) and traded at /canvas/token for a new token; the page's
 * other scripts hear about it through the `inflow:token` event.
 *
 * Reads the launch data the canvas entry renders into <script type="application/json" id="inflow-launch">
 * (keys token, expires_at, token_url) and takes the token out of it; the shell's script removes the rest.
 */
(function () {
  "use strict";
  var element = document.getElementById("inflow-launch");
  var launch = {};
  try { launch = JSON.parse((element && element.textContent) || "{}") || {}; } catch (e) { launch = {}; }
  var token = launch.token || null;
  if (element && token) {
    // Out of the DOM at once (the shell's module script runs later): the token lives in this closure only.
    var rest = Object.assign({}, launch);
    delete rest.token;
    element.textContent = JSON.stringify(rest);
  }
  var expiresAt = (launch.expires_at || 0) * 1000;
  var tokenUrl = launch.token_url || "/canvas/token";
  var RENEW_BEFORE_MS = 120000;
  var timer = null;

  function ended() {
    token = null;
    window.dispatchEvent(new CustomEvent("inflow:session-ended"));
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(renew, Math.max(5000, expiresAt - Date.now() - RENEW_BEFORE_MS));
  }

  function trade(signedRequest) {
    var body = new URLSearchParams();
    body.set("signed_request", signedRequest);
    return fetch(tokenUrl, {method: "POST", body: body, credentials: "omit", cache: "no-store"})
      .then(function (resp) { return resp.ok ? resp.json() : Promise.reject(resp.status); })
      .then(function (answer) {
        token = answer.token;
        expiresAt = answer.expires_at * 1000;
        window.dispatchEvent(new CustomEvent("inflow:token", {detail: {token: token}}));
        schedule();
      });
  }

  function renew() {
    var sdk = window.Sfdc && window.Sfdc.canvas && window.Sfdc.canvas.client;
    if (!sdk) { ended(); return; }
    sdk.refreshSignedRequest(function (data) {
      if (!data || data.status !== 200 || !data.payload || !data.payload.response) { ended(); return; }
      trade(data.payload.response).catch(ended);
    });
  }

  function inflowFetch(url, options) {
    options = options || {};
    var headers = new Headers(options.headers || {});
    if (token) { headers.set("Authorization", "Bearer " + token); }
    var settings = Object.assign({}, options, {headers: headers, credentials: "omit", cache: "no-store"});
    return fetch(url, settings).then(function (resp) {
      if (resp.status === 401) { ended(); }
      return resp;
    });
  }

  // A fresh signed request from Salesforce, for an admin's explicit Reconnect of the org hosting the tab.
  function signedRequest() {
    return new Promise(function (resolve, reject) {
      var sdk = window.Sfdc && window.Sfdc.canvas && window.Sfdc.canvas.client;
      if (!sdk) { reject(new Error("Open Inflow from its Salesforce tab to reconnect this org.")); return; }
      sdk.refreshSignedRequest(function (data) {
        if (!data || data.status !== 200 || !data.payload || !data.payload.response) {
          reject(new Error("Salesforce did not confirm this page; reload the tab."));
          return;
        }
        resolve(data.payload.response);
      });
    });
  }

  // A token the server handed over in an answer (Disconnect of this page's own org ends the old one).
  function adopt(newToken, newExpiresAt) {
    token = newToken;
    expiresAt = newExpiresAt * 1000;
    window.dispatchEvent(new CustomEvent("inflow:token", {detail: {token: token}}));
    schedule();
  }

  if (!token) { return; }  // not a canvas launch (e.g. /app with a cookie session): nothing to hold
  window.Inflow = Object.freeze({
    fetch: inflowFetch,
    renew: renew,
    adopt: adopt,
    signedRequest: signedRequest,
    token: function () { return token; },
    expiresAt: function () { return expiresAt; }
  });
  schedule();
}());
