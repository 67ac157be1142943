// A saved job: Run now starts a run and opens its progress; the schedule card has its own module.
import { mountSchedule } from "./schedule.js";

export function mount(root, ctx) {
  mountSchedule(root, ctx);
  const { api, announce, navigate } = ctx;
  const errorBox = root.querySelector("[data-job-error]");
  const button = root.querySelector("[data-action=run]");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const run = await api.post(`/api/jobs/${root.dataset.job}/runs`);
      announce("Run started");
      navigate(`#/runs/${run.id}`);
    } catch (err) {
      button.disabled = false;
      errorBox.textContent = err.message;
      errorBox.classList.remove("slds-hide");
      announce(err.message);
    }
  });
}
