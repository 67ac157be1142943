/* After the user approved Inflow, ask Salesforce to POST the signed request again (now with tokens). */
(function () {
  "use strict";
  function repost() {
    if (window.Sfdc && window.Sfdc.canvas && window.Sfdc.canvas.client) {
      window.Sfdc.canvas.client.repost(true);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", repost);
  } else {
    repost();
  }
}());
