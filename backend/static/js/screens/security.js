// Security and privacy: the facts are server-rendered; the buttons download the audit log or the account's data
// (POST, so each download is audited), and the deletion form posts like the settings forms do.
import { mount as mountForms } from "./settings.js";

export function mount(root, ctx) {
  const { api, announce } = ctx;
  const errorBox = root.querySelector("[data-settings-error]");
  root.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-download]");
    if (!button) return;
    event.preventDefault();
    button.disabled = true;
    try {
      await api.download(button.dataset.download, button.dataset.name, "POST");
      announce("Download started");
    } catch (err) {
      errorBox.textContent = err.message;
      errorBox.classList.remove("slds-hide");
      announce(err.message);
    } finally {
      button.disabled = false;
    }
  });
  return mountForms(root, ctx);
}
