/* The OAuth popup's last page (Connect an org or a Dropbox / Google Sheets connection, or a re-authentication): tell the Inflow page that opened it,
   then let the user close it. */
(function () {
  "use strict";
  var done = document.getElementById("inflow-oauth-done");
  if (!window.opener || !done) { return; }
  var message = done.dataset.connected ? {type: "inflow.instance.connected", id: done.dataset.connected}
    : done.dataset.connection ? {type: "inflow.connection.connected", id: done.dataset.connection}
    : done.dataset.reauthenticated ? {type: "inflow.reauthenticated"} : null;
  if (message) {
    window.opener.postMessage(message, window.location.origin);
    setTimeout(function () { window.close(); }, 1500);
  }
}());
