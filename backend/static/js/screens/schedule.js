// A job's schedule card: the rule as the user edits it, the next five run times (job's time zone and UTC)
// fetched as they type, save/pause/resume/delete, and who hears about runs.
import * as api from "../api.js";
import { clear, h } from "../dom.js";

const HINTS = {
  every: ["Interval", "15m or 2h (at least 5m; counted from the top of the hour)", "15m"],
  daily: ["Time", "HH:MM on a 24-hour clock, e.g. 02:30", "02:30"],
  weekly: ["Days and time", "days@HH:MM, e.g. mon,thu@06:00", "mon@06:00"],
  monthly: ["Day and time", "day (1-28 or last)@HH:MM, e.g. last@23:00", "1@06:00"],
  cron: ["Cron expression", "five fields: minute hour day month weekday, e.g. 0 2 * * *", "0 2 * * *"],
};

function defaultZone() {
  const user = (api.launchInfo() || {}).user || {};
  return user.time_zone || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

export function mountSchedule(root, ctx) {
  const card = root.querySelector("[data-schedule]");
  if (!card) return;
  const jobId = root.dataset.job;
  const $ = (sel) => card.querySelector(sel);
  const field = (name) => card.querySelector(`[data-field=${name}]`);
  const formBox = $("[data-schedule-form]");
  const errorBox = $("[data-schedule-error]");
  const next = $("[data-next]");
  let timer = null;

  const ruleText = () => `${field("form").value} ${field("value").value.trim()}`;

  function hint() {
    const [label, text] = HINTS[field("form").value];
    $("[data-value-label]").textContent = label;
    $("[data-hint]").textContent = text;
  }

  function showNext(list) {
    clear(next);
    list.forEach((t) => next.appendChild(h("tr", {}, h("td", {}, t.local), h("td", {}, t.utc))));
  }

  function render(s) {
    $("[data-schedule-reason]").textContent = s.reason || "";
    $("[data-schedule-reason]").classList.toggle("slds-hide", s.schedulable);
    formBox.classList.toggle("slds-hide", !s.schedulable);
    const state = !s.rule ? "No schedule: this job runs only when started."
      : s.paused ? `Paused: ${s.pause_reason || "paused by a user"}` : `Runs ${s.rule} (${s.tz}).`;
    $("[data-schedule-state]").textContent = state;
    if (s.rule) {
      const [form, ...rest] = s.rule.split(" ");
      field("form").value = form;
      field("value").value = rest.join(" ");
    } else if (!field("value").value) {
      field("value").value = HINTS[field("form").value][2];
    }
    field("tz").value = s.tz || field("tz").value || defaultZone();
    $("[data-action=pause]").classList.toggle("slds-hide", !s.rule || s.paused);
    $("[data-action=resume]").classList.toggle("slds-hide", !s.rule || !s.paused);
    $("[data-action=remove]").classList.toggle("slds-hide", !s.rule);
    field("on").value = s.notify.on;
    field("emails").value = s.notify.emails.join(", ");
    field("user_ids").value = s.notify.user_ids.join(", ");
    field("digest").checked = s.notify.digest;
    hint();
    if (s.schedulable) preview();
  }

  async function preview() {
    const q = new URLSearchParams({ rule: ruleText(), tz: field("tz").value.trim(), n: "5" });
    try {
      const result = await api.get(`/api/schedules/preview?${q}`);
      errorBox.textContent = "";
      showNext(result.next);
    } catch (err) {
      errorBox.textContent = err.message;
      clear(next);
    }
  }

  async function act(call, message) {
    try {
      render(await call());
      ctx.announce(message);
    } catch (err) {
      errorBox.textContent = err.message;
      ctx.announce(err.message);
    }
  }

  const later = () => { clearTimeout(timer); timer = setTimeout(preview, 250); };
  field("form").addEventListener("change", () => { field("value").value = HINTS[field("form").value][2]; hint(); later(); });
  field("value").addEventListener("input", later);
  field("tz").addEventListener("input", later);
  $("[data-action=save-schedule]").addEventListener("click", () => act(
    () => api.put(`/api/jobs/${jobId}/schedule`, { rule: ruleText(), tz: field("tz").value.trim() }), "Schedule saved"));
  $("[data-action=pause]").addEventListener("click", () => act(
    () => api.post(`/api/jobs/${jobId}/schedule/pause`), "Schedule paused"));
  $("[data-action=resume]").addEventListener("click", () => act(
    () => api.post(`/api/jobs/${jobId}/schedule/resume`), "Schedule resumed"));
  $("[data-action=remove]").addEventListener("click", () => act(
    () => api.request("DELETE", `/api/jobs/${jobId}/schedule`), "Schedule deleted"));
  $("[data-action=save-notify]").addEventListener("click", async () => {
    const list = (name) => field(name).value.split(",").map((v) => v.trim()).filter(Boolean);
    try {
      render(await api.put(`/api/jobs/${jobId}/notifications`, {
        on: field("on").value, emails: list("emails"), user_ids: list("user_ids"), digest: field("digest").checked }));
      $("[data-notify-error]").textContent = "";
      ctx.announce("Notifications saved");
    } catch (err) {
      $("[data-notify-error]").textContent = err.message;
    }
  });
  api.get(`/api/jobs/${jobId}/schedule`).then(render, (err) => { errorBox.textContent = err.message; });
}
