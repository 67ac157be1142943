// Emailed links carry their single-use token in the URL fragment, which browsers never send to a server:
// it reaches no access log, proxy or Referer. Move it into the page's form and drop it from the address bar.
(function () {
  "use strict";
  var token = new URLSearchParams(window.location.hash.slice(1)).get("token");
  if (!token) {
    return;
  }
  document.querySelectorAll('input[name="token"]').forEach(function (input) {
    input.value = token;
  });
  window.history.replaceState(null, "", window.location.pathname);
})();
