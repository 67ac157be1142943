// Connected instances. Disconnect asks first in a dialog that names what stops and what stays, then (after a
// fresh proof of identity) revokes the token at Salesforce and deletes it here. The org then reads
// "Disconnected: background access off" until an admin presses Reconnect (the org hosting this tab: its
// tokens come from a fresh signed request) or connects it again.
import { ask, needsReauth } from "../reauth.js";
import { postTicket } from "../dom.js";

export function mount(root, ctx) {
  const { announce, refresh } = ctx;
  const unwire = wireConnect(root, ctx);
  const dialog = root.querySelector("[data-disconnect-dialog]");
  let asked = null;

  function showDialog(button) {
    asked = button;
    dialog.querySelector("[data-dc-name]").textContent = button ? button.dataset.name : "";
    dialog.classList.toggle("slds-hide", !button);
    root.querySelector("[data-dc-backdrop]").classList.toggle("slds-hide", !button);
    if (button) { dialog.querySelector("[data-dc=keep]").focus(); announce(`Disconnect ${button.dataset.name}? What stops and what stays is listed.`); }
  }

  function fail(button, err) {
    button.disabled = false;
    announce(err.message);
    const item = button.closest("[data-instance]");
    const msg = document.createElement("p");
    msg.className = "slds-text-color_error";
    msg.setAttribute("role", "alert");
    msg.textContent = err.message;
    item.append(msg);
  }

  async function confirmed(button) {
    button.disabled = true;
    try {
      const answer = await disconnect(button, ctx);
      if (answer && answer.token && window.Inflow && window.Inflow.adopt) window.Inflow.adopt(answer.token, answer.expires_at);
      announce(`${button.dataset.name}: ${answer.status_label}`);
      await refresh();
    } catch (err) { fail(button, err); }
  }

  async function reconnect(button) {
    button.disabled = true;
    try {
      if (!window.Inflow || !window.Inflow.signedRequest) throw new Error("Open Inflow from this org's Salesforce tab to reconnect it.");
      const signed = await window.Inflow.signedRequest();
      const answer = await ctx.api.post(`/api/instances/${encodeURIComponent(button.dataset.reconnect)}/reconnect`, { signed_request: signed });
      window.Inflow.renew(); // the page's next token names the org again
      announce(`${button.dataset.name}: ${answer.status_label}`);
      await refresh();
    } catch (err) { fail(button, err); }
  }

  root.addEventListener("click", (event) => {
    const choice = event.target.closest("[data-dc]");
    if (choice) {
      const button = asked;
      showDialog(null);
      if (choice.dataset.dc === "confirm") confirmed(button); else button.focus();
      return;
    }
    const again = event.target.closest("[data-reconnect]");
    if (again) { reconnect(again); return; }
    const button = event.target.closest("[data-disconnect]");
    if (button) showDialog(button);
  });
  root.addEventListener("keydown", (event) => {
    if (dialog.classList.contains("slds-hide")) return;
    if (event.key === "Escape") { const b = asked; showDialog(null); b.focus(); return; }
    if (event.key !== "Tab") return;
    const buttons = [...dialog.querySelectorAll("button")];
    const at = buttons.indexOf(document.activeElement);
    event.preventDefault();
    buttons[(at + (event.shiftKey ? -1 : 1) + buttons.length) % buttons.length].focus();
  });
  return unwire;
}

// The server asks for a fresh proof of identity first (403 reauth_required): get it, then ask again.
async function disconnect(button, ctx) {
  const url = `/api/instances/${encodeURIComponent(button.dataset.disconnect)}/disconnect`;
  try {
    return await ctx.api.post(url);
  } catch (err) {
    if (!needsReauth(err)) throw err;
    await ask(button.closest("[data-instance]"), ctx, err.body);
    return ctx.api.post(url);
  }
}

// Connect: the OAuth flow runs in a popup (Salesforce's login page refuses to be framed). The ticket is
// POSTed to the popup so it never appears in a URL; the popup tells us when the instance is connected.
export function wireConnect(root, ctx) {
  const form = root.querySelector("[data-connect]");
  if (!form) return () => {};
  const errorBox = root.querySelector("[data-connect-error]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const popup = window.open("", "inflow-oauth", "popup,width=640,height=720");
    try {
      const answer = await ctx.api.post("/api/instances/connect", {
        kind: form.elements.kind.value, my_domain: form.elements.my_domain.value || null });
      postTicket(answer.start_url, answer.ticket, "inflow-oauth");
    } catch (err) {
      if (popup) popup.close();
      errorBox.textContent = err.message;
      errorBox.classList.remove("slds-hide");
    }
  });
  const onMessage = (event) => {
    if (event.origin === window.location.origin && event.data && event.data.type === "inflow.instance.connected") ctx.refresh();
  };
  window.addEventListener("message", onMessage);
  return () => window.removeEventListener("message", onMessage);
}
