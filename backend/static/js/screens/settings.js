// Settings forms post to the account pages' endpoints with the app token (form-encoded, as those pages do);
// their answer is an HTML page whose alert, if any, is shown here as text.
export function mount(root, ctx) {
  const { api, announce, refresh } = ctx;
  const errorBox = root.querySelector("[data-settings-error]");
  root.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-post]");
    if (!form) return;
    event.preventDefault();
    const body = new URLSearchParams(new FormData(form));
    let message = "";
    try {
      const response = await api.send(form.dataset.post, {
        method: "POST", headers: api.headers({ Accept: "text/html", "Content-Type": "application/x-www-form-urlencoded" }), body });
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const alert = page.querySelector("[role=alert]");
      if (!response.ok) message = (alert && alert.textContent.trim()) || `The server answered ${response.status}.`;
    } catch (err) { message = err.message; }
    if (message) {
      errorBox.textContent = message;
      errorBox.classList.remove("slds-hide");
      announce(message);
      return;
    }
    announce("Saved");
    await refresh();
  });
}
