/* Inflow's session inside the Salesforce canvas iframe.
 *
 * The app token is held in this closure only: never in a cookie (the iframe may get none), never in
 * localStorage/sessionStorage, never in a URL. Every call to Inflow goes through Inflow.fetch, which adds
 * `Authorization: Bearer`. Before the token expires a fresh signed request is fetched from Salesforce
 * (Sfdc.canvas.client.refreshSignedRequest) and traded at /canvas/token for a new token.
 */
(function () {
  "use strict";
  var bootElement = document.getElementById("inflow-boot");
  var boot = JSON.parse(bootElement.textContent);
  bootElement.textContent = "";  // the token stays in memory, not in the DOM
  var token = boot.token;
  var expiresAt = boot.expiresAt * 1000;
  var RENEW_BEFORE_MS = 120000;
  var timer = null;

  function ended() {
    token = null;
    var banner = document.getElementById("inflow-session-banner");
    if (banner) { banner.hidden = false; }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(renew, Math.max(5000, expiresAt - Date.now() - RENEW_BEFORE_MS));
  }

  function trade(signedRequest) {
    var body = new URLSearchParams();
    body.set("signed_request", signedRequest);
    return fetch(boot.tokenUrl, {method: "POST", body: body, credentials: "omit", cache: "no-store"})
      .then(function (resp) { return resp.ok ? resp.json() : Promise.reject(resp.status); })
      .then(function (answer) { token = answer.token; expiresAt = answer.expires_at * 1000; schedule(); });
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

  window.Inflow = Object.freeze({
    fetch: inflowFetch,
    renew: renew,
    expiresAt: function () { return expiresAt; }
  });
  schedule();
}());
