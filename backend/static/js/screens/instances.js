// Connected instances: Disconnect (with confirmation, and a fresh proof of identity) revokes the token at
// Salesforce and deletes it here.
import { ask, needsReauth } from "../reauth.js";

export function mount(root, ctx) {
  const { announce, refresh } = ctx;
  const unwire = wireConnect(root, ctx);
  root.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-disconnect]");
    if (!button) return;
    if (button.dataset.confirming !== "yes") {
      // window.confirm() is blocked inside the canvas iframe: ask in place instead.
      button.dataset.confirming = "yes";
      button.textContent = `Really disconnect ${button.dataset.name}?`;
      button.classList.replace("slds-button_text-destructive", "slds-button_destructive");
      announce(`Press again to disconnect ${button.dataset.name}`);
      return;
    }
    button.disabled = true;
    try {
      await disconnect(button, ctx);
      announce(`${button.dataset.name} disconnected`);
      await refresh();
    } catch (err) {
      button.disabled = false;
      announce(err.message);
      const item = button.closest("[data-instance]");
      const msg = document.createElement("p");
      msg.className = "slds-text-color_error";
      msg.setAttribute("role", "alert");
      msg.textContent = err.message;
      item.append(msg);
    }
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
      const post = document.createElement("form");
      post.method = "POST";
      post.action = answer.start_url;
      post.target = "inflow-oauth";
      const ticket = document.createElement("input");
      ticket.type = "hidden"; ticket.name = "ticket"; ticket.value = answer.ticket;
      post.append(ticket);
      document.body.append(post);
      post.submit();
      post.remove();
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
