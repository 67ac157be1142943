// A saved job: Run now asks first when the job has run before (saying what the last run did; inserts may skip
// rows that match existing records), then starts a run and opens its progress.
import { mountSchedule } from "./schedule.js";

export function mount(root, ctx) {
  mountSchedule(root, ctx);
  const { api, announce, navigate } = ctx;
  const $ = (sel) => root.querySelector(sel);
  const errorBox = $("[data-job-error]");
  const button = $("[data-action=run]");
  const dialog = $("[data-confirm]");

  function ask(open) {
    dialog.classList.toggle("slds-hide", !open);
    $("[data-backdrop]").classList.toggle("slds-hide", !open);
    if (open) { $("[data-action=run-cancel]").focus(); announce($("[data-last-run]").textContent); } else button.focus();
  }

  async function start() {
    button.disabled = true;
    const skip = $("[data-skip-existing]");
    const body = skip && skip.checked ? { skip_existing: $("[data-skip-field]").value } : {};
    try {
      const run = await api.post(`/api/jobs/${root.dataset.job}/runs`, body);
      announce("Run started");
      navigate(`#/runs/${run.id}`);
    } catch (err) {
      button.disabled = false;
      errorBox.textContent = err.message;
      errorBox.classList.remove("slds-hide");
      announce(err.message);
    }
  }

  root.addEventListener("click", (event) => {
    const action = event.target.closest("[data-action]");
    if (!action) return;
    if (action.dataset.action === "run") { if (button.dataset.ask === "yes") ask(true); else start(); }
    if (action.dataset.action === "run-cancel") ask(false);
    if (action.dataset.action === "run-confirm") { ask(false); start(); }
  });
  if (location.hash.endsWith("?run=ask")) { // "Save and run" of an edited job: the same question
    history.replaceState(null, "", location.hash.replace("?run=ask", ""));
    if (button.dataset.ask === "yes") ask(true); else start();
  }
  root.addEventListener("keydown", (event) => {
    if (dialog.classList.contains("slds-hide")) return;
    if (event.key === "Escape") { ask(false); return; }
    if (event.key !== "Tab") return;
    const items = [...dialog.querySelectorAll("button, input, select")];
    const at = items.indexOf(document.activeElement);
    event.preventDefault();
    items[(at + (event.shiftKey ? -1 : 1) + items.length) % items.length].focus();
  });
}
