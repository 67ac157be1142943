// Billing in the canvas: Stripe Checkout and the Customer Portal open in a new window, since Stripe's pages
// refuse to be framed inside Salesforce. The window is opened on the click (so no popup blocker stops it) and
// sent to Stripe once Inflow answered with the session's URL.
export function mount(root, ctx) {
  const { api, announce } = ctx;
  const errorBox = root.querySelector("[data-billing-error]");
  root.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-checkout], [data-portal]");
    if (!button) return;
    const win = window.open("", "_blank");
    errorBox.classList.add("slds-hide");
    try {
      const answer = button.dataset.checkout !== undefined
        ? await api.post("/billing/checkout", { plan: button.dataset.checkout })
        : await api.post("/billing/portal", {});
      if (!win) { window.location.assign(answer.url); return; }
      win.opener = null;  // Stripe's page gets no handle on this one
      win.location.href = answer.url;
      announce("Stripe opened in a new window");
    } catch (err) {
      if (win) win.close();
      errorBox.textContent = err.message;
      errorBox.classList.remove("slds-hide");
      announce(err.message);
    }
  });
}
