/* Connected instances inside the canvas page: list, connect (OAuth in a popup), disconnect. */
(function () {
  "use strict";
  var main = document.getElementById("inflow-main");
  var home = main.innerHTML;

  function show(view) {
    if (view !== "instances") { main.innerHTML = home; main.dataset.view = "home"; return; }
    window.Inflow.fetch("/instances").then(function (resp) { return resp.ok ? resp.text() : ""; })
      .then(function (html) { main.innerHTML = html; main.dataset.view = "instances"; });
  }

  function fail(form, message) {
    var box = form.querySelector(".inflow-error");
    box.textContent = message;
    box.hidden = false;
  }

  function connect(form) {
    var popup = window.open("", "inflow-oauth", "popup,width=640,height=720");
    var payload = {kind: form.elements.kind.value, my_domain: form.elements.my_domain.value || null};
    window.Inflow.fetch("/api/instances/connect", {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(payload)
    }).then(function (resp) { return resp.json().then(function (body) { return [resp.ok, body]; }); })
      .then(function (result) {
        if (!result[0]) { if (popup) { popup.close(); } fail(form, result[1].message || "Could not connect."); return; }
        var post = document.createElement("form");  // POST: the ticket never appears in a URL
        post.method = "POST";
        post.action = result[1].start_url;
        post.target = "inflow-oauth";
        var field = document.createElement("input");
        field.type = "hidden";
        field.name = "ticket";
        field.value = result[1].ticket;
        post.appendChild(field);
        document.body.appendChild(post);
        post.submit();
        post.remove();
      });
  }

  function disconnect(button) {
    if (button.dataset.confirming !== "1") {  // confirm() is blocked in canvas iframes: click twice
      button.dataset.confirming = "1";
      button.textContent = "Click again to disconnect";
      return;
    }
    button.disabled = true;
    window.Inflow.fetch("/api/instances/" + encodeURIComponent(button.dataset.id) + "/disconnect", {method: "POST"})
      .then(function () { show("instances"); });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-view]");
    if (link && link.tagName === "A") { event.preventDefault(); show(link.dataset.view); return; }
    var button = event.target.closest("button[data-action=disconnect]");
    if (button) { disconnect(button); }
  });
  document.addEventListener("submit", function (event) {
    if (event.target.id === "inflow-connect") { event.preventDefault(); connect(event.target); }
  });
  window.addEventListener("message", function (event) {
    if (event.origin === window.location.origin && event.data && event.data.type === "inflow.instance.connected") {
      show("instances");
    }
  });
}());
