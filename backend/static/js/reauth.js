// Destructive actions answer 403 `reauth_required` until the user proves who they are again: their password,
// or a fresh Salesforce login in a popup (Salesforce's login page refuses to be framed). ask() shows the
// matching control next to the action and resolves once the server has recorded the proof.
import { h } from "./dom.js";

export function needsReauth(err) {
  return Boolean(err && err.status === 403 && err.body && err.body.error === "reauth_required");
}

export function ask(place, ctx, answer) {
  const method = (answer.methods || [])[0];
  const error = h("p", { class: "slds-text-color_error", role: "alert" });
  const box = h("div", { class: "slds-box slds-box_x-small slds-m-top_x-small", "data-reauth": method || "none" });
  place.querySelectorAll("[data-reauth]").forEach((old) => old.remove());
  place.append(box);
  return new Promise((resolve) => {
    const done = () => { box.remove(); resolve(); };
    if (method === "password") box.append(...passwordForm(ctx, answer.url, error, done));
    else if (method === "salesforce") box.append(...salesforceButton(ctx, answer.url, error, done));
    else box.append(h("p", { class: "slds-text-color_error", role: "alert" },
      "Inflow cannot confirm who you are for this action. Ask another admin to do it."));
    box.append(error);
    const first = box.querySelector("input, button");
    if (first) first.focus();
    ctx.announce(method ? "Confirm it is you to continue" : "This action needs another admin");
  });
}

function passwordForm(ctx, url, error, done) {
  const input = h("input", { class: "slds-input", type: "password", name: "password",
    autocomplete: "current-password", required: true });
  const form = h("form", { class: "slds-grid slds-gutters_x-small slds-grid_vertical-align-end" },
    h("label", { class: "slds-col slds-form-element" }, h("span", { class: "slds-form-element__label" }, "Your password"), input),
    h("div", { class: "slds-col slds-no-flex" }, h("button", { class: "slds-button slds-button_brand", type: "submit" }, "Confirm")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await ctx.api.post(url, { password: input.value });
      done();
    } catch (err) {
      error.textContent = err.message;
      input.select();
    }
  });
  return [h("p", {}, "Enter your password to confirm it is you."), form];
}

// Like Connect: the single-use ticket is POSTed into the popup, so the app token never enters a URL; the
// popup's last page posts `inflow.reauthenticated` back to this window.
function salesforceButton(ctx, url, error, done) {
  const onMessage = (event) => {
    if (event.origin !== window.location.origin || !event.data || event.data.type !== "inflow.reauthenticated") return;
    window.removeEventListener("message", onMessage);
    done();
  };
  window.addEventListener("message", onMessage);
  const button = h("button", { class: "slds-button slds-button_brand", type: "button" }, "Log in to Salesforce again");
  button.addEventListener("click", async () => {
    const popup = window.open("", "inflow-reauth", "popup,width=640,height=720");
    try {
      const answer = await ctx.api.post(url);
      const post = h("form", { method: "POST", action: answer.start_url, target: "inflow-reauth" },
        h("input", { type: "hidden", name: "ticket", value: answer.ticket }));
      document.body.append(post);
      post.submit();
      post.remove();
    } catch (err) {
      if (popup) popup.close();
      error.textContent = err.message;
    }
  });
  return [h("p", {}, "Confirm it is you: log in to Salesforce again in a new window."), button];
}
