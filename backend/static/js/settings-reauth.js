/* Deleting the account when the admin signs in with Salesforce: pressing Delete first opens a fresh
   Salesforce login in a popup (the server wants one from the last five minutes); once the popup says
   it is confirmed, the deletion the admin asked for goes ahead. Without JavaScript the Confirm button
   opens the login in a new tab and Delete is pressed afterwards. */
(function () {
  "use strict";
  var del = document.getElementById("delete-account");
  var start = document.getElementById("reauth-salesforce");
  var status = document.getElementById("delete-status");
  if (!del || !start) { return; }
  var pending = false;
  var confirmed = false;

  function popup() { window.open("", "inflow-reauth", "popup,width=640,height=720"); }

  start.addEventListener("submit", popup);
  del.addEventListener("submit", function (event) {
    if (confirmed) { return; }
    event.preventDefault();
    pending = true;
    popup();
    start.submit();
    status.textContent = "Log in to Salesforce in the new window; the account is deleted once you have.";
  });
  window.addEventListener("message", function (event) {
    if (event.origin !== window.location.origin || !event.data || event.data.type !== "inflow.reauthenticated") {
      return;
    }
    confirmed = true;
    if (pending) {
      status.textContent = "Confirmed. Deleting the account…";
      del.submit();  // submit() fires no submit event: this does not loop
    } else {
      status.textContent = "Confirmed. Press Delete this account within five minutes.";
    }
  });
}());
