/* The OAuth popup's last page: tell the Inflow page that opened it, then let the user close it. */
(function () {
  "use strict";
  var done = document.getElementById("inflow-oauth-done");
  if (window.opener && done && done.dataset.connected) {
    window.opener.postMessage({type: "inflow.instance.connected", id: done.dataset.connected},
      window.location.origin);
    setTimeout(function () { window.close(); }, 1500);
  }
}());
